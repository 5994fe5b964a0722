"""Four sensors push overlapping hosts at once to a real `minewatch serve` (uvicorn on
127.0.0.1), on SQLite and on PostgreSQL; the server is killed (SIGKILL) in the middle and
started again; the clients retry, then push everything once more (issue 16, "How we will
know"). Behind the API: one open case per host, each finding stored once, and every batch
accounted for in the clients' reports."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from minewatch.cases.db import connect, load_units
from minewatch.cases.models import Case, CaseFinding, Status, Unit
from minewatch.cli.push import BatchReport, RetryPolicy, push_batches
from minewatch.web.auth import issue_token
from tests.ports import free_port
from tests.service_fixtures import UNITS, _now, placed

SENSORS = 4
SHARED = 150  # hosts every sensor sees, pushed first, so the sensors race for their cases
OWN = 150  # hosts only one sensor sees
BATCH = 25
COUNTIES = ("320213", "320214", "320102", None)
POLICY = RetryPolicy(tries=40, retry_for_s=40.0, timeout_s=20.0, first_wait_s=0.1, max_wait_s=1.0)


def _tokens(tmp_path: Path, url: str) -> list[str]:
    (tmp_path / "units.csv").write_text(UNITS)
    engine = connect(url)
    with Session(engine) as session:
        load_units(session, tmp_path / "units.csv")
        province = session.scalars(select(Unit).where(Unit.code == "320000")).one()
        tokens = [issue_token(session, f"sensor-{i}", province, _now()) for i in range(SENSORS)]
        session.commit()
    engine.dispose()
    return tokens


def _rows(sensor: int) -> list[dict[str, Any]]:
    hosts = [f"10.6.0.{i}" for i in range(SHARED)]
    hosts += [f"10.7.{sensor}.{i}" for i in range(OWN)]
    return [placed(h, COUNTIES[i % len(COUNTIES)]) for i, h in enumerate(hosts)]


class Server:
    """`minewatch serve` on a port, started and killed at will."""

    def __init__(self, store: Path, url: str) -> None:
        self.port, self.store, self.url = free_port(), store, url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "minewatch.cli", "serve", "--store", str(self.store)]
        cmd += ["--db", self.url, "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                assert self.proc.poll() is None, "serve ended"
                time.sleep(0.1)
        raise AssertionError("serve did not listen within 30 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no shutdown, transactions cut where they stand
            self.proc.wait(10)


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[Server]:
    made = Server(tmp_path / "store", db_url)
    yield made
    made.kill()


def _push_all(server: Server, tokens: list[str], on_report: Any = lambda _: None) -> list[list[BatchReport]]:
    """Every sensor pushes all its rows at once; their reports, by sensor."""
    url = f"http://127.0.0.1:{server.port}/api/v1/findings"
    out: list[list[BatchReport]] = [[] for _ in tokens]

    def one(i: int) -> None:
        out[i] = push_batches(url, tokens[i], _rows(i), BATCH, POLICY, on_report)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return out


def test_racing_sensors_and_a_killed_server(tmp_path: Path, server: Server, db_url: str) -> None:
    t0 = time.monotonic()
    tokens = _tokens(tmp_path, db_url)
    server.start()
    landed = threading.Semaphore(0)
    killer_saw: list[int] = []

    def kill_and_restart() -> None:
        for _ in range(8):  # after 8 batches have landed, while the rest are in flight
            landed.acquire(timeout=30)
        server.kill()
        killer_saw.append(1)
        time.sleep(0.5)
        server.start()

    killer = threading.Thread(target=kill_and_restart)
    killer.start()
    first = _push_all(server, tokens, lambda r: landed.release())
    killer.join(60)
    assert killer_saw, "the server was never killed"
    again = _push_all(server, tokens)
    assert time.monotonic() - t0 < 90

    per_sensor = (SHARED + OWN + BATCH - 1) // BATCH
    for reports in first + again:
        assert [r.number for r in reports] == list(range(1, per_sensor + 1))
        assert all(r.landed is not None for r in reports), [r.failure for r in reports]
    assert any(r.tries > 1 for reports in first for r in reports), "no batch was cut by the kill"
    assert all(r.landed.replayed for reports in again for r in reports if r.landed)
    outcomes = [r.landed for reports in first for r in reports if r.landed]
    findings, hosts = SENSORS * (SHARED + OWN), SHARED + SENSORS * OWN
    # Each batch's outcome is what it did when it landed (a retry of a landed batch replays it).
    assert sum(o.stored for o in outcomes) == findings
    assert sum(o.cases_opened for o in outcomes) == hosts
    assert sum(o.already_stored + len(o.refused) for o in outcomes) == 0

    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            open_cases = session.execute(
                select(Case.host, func.count()).where(Case.status != Status.CLOSED.value).group_by(Case.host)
            ).all()
            assert len(open_cases) == hosts and {n for _, n in open_cases} == {1}
            assert session.scalar(select(func.count()).select_from(Case)) == hosts
            keys = select(func.count(func.distinct(CaseFinding.finding_key)))
            assert session.scalar(select(func.count()).select_from(CaseFinding)) == findings
            assert session.scalar(keys) == findings
    finally:
        engine.dispose()
