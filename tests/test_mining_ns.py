"""A session's namespaces and emulated link (corpus/mining_ns.py, mining_link.py) with our pool: root only.

Nothing leaves the namespaces: the client has no route but the pool's, and its resolver is its
own loopback where nothing listens.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus.mining_ns import Netem, link, ns_exec

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not Path("/dev/net/tun").exists(),
    reason="needs root, iproute2 and /dev/net/tun",
)

# Runs in the client namespace: the round trip of a subscribe through the link, then what happens
# to anything else a miner might try.
CLIENT = """
import json, socket, time
out = {}
t = time.monotonic()
s = socket.create_connection(("pool.corpus.test", 3333), timeout=5)
s.sendall(b'{"id": 1, "method": "mining.subscribe", "params": []}\\n')
out["answer"] = json.loads(s.makefile().readline())["id"]
out["rtt_ms"] = (time.monotonic() - t) * 1000 / 2  # connect + request: two round trips
for name, call in (("route", lambda: socket.create_connection(("192.0.2.1", 443), timeout=3)),
                   ("dns", lambda: socket.getaddrinfo("donate.v2.xmrig.com", 443))):
    t = time.monotonic()
    try:
        call()
        out[name] = "connected"
    except OSError as exc:
        out[name] = type(exc).__name__
    out[name + "_s"] = time.monotonic() - t
print(json.dumps(out))
"""


def test_pool_behind_an_emulated_wan(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = tmp_path / "pool.jsonl"
    with link(900, Netem("wan", 40, 0, 0), ("pool.corpus.test",)) as lk:
        pool_cmd = [sys.executable, "-m", "corpus.pool", "--host", lk.server_ip, "--port", "3333"]
        pool_cmd += ["--log", str(log)]
        pool = subprocess.Popen(ns_exec(lk.server_ns) + pool_cmd, env=env, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not (log.exists() and log.stat().st_size) and time.monotonic() < deadline:
                time.sleep(0.05)
            run = [*ns_exec(lk.client_ns), sys.executable, "-c", CLIENT]
            done = subprocess.run(run, capture_output=True, text=True, timeout=30, check=True)
            out = json.loads(done.stdout)
        finally:
            pool.terminate()
            pool.wait(10)
    assert out["answer"] == 1
    assert 35 <= out["rtt_ms"] <= 80
    # no route and no resolver: both fail at once, locally
    assert out["route"] == "OSError" and out["route_s"] < 1
    assert out["dns"] == "gaierror" and out["dns_s"] < 1
    assert not any(Path("/run/netns").glob(f"mwpos-{os.getpid()}-*"))
