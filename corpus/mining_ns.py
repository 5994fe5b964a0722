"""Two network namespaces joined by an emulated link, with no route anywhere else.

The client namespace has only a point-to-point address to the pool and loopback: XMRig's
donation pool, DNS and anything else a miner tries beyond our pool fails at once, locally.
`ip netns exec` bind-mounts /etc/netns/NAME/* over /etc, which gives the client its own hosts
file (the pool's name) and a resolver on its own loopback (nothing listens: lookups are refused).

The link is a TUN device in each namespace joined by corpus.mining_link, a user-space netem
(this kernel has no sch_netem); captures on the server's TUN are raw IP (LINKTYPE_RAW), MTU 1500.
(Another helper writes the general corpus/netns.py; this module only serves corpus/mining.py.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Link", "Netem", "link", "ns_exec"]

PREFIX = "mwpos"


@dataclass(frozen=True)
class Netem:
    """A link profile: round-trip delay and its jitter in ms, and loss in each direction in percent."""

    name: str
    rtt_ms: float
    jitter_ms: float
    loss_pct: float


@dataclass(frozen=True)
class Link:
    server_ns: str
    client_ns: str
    server_if: str
    client_if: str
    server_ip: str
    client_ip: str


def ns_exec(ns: str) -> list[str]:
    return ["ip", "netns", "exec", ns]


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def _create(lk: Link, hosts: dict[str, str]) -> None:
    for ns, dev, ip, peer in ((lk.server_ns, lk.server_if, lk.server_ip, lk.client_ip),
                              (lk.client_ns, lk.client_if, lk.client_ip, lk.server_ip)):  # fmt: skip
        _run("ip", "netns", "add", ns)
        _run(*ns_exec(ns), "ip", "link", "set", "lo", "up")
        _run(*ns_exec(ns), "ip", "tuntap", "add", "dev", dev, "mode", "tun")
        _run(*ns_exec(ns), "ip", "addr", "add", ip, "peer", f"{peer}/32", "dev", dev)
        _run(*ns_exec(ns), "ip", "link", "set", dev, "up")
    etc = Path("/etc/netns") / lk.client_ns
    etc.mkdir(parents=True, exist_ok=True)
    lines = ["127.0.0.1 localhost"] + [f"{ip} {name}" for name, ip in hosts.items()]
    (etc / "hosts").write_text("\n".join(lines) + "\n")
    (etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")


def _shaper(lk: Link, netem: Netem) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "corpus.mining_link", f"{lk.client_ns}:{lk.client_if}",
           f"{lk.server_ns}:{lk.server_if}", "--rtt-ms", f"{netem.rtt_ms:g}",
           "--jitter-ms", f"{netem.jitter_ms:g}", "--loss-pct", f"{netem.loss_pct:g}"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise OSError("the link emulator did not start")
    return proc


def _remove(lk: Link) -> None:
    for ns in (lk.server_ns, lk.client_ns):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)


@contextlib.contextmanager
def link(index: int, netem: Netem, pool_names: tuple[str, ...]) -> Iterator[Link]:
    """Namespaces `mwpos-<pid>-s<index>` (pool, 10.77.<index % 250>.1) and `...-c<index>` (miner, .2).

    The client resolves each of `pool_names` to the pool's address and nothing else.
    """
    net = f"10.77.{index % 250}"
    lk = Link(
        # the pid keeps concurrent runs apart; interface names need only be unique inside a namespace
        server_ns=f"{PREFIX}-{os.getpid()}-s{index}",
        client_ns=f"{PREFIX}-{os.getpid()}-c{index}",
        server_if=f"{PREFIX}s",
        client_if=f"{PREFIX}c",
        server_ip=f"{net}.1",
        client_ip=f"{net}.2",
    )
    _remove(lk)  # a previous run killed half-way
    shaper = None
    try:
        _create(lk, {name: lk.server_ip for name in pool_names})
        shaper = _shaper(lk, netem)
        yield lk
    finally:
        if shaper:
            shaper.terminate()
            shaper.wait(10)
            if shaper.stdout:
                shaper.stdout.close()
        _remove(lk)
