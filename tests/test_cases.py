"""The disposal workflow on SQLite and PostgreSQL: findings open and join cases at the unit responsible;
a case walks notify -> rectify -> block -> verify -> close; it escalates past its deadline,
is delegated only downwards, reopens if mining resumes, closes as stopped only after quiet;
every step is in the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from minewatch.cases.models import Base, Level, Status, Unit, Verdict
from minewatch.cases.workflow import (
    WorkflowError,
    close,
    delegate,
    escalate_overdue,
    merge,
    move,
    open_from_findings,
    verify,
)
from minewatch.model.findings import Finding

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A session on SQLite and on a real PostgreSQL server, in turn."""
    engine = create_engine(db_url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        province = Unit(code="320000", name="江苏省", level=Level.PROVINCE.value)
        nanjing = Unit(code="320100", name="南京市", level=Level.CITY.value, parent=province)
        xuanwu = Unit(code="320102", name="玄武区", level=Level.COUNTY.value, parent=nanjing)
        wuxi = Unit(code="320200", name="无锡市", level=Level.CITY.value, parent=province)
        s.add_all([province, nanjing, xuanwu, wuxi])
        s.flush()
        yield s
    engine.dispose()


def finding(
    host: str, code: str | None, start: datetime, minutes: int = 10, compromised: bool = True
) -> Finding:
    return Finding.from_json(finding_json(host, code, start, minutes, compromised))


def finding_json(
    host: str, code: str | None, start: datetime, minutes: int = 10, compromised: bool = True
) -> dict[str, Any]:
    end = start + timedelta(minutes=minutes)
    return {
        "host": host,
        "activity": "mining",
        "first_seen": start.isoformat(),
        "last_seen": end.isoformat(),
        "confidence": 0.95,
        "attribution": {"region_code": code, "likely_compromised": compromised} if code else None,
    }


def province(session: Session) -> Unit:
    return session.query(Unit).filter_by(code="320000").one()


def test_a_case_from_finding_to_close(session: Session) -> None:
    [case] = open_from_findings(session, [finding("10.0.0.5", "320102", T0)], T0, province(session))
    assert case.unit.name == "玄武区" and case.status == Status.NEW.value and case.severity == "high"
    # A later finding of the same host joins the case rather than opening another.
    [same] = open_from_findings(
        session, [finding("10.0.0.5", "320102", T0 + timedelta(hours=1))], T0, province(session)
    )
    assert same.id == case.id and len(case.findings) == 2
    t = T0 + timedelta(hours=2)
    move(session, case, Status.TRIAGED, "analyst-xw", t)
    move(session, case, Status.OWNER_NOTIFIED, "analyst-xw", t)
    with pytest.raises(WorkflowError, match="needs a deadline"):
        move(session, case, Status.RECTIFICATION_ORDERED, "analyst-xw", t)
    move(session, case, Status.RECTIFICATION_ORDERED, "analyst-xw", t, deadline=t + timedelta(days=3))
    move(session, case, Status.BLOCKED, "analyst-xw", t)
    move(session, case, Status.VERIFYING, "analyst-xw", t)
    assert not verify(session, case, t + timedelta(hours=12), quiet=timedelta(days=1)), "too soon"
    assert verify(session, case, t + timedelta(days=1, minutes=1), quiet=timedelta(days=1))
    assert (case.status, case.verdict) == (Status.CLOSED.value, Verdict.STOPPED.value)
    actions = [e.action for e in case.events]
    assert actions == [
        "opened",
        "finding linked",
        "triaged",
        "owner_notified",
        "rectification_ordered",
        "blocked",
        "verifying",
        "closed",
    ]
    assert [e.actor for e in case.events][2:7] == ["analyst-xw"] * 5
    # A new finding after the close opens a new case.
    [again] = open_from_findings(
        session, [finding("10.0.0.5", "320102", t + timedelta(days=3))], t, province(session)
    )
    assert again.id != case.id


def test_steps_out_of_order_are_refused(session: Session) -> None:
    [case] = open_from_findings(session, [finding("10.0.0.6", "320102", T0)], T0, province(session))
    with pytest.raises(WorkflowError, match="cannot go from new to blocked"):
        move(session, case, Status.BLOCKED, "x", T0)
    with pytest.raises(WorkflowError, match="decided by verification"):
        close(session, case, Verdict.STOPPED, "x", T0)
    close(session, case, Verdict.FALSE_POSITIVE, "x", T0, "a benchmark box")
    with pytest.raises(WorkflowError, match="already closed"):
        close(session, case, Verdict.NOT_IN_JURISDICTION, "x", T0)


def test_mining_during_verification_reopens(session: Session) -> None:
    [case] = open_from_findings(session, [finding("10.0.0.7", "320102", T0)], T0, province(session))
    t = T0 + timedelta(hours=1)
    for step in (Status.TRIAGED, Status.OWNER_NOTIFIED):
        move(session, case, step, "x", t)
    move(session, case, Status.RECTIFICATION_ORDERED, "x", t, deadline=t + timedelta(days=1))
    move(session, case, Status.VERIFYING, "x", t)
    open_from_findings(session, [finding("10.0.0.7", "320102", t + timedelta(hours=2))], t, province(session))
    assert case.status == Status.RECTIFICATION_ORDERED.value
    assert case.events[-1].action == "reopened"
    assert not verify(session, case, t + timedelta(days=30), quiet=timedelta(days=1)), (
        "not verifying any more"
    )


def test_overdue_cases_escalate_and_delegation_goes_down_only(session: Session) -> None:
    [case] = open_from_findings(session, [finding("10.0.0.8", "320102", T0)], T0, province(session))
    for step in (Status.TRIAGED, Status.OWNER_NOTIFIED):
        move(session, case, step, "x", T0)
    move(session, case, Status.RECTIFICATION_ORDERED, "x", T0, deadline=T0 + timedelta(days=2))
    assert escalate_overdue(session, T0 + timedelta(days=1)) == []
    assert escalate_overdue(session, T0 + timedelta(days=3)) == [case]
    assert case.unit.name == "南京市" and case.events[-1].action == "escalated"
    wuxi = session.query(Unit).filter_by(code="320200").one()
    with pytest.raises(WorkflowError, match="not a unit under"):
        delegate(session, case, wuxi, "city-nj", T0)
    xuanwu = session.query(Unit).filter_by(code="320102").one()
    delegate(session, case, xuanwu, "city-nj", T0)
    assert case.unit.name == "玄武区"


def test_unit_from_the_code_or_up_the_tree_and_merging(session: Session) -> None:
    cases = open_from_findings(
        session,
        [
            finding("10.0.1.1", "320113", T0),  # a Nanjing county with no unit of its own: the city
            finding("10.0.1.2", "329999", T0),  # an unknown city: the province
            finding("10.0.1.3", None, T0),  # not attributed: the default unit
        ],
        T0,
        province(session),
    )
    assert [c.unit.name for c in cases] == ["南京市", "江苏省", "江苏省"]
    keep, dup = cases[1], cases[2]
    merge(session, dup, keep, "province-analyst", T0)
    assert (dup.status, dup.verdict, dup.merged_into) == (Status.CLOSED.value, "duplicate", keep.id)
    assert len(keep.findings) == 2 and keep.events[-1].action == "merged"


def _blocked_case(session: Session, host: str, pools: list[dict[str, Any]], deadline: datetime) -> Any:
    f = Finding.from_json(finding_json(host, "320102", T0) | {"pools": pools})
    [case] = open_from_findings(session, [f], T0, province(session))
    for step in (Status.TRIAGED, Status.OWNER_NOTIFIED):
        move(session, case, step, "x", T0)
    move(session, case, Status.RECTIFICATION_ORDERED, "x", T0, deadline=deadline)
    move(session, case, Status.BLOCKED, "x", T0)
    return case


def test_enforcement_lists_follow_the_cases(session: Session, tmp_path: Any) -> None:
    """RPZ (parsed back by dnspython), nftables (checked by `nft -c`), hosts, Suricata
    reputation, STIX 2.1 (parsed back by stix2): entries expire with their case and are
    withdrawn when it closes."""
    import shutil
    import subprocess

    import dns.zone
    import stix2

    from minewatch.cases.exports import write_exports

    pools = [
        {"ip": "198.51.100.7", "port": 3333, "name": "pool.example.com"},
        {"ip": "2001:db8::7", "port": 4444},
    ]
    first = _blocked_case(session, "10.0.0.20", pools, T0 + timedelta(days=2))
    _blocked_case(
        session, "10.0.0.21", [{"ip": "203.0.113.9", "port": 3333, "name": None}], T0 + timedelta(days=5)
    )
    now = T0 + timedelta(hours=1)
    entries = write_exports(session, tmp_path, now)
    assert {(e.kind, e.value) for e in entries} == {
        ("ip", "198.51.100.7"),
        ("ip", "2001:db8::7"),
        ("name", "pool.example.com"),
        ("ip", "203.0.113.9"),
    }
    zone = dns.zone.from_text((tmp_path / "minewatch.rpz").read_text(), origin="rpz.minewatch.")
    names = {str(n) for n in zone.nodes}
    assert {"pool.example.com", "*.pool.example.com", "32.7.100.51.198.rpz-ip"} <= names
    nft = (tmp_path / "minewatch.nft").read_text()
    assert "198.51.100.7 timeout 169200s" in nft  # 2 days from the case's deadline, less the hour gone
    nft_bin = shutil.which("nft") or "/usr/sbin/nft"
    subprocess.run([nft_bin, "-c", "-f", str(tmp_path / "minewatch.nft")], check=True)
    assert "0.0.0.0 pool.example.com" in (tmp_path / "hosts").read_text()
    assert "203.0.113.9,1,100" in (tmp_path / "suricata-reputation.txt").read_text()
    bundle = stix2.parse((tmp_path / "minewatch-stix.json").read_text(), allow_custom=False)
    indicators = [o for o in bundle.objects if o.type == "indicator"]
    assert len(indicators) == 4 and all(i.valid_until > now for i in indicators)
    # Closing a case withdraws its entries.
    close(session, first, Verdict.FALSE_POSITIVE, "x", now)
    entries = write_exports(session, tmp_path, now)
    assert {e.value for e in entries} == {"203.0.113.9"}
    assert "pool.example.com" not in (tmp_path / "minewatch.rpz").read_text()


def test_cases_commands_from_findings_to_enforcement(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line on a store of real findings with the sample inventory: units,
    sync, list, steps by an analyst, enforcement files, and a bad step refused."""
    import json

    from minewatch.cli.main import main
    from tests.conftest import REAL, ZEEK
    from tests.test_attribute import SAMPLE

    store = tmp_path / "store"
    assert (
        main(
            [
                "import",
                str(REAL / "sv1_cpuminer_sha256d_t1.pcap"),
                str(ZEEK / "bitcoin-mining.pcap"),
                "--store",
                str(store),
            ]
        )
        == 0
    )
    assert main(["inventory", "import", str(SAMPLE), "--store", str(store)]) == 0
    units = tmp_path / "units.csv"
    units.write_text(
        "code,name,level,parent_code\n320000,江苏省,province,\n320200,无锡市,city,320000\n"
        "320213,梁溪区,county,320200\n330000,浙江省,province,\n330100,杭州市,city,330000\n"
    )
    assert main(["cases", "units", str(units), "--store", str(store)]) == 0
    assert main(["cases", "sync", "--store", str(store)]) == 0
    # The loopback miner, the loopback pool serving it, and the Zeek trace's miner.
    assert "3 cases opened" in capsys.readouterr().err
    assert main(["cases", "sync", "--store", str(store)]) == 0
    assert "0 cases opened, 3 updated" in capsys.readouterr().err
    assert main(["cases", "list", "--store", str(store), "--json"]) == 0
    cases = {(c["host"], c["activity"]): c for c in map(json.loads, capsys.readouterr().out.splitlines())}
    # The hospital's machine goes to its county; the university's (西湖区, no unit) to its city.
    assert cases[("127.0.0.1", "mining")]["unit"] == "梁溪区"
    assert cases[("10.0.2.15", "mining")]["unit"] == "杭州市"
    case_id = str(cases[("127.0.0.1", "mining")]["id"])
    for step in ("triaged", "owner_notified"):
        assert main(["cases", "step", case_id, step, "--store", str(store), "--actor", "county-lx"]) == 0
    assert (
        main(
            [
                "cases",
                "step",
                case_id,
                "rectification_ordered",
                "--deadline",
                "3d",
                "--store",
                str(store),
                "--actor",
                "county-lx",
            ]
        )
        == 0
    )
    assert main(["cases", "step", case_id, "blocked", "--store", str(store), "--actor", "county-lx"]) == 0
    assert main(["cases", "export", "--store", str(store), "--out", str(tmp_path / "lists")]) == 0
    assert "127.0.0.1" in (tmp_path / "lists" / "suricata-reputation.txt").read_text()
    assert (
        main(
            [
                "cases",
                "step",
                case_id,
                "close",
                "--verdict",
                "stopped",
                "--store",
                str(store),
                "--actor",
                "county-lx",
            ]
        )
        == 3
    )
    assert "decided by verification" in capsys.readouterr().err
    assert main(["cases", "tick", "--store", str(store)]) == 0
    bad = tmp_path / "bad-units.csv"
    bad.write_text("code,name,level,parent_code\n320100,南京市,city,999999\n")
    assert main(["cases", "units", str(bad), "--store", str(store)]) == 1
    assert "row 2" in capsys.readouterr().err


def test_a_pool_known_only_by_name_blocks_the_name(session: Session, tmp_path: Any) -> None:
    """A looked-up pool with no answer (no address) is blocked by name, not as an address."""
    from minewatch.cases.exports import write_exports

    pools = [{"ip": "", "port": 0, "name": "Pool.Lookup.Example."}]
    _blocked_case(session, "10.0.0.30", pools, T0 + timedelta(days=2))
    entries = write_exports(session, tmp_path, T0 + timedelta(hours=1))
    assert {(e.kind, e.value) for e in entries} == {("name", "pool.lookup.example")}


def test_syncing_again_as_windows_arrive_counts_each_window_once(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A collector keeps adding a host's windows and `cases sync` runs after each: the
    case's host is the sum of its windows, however often it was synced (a retry too)."""
    import json

    from minewatch.cli.main import main
    from minewatch.store import Store
    from tests.test_episodes import _window

    store = tmp_path / "store"
    units = tmp_path / "units.csv"
    units.write_text("code,name,level,parent_code\n320000,江苏省,province,\n")
    assert main(["cases", "units", str(units), "--store", str(store)]) == 0
    for minute in range(3):
        Store(store).write_findings([_window("10.0.0.9", minute, 1_000)])
        assert main(["cases", "sync", "--store", str(store)]) == 0
    assert main(["cases", "sync", "--store", str(store)]) == 0  # a retry
    capsys.readouterr()
    assert main(["cases", "show", "1", "--store", str(store)]) == 0
    detail = json.loads(capsys.readouterr().out)
    assert detail["latest_finding"]["bytes"] == 3_000
    assert detail["latest_finding"]["windows"] == 3
