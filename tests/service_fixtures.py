"""A service to test against: a real app on a real database, with a unit tree of two
cities and three counties, people at each level, a sensor, and findings from a real
capture placed in those counties."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from minewatch.cases.db import connect, load_units
from minewatch.cases.models import Role, Unit
from minewatch.web.app import create_app
from minewatch.web.auth import create_user, issue_token
from minewatch.web.deps import ServiceSettings
from tests.conftest import REAL, scan_json

__all__ = ["PASSWORD", "UNITS", "Clock", "Service", "make_service", "placed", "sign_in"]

PASSWORD = "correct horse battery staple"
UNITS = (
    "code,name,level,parent_code\n"
    "320000,江苏省,province,\n"
    "320200,无锡市,city,320000\n"
    "320213,梁溪区,county,320200\n"
    "320214,新吴区,county,320200\n"
    "320100,南京市,city,320000\n"
    "320102,玄武区,county,320100\n"
)
# name: (unit, role)
PEOPLE = {
    "lx": ("320213", Role.ANALYST),
    "xinwu": ("320214", Role.ANALYST),
    "xw": ("320102", Role.ANALYST),
    "wuxi": ("320200", Role.SUPERVISOR),
    "admin": ("320000", Role.ADMIN),
}
PLACES = {
    "320213": ["江苏省", "无锡市", "梁溪区"],
    "320214": ["江苏省", "无锡市", "新吴区"],
    "320102": ["江苏省", "南京市", "玄武区"],
}


class Service:
    def __init__(self, app: FastAPI, token: str, db_url: str) -> None:
        self.app, self.token, self.db_url = app, token, db_url

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session of its own on the service's database, to look behind the API."""
        engine = create_engine(self.db_url)
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()

    def close(self) -> None:
        self.app.state.engine.dispose()

    def push(self, findings: list[dict[str, Any]]) -> dict[str, Any]:
        with TestClient(self.app) as client:
            r = client.post(
                "/api/v1/findings",
                json={"findings": findings},
                headers={"Authorization": f"Bearer {self.token}"},
            )
            assert r.status_code == 200, r.text
            answer: dict[str, Any] = r.json()
            return answer


def make_service(tmp_path: Path, db_url: str, **settings: Any) -> Service:
    (tmp_path / "units.csv").write_text(UNITS)
    engine = connect(db_url)
    with Session(engine) as session:
        load_units(session, tmp_path / "units.csv")
        for name, (code, role) in PEOPLE.items():
            unit = session.query(Unit).filter_by(code=code).one()
            create_user(session, name, unit, role, PASSWORD)
        token = issue_token(session, "sensor-1", session.query(Unit).filter_by(code="320000").one(), _now())
        session.commit()
    engine.dispose()
    app = create_app(ServiceSettings(db_url=db_url, **settings))
    return Service(app, token, db_url)


def _now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _real_mining() -> dict[str, Any]:
    [finding] = [f for f in scan_json(REAL / "sv1_cpuminer_sha256d_t1.pcap") if f["activity"] == "mining"]
    return finding


def placed(host: str, code: str | None, hours_later: float = 0) -> dict[str, Any]:
    """The real cpuminer finding, as if its host were `host` in county `code`."""
    f = copy.deepcopy(_real_mining())
    f["host"] = host
    shift = timedelta(hours=hours_later)
    for key in ("first_seen", "last_seen"):
        t = datetime.fromisoformat(f[key].replace("Z", "+00:00")) + shift
        f[key] = t.isoformat().replace("+00:00", "Z")
    f["attribution"] = (
        {
            "organisation": f"示例单位{host}",
            "sector": "education",
            "region": PLACES[code],
            "region_code": code,
            "likely_compromised": True,
        }
        if code
        else None
    )
    return f


def sign_in(app: FastAPI, name: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    """A client signed in as `name`, and its CSRF token."""
    client = TestClient(app)
    r = client.post("/api/v1/sign-in", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return client, str(r.json()["csrf"])


class Clock:
    """The service's clock, stopped: the API and console read `now` from here, and a test
    moves it on instead of sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        for module in ("minewatch.web.api", "minewatch.web.console", "minewatch.web.deps"):
            monkeypatch.setattr(f"{module}.now", self.now)

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)
