"""Pushes on SQLite and a real PostgreSQL (issue 16, items 2 and 3): a sensor token pushes
only for its unit and the units below it, refusing finding by finding; a finding or a batch
sent again is stored once; a database from before the one-open-case index is upgraded at
connect, its duplicate open cases merged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from minewatch.cases.db import connect
from minewatch.cases.models import ONE_OPEN_CASE, ApiToken, Case, CaseEvent, CaseFinding, Status, Unit
from minewatch.cases.push import PushOutcome, Refusal
from minewatch.cases.upgrade import ACTOR
from minewatch.web.auth import issue_token
from tests.service_fixtures import Service, make_service, placed

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def service(tmp_path: Path, db_url: str) -> Iterator[Service]:
    made = make_service(tmp_path, db_url, quiet=timedelta(0))
    yield made
    made.close()


def token_at(service: Service, code: str) -> str:
    with service.session() as session:
        unit = session.scalars(select(Unit).where(Unit.code == code)).one()
        token = issue_token(session, f"sensor-{code}", unit, T0)
        session.commit()
    return token


def push(service: Service, token: str, findings: list[dict[str, Any]], batch: str | None = None) -> Any:
    body: dict[str, Any] = {"findings": findings} | ({"batch": batch} if batch else {})
    with TestClient(service.app) as client:
        r = client.post("/api/v1/findings", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def at_province(host: str) -> dict[str, Any]:
    f = placed(host, "320213")
    f["attribution"]["region_code"] = "320000"
    return f


def units_of_cases(service: Service) -> dict[str, str]:
    with service.session() as session:
        rows = session.execute(select(Case.host, Unit.code).join(Unit, Case.unit_id == Unit.id))
        return {host: code for host, code in rows}


# (token's unit, finding, refusal reason or None when it is stored, unit of its case)
SCOPE = [
    ("320213", placed("10.1.0.1", "320214"), "placed in 320214, outside this sensor's unit 320213", None),
    ("320213", at_province("10.1.0.2"), "placed in 320000, outside this sensor's unit 320213", None),
    ("320213", placed("10.1.0.3", "320213"), None, "320213"),
    ("320213", placed("10.1.0.4", None), None, "320213"),
    ("320200", placed("10.1.0.5", "320213"), None, "320213"),
    ("320200", placed("10.1.0.6", "320102"), "placed in 320102, outside this sensor's unit 320200", None),
    ("320000", placed("10.1.0.7", "320102"), None, "320102"),
    ("320000", at_province("10.1.0.8"), None, "320000"),
]


@pytest.mark.parametrize(("unit", "finding", "refusal", "case_unit"), SCOPE)
def test_a_token_pushes_for_its_unit_and_below(
    service: Service, unit: str, finding: dict[str, Any], refusal: str | None, case_unit: str | None
) -> None:
    # A refused finding does not take the batch down with it: the one beside it is stored.
    answer = push(service, token_at(service, unit), [placed("10.9.9.9", None), finding])
    assert answer["stored"] == (1 if refusal else 2)
    assert answer["refused"] == (
        [{"index": 1, "host": finding["host"], "reason": refusal}] if refusal else []
    )
    assert units_of_cases(service).get(finding["host"]) == case_unit


def test_a_token_does_not_join_another_units_open_case(service: Service) -> None:
    push(service, service.token, [placed("10.2.0.1", "320214")])  # the province's sensor: at 新吴区
    county = token_at(service, "320213")
    for finding in (placed("10.2.0.1", "320213", hours_later=1), placed("10.2.0.1", None, hours_later=2)):
        answer = push(service, county, [finding])
        reason = "its open case is held outside this sensor's unit 320213"
        assert answer["refused"] == [{"index": 0, "host": "10.2.0.1", "reason": reason}]
    with service.session() as session:
        assert session.scalar(select(func.count()).select_from(CaseFinding)) == 1
    # The city above both counties may add to it.
    assert push(service, token_at(service, "320200"), [placed("10.2.0.1", None, 3)])["cases_updated"] == 1


def test_a_county_case_escalated_above_still_takes_its_sensors_findings(service: Service) -> None:
    """Past its deadline a case goes up to the city; the county's sensor still watches the
    host, and its findings must still land. Another county's sensor's must not."""
    county = token_at(service, "320213")
    push(service, county, [placed("10.3.0.1", "320213")])
    with service.session() as session:
        case = session.scalars(select(Case).where(Case.host == "10.3.0.1")).one()
        case.unit_id = session.scalars(select(Unit.id).where(Unit.code == "320200")).one()
        session.commit()
    assert push(service, county, [placed("10.3.0.1", "320213", hours_later=1)])["cases_updated"] == 1
    assert push(service, county, [placed("10.3.0.1", None, hours_later=2)])["cases_updated"] == 1
    other = push(service, token_at(service, "320214"), [placed("10.3.0.1", None, hours_later=3)])
    assert other["refused"] and other["stored"] == 0


def test_a_batch_with_refusals_is_judged_again_when_resent(service: Service) -> None:
    county = token_at(service, "320213")
    batch = [placed("10.4.0.1", "320213"), placed("10.4.0.2", "320214")]
    first = push(service, county, batch, batch="batch-0001")
    assert (first["stored"], len(first["refused"])) == (1, 1)
    again = push(service, county, batch, batch="batch-0001")
    assert not again["replayed"] and again["already_stored"] == 1 and len(again["refused"]) == 1
    clean = push(service, county, [placed("10.4.0.3", "320213")], batch="batch-0002")
    replayed = push(service, county, [placed("10.4.0.3", "320213")], batch="batch-0002")
    assert replayed == {**clean, "replayed": True}


@pytest.mark.parametrize("placed_in", ["320213", None])
def test_a_sibling_does_not_join_an_escalated_case_nor_a_county_the_units_above_case(
    service: Service, placed_in: str | None
) -> None:
    """Review: a case placed nowhere, held above, took any county's findings; a sibling
    county's sensor joined a case escalated from its neighbour, and any county joined a
    case the province's own sensor opened."""
    county = token_at(service, "320213")
    push(service, county, [placed("10.3.0.2", placed_in)])
    with service.session() as session:
        case = session.scalars(select(Case).where(Case.host == "10.3.0.2")).one()
        case.unit_id = session.scalars(select(Unit.id).where(Unit.code == "320200")).one()
        session.commit()
    sibling = push(service, token_at(service, "320214"), [placed("10.3.0.2", None, hours_later=3)])
    assert sibling["stored"] == 0 and sibling["refused"]
    push(service, service.token, [placed("10.3.0.3", None)])  # the province's own, placed nowhere
    answer = push(service, county, [placed("10.3.0.3", None, hours_later=1)])
    assert answer["stored"] == 0 and answer["refused"]


