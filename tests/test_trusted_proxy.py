"""Forwarded headers under a real uvicorn: believed only from the proxies the operator
names (`serve --trusted-proxy`), so limits key on the real client (issue 16, item 4)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.ports import free_port

LIMIT = 3


@contextmanager
def _serve(store: Path, *extra: str) -> Iterator[int]:
    port = free_port()
    cmd = [sys.executable, "-m", "minewatch.cli", "serve", "--store", str(store), "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--tips-per-10min", str(LIMIT), *extra], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else "serve ended"
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


def _store_with_units(root: Path) -> Path:
    units = root / "units.csv"
    units.write_text("code,name,level,parent_code\n320000,江苏省,province,\n", encoding="utf-8")
    store = root / "store"
    cmd = [sys.executable, "-m", "minewatch.cli", "cases", "units", str(units), "--store", str(store)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return store


def _tip(port: int, forwarded_for: str) -> int:
    body = json.dumps({"location": "县城东", "description": "矿机声"}).encode()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": forwarded_for}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/public/tips", body, headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


@pytest.mark.parametrize(
    ("extra", "accepted"), [((), LIMIT), (("--trusted-proxy", "127.0.0.0/8"), 2 * LIMIT)]
)
def test_forwarded_for_is_believed_only_from_a_named_proxy(
    tmp_path: Path, extra: tuple[str, ...], accepted: int
) -> None:
    with _serve(_store_with_units(tmp_path), *extra) as port:
        codes = [_tip(port, f"203.0.113.{i}") for i in range(2 * LIMIT)]
    assert codes.count(429) == 2 * LIMIT - accepted, codes
    assert all(c == 201 or c == 429 for c in codes), codes


def test_a_tip_before_any_unit_is_a_documented_503(tmp_path: Path) -> None:
    with _serve(tmp_path / "store") as port:
        assert _tip(port, "203.0.113.1") == 503


def test_a_bad_proxy_is_a_usage_error(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "minewatch.cli",
        "serve",
        "--store",
        str(tmp_path),
        "--trusted-proxy",
        "proxy.lan",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--trusted-proxy" in done.stderr and "proxy.lan" in done.stderr
