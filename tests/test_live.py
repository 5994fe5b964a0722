"""Live capture on the loopback interface while a real TCP stratum exchange runs on it."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from minewatch.scan import ScanOptions, scan_captures
from minewatch.sources.base import EngineOptions
from minewatch.sources.live import read_interface

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="live capture needs root")

LINES = [
    (True, b'{"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.12.0"]}\n'),
    (False, b'{"id": 1, "result": [[["mining.notify", "ae"]], "08000002", 4], "error": null}\n'),
    (True, b'{"id": 2, "method": "mining.authorize", "params": ["live.worker", "x"]}\n'),
    (False, b'{"id": 2, "result": true, "error": null}\n'),
    (False, b'{"id": null, "method": "mining.set_difficulty", "params": [16]}\n'),
]


def _pool(server: socket.socket) -> None:
    conn, _ = server.accept()
    with conn, conn.makefile("rb") as lines:
        for from_client, line in LINES:
            if from_client:
                lines.readline()  # one request at a time, however the bytes arrived
            else:
                conn.sendall(line)
        time.sleep(0.3)


def _miner(port: int) -> None:
    time.sleep(1.0)  # let the capture start
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        for from_client, line in LINES:
            if from_client:
                c.sendall(line)
            time.sleep(0.05)
        while c.recv(4096):  # the pool hangs up first: no answer meets a closed socket
            pass


def test_live_loopback_stratum() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    threads = [threading.Thread(target=_pool, args=(server,)), threading.Thread(target=_miner, args=(port,))]
    for t in threads:
        t.start()
    capture = read_interface("lo", 3.0, EngineOptions(), bpf_filter=f"tcp port {port}")
    for t in threads:
        t.join(timeout=10)
    server.close()
    result = scan_captures(iter([capture]), ScanOptions())
    mining = [f for f in result.findings if f.activity.value == "mining"]
    assert len(mining) == 1
    assert mining[0].protocol == "stratum-v1" and mining[0].logins == ("live.worker",)
    assert mining[0].pools[0].port == port