def test_a_finding_or_a_batch_sent_again_is_stored_once(service: Service) -> None:
    rows = [placed(f"10.3.0.{i}", "320213") for i in range(1, 5)]
    first = push(service, service.token, rows[:3], batch="batch-one-0001")
    assert (first["stored"], first["cases_opened"], first["replayed"]) == (3, 3, False)
    again = push(service, service.token, rows[:3], batch="batch-one-0001")
    assert again == first | {"replayed": True}
    # Re-cut (another batch, overlapping), or with no batch id: the keys find them.
    recut = push(service, service.token, rows[1:], batch="batch-two-0002")
    assert (recut["stored"], recut["already_stored"], recut["cases_opened"]) == (1, 2, 1)
    assert push(service, service.token, rows)["already_stored"] == 4
    # Another sensor's sighting of the same window is its own finding.
    other = push(service, token_at(service, "320200"), rows[:1])
    assert (other["stored"], other["cases_updated"]) == (1, 1)
    with service.session() as session:
        assert session.scalar(select(func.count()).select_from(CaseFinding)) == 5
        pushed = {n: p for n, p in session.execute(select(ApiToken.name, ApiToken.pushed))}
        assert pushed == {"sensor-1": 3 + 3 + 4, "sensor-320200": 1}  # a replay is not counted again


def test_the_spec_publishes_the_push_answer(service: Service) -> None:
    with TestClient(service.app) as client:
        spec = client.get("/openapi.json").json()
    result = spec["components"]["schemas"]["PushResult"]["properties"]
    assert {"stored", "already_stored", "refused", "batch", "replayed"} <= set(result)
    assert "batch" in spec["components"]["schemas"]["FindingsPush"]["properties"]
    assert "outside them is refused" in spec["paths"]["/api/v1/findings"]["post"]["description"]


def test_the_outcome_reads_back_and_tolerates_other_services() -> None:
    outcome = PushOutcome(3, 1, 1, 0, 2, 0, (Refusal(2, "10.0.0.1", "placed in 330106"),), "b" * 16)
    assert PushOutcome.from_json(outcome.to_json()) == outcome
    older = {"received": 2, "cases_opened": 1, "cases_updated": 1, "not_cases": 0, "new_field": 1}
    assert PushOutcome.from_json(older) == PushOutcome(2, 1, 1, 0)


def _open_case(unit_id: int) -> Case:
    times = {"opened_at": T0, "updated_at": T0, "first_seen": T0, "last_seen": T0, "severity": "high"}
    return Case(host="10.4.0.1", activity="mining", unit_id=unit_id, status="verifying", **times)


def _old_database(url: str) -> None:
    """A database as minewatch made it before one open case per host was enforced, with two
    open cases for one host (a race) and one closed case beside them."""
    engine = connect(url)
    with engine.begin() as c:
        c.exec_driver_sql(f"DROP INDEX {ONE_OPEN_CASE}")
        c.exec_driver_sql("DROP INDEX ux_case_findings_key")
        c.exec_driver_sql("ALTER TABLE case_findings DROP COLUMN finding_key")
        if c.dialect.name == "postgresql":  # cases.host was 64 wide before site cases
            c.exec_driver_sql("ALTER TABLE cases ALTER COLUMN host TYPE VARCHAR(64)")
    with Session(engine) as session:
        unit = Unit(code="320000", name="江苏省", level="province")
        times = {"opened_at": T0, "updated_at": T0, "first_seen": T0, "last_seen": T0, "severity": "high"}
        for status in (Status.CLOSED, Status.NEW, Status.TRIAGED):
            session.add(Case(host="10.4.0.1", activity="mining", unit=unit, status=status.value, **times))
        session.commit()
    engine.dispose()


def test_an_older_database_is_upgraded_and_its_duplicates_merged(db_url: str) -> None:
    _old_database(db_url)
    engine = connect(db_url)
    try:
        assert ONE_OPEN_CASE in {i["name"] for i in inspect(engine).get_indexes("cases")}
        assert "finding_key" in {c["name"] for c in inspect(engine).get_columns("case_findings")}
        [host] = [c for c in inspect(engine).get_columns("cases") if c["name"] == "host"]
        assert getattr(host["type"], "length", None) in (None, 255)  # room for a site's name
        with Session(engine) as session:
            cases = {c.id: c for c in session.scalars(select(Case).order_by(Case.id))}
            assert [(c.status, c.verdict, c.merged_into) for c in cases.values()] == [
                ("closed", None, None),
                ("new", None, None),
                ("closed", "duplicate", 2),
            ]
            events = session.execute(select(CaseEvent.case_id, CaseEvent.actor, CaseEvent.action))
            assert sorted(events) == [(2, ACTOR, "merged"), (3, ACTOR, "closed")]
            # And the database itself now refuses a second open case for the host.
            session.add(_open_case(cases[2].unit_id))
            with pytest.raises(IntegrityError):
                session.flush()
        connect(db_url).dispose()  # a second start finds nothing to do
    finally:
        engine.dispose()


def test_a_push_that_keeps_losing_races_is_a_503_and_stores_nothing(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minewatch.cases import push as pushing

    real, calls = pushing._push_once, []

    def busy(*args: Any) -> Any:
        calls.append(1)
        real(*args)  # does the work, then loses as a concurrent push would make it lose
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    monkeypatch.setattr(pushing, "_push_once", busy)
    monkeypatch.setattr(pushing, "FIRST_WAIT_S", 0.001)
    with TestClient(service.app) as client:
        headers = {"Authorization": f"Bearer {service.token}"}
        r = client.post("/api/v1/findings", json={"findings": [placed("10.4.1.1", None)]}, headers=headers)
    assert (r.status_code, r.headers.get("retry-after"), len(calls)) == (503, "2", pushing.TRIES)
    assert "stayed busy" in r.json()["detail"]
    with service.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
