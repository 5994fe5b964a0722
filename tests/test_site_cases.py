"""Site cases (issue 18, item 4), on SQLite and PostgreSQL: a `sites check` finding opens a
case of kind "site" at the unit of its hosting address in the inventory, or of its ICP
filing's province; the enforcement lists carry its names (RPZ, hosts) and URLs (STIX),
never its hosting address; a re-check closes it as stopped when the site is gone or
changed, and sends it back to rectification when it still serves."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from minewatch.attribute.attributor import Attributor
from minewatch.attribute.inventory import Inventory
from minewatch.cases.exports import write_exports
from minewatch.cases.models import Base, Case, CaseFinding, Level, Status, Unit
from minewatch.cases.subjects import RecheckOutcome, open_from_site_findings, recheck
from minewatch.cases.workflow import move, tick
from minewatch.errors import InputError
from minewatch.probe.policy import Policy
from minewatch.sites.check import check
from minewatch.sites.classes import SiteClass
from minewatch.sites.fetch import Fetcher, FetchLimits
from minewatch.sites.finding import SiteFinding, dns_name, site_finding
from minewatch.sites.registrant import icp_filing
from tests.sites_pages import page
from tests.sites_server import serve, virtual_hosts

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "number", "code"),
    [
        ("版权所有 京ICP备12345678号-1 京公网安备", "京ICP备12345678号-1", "110000"),
        ("粤ICP证 030173号", "粤ICP证030173号", "440000"),
        ("浙icp备2021012345号", "浙ICP备2021012345号", "330000"),
        ("蜀ICP备18001234号", "蜀ICP备18001234号", "510000"),
        ("ICP备12345678号", None, None),  # no province
        ("京ICP备123号", None, None),  # too short to be a filing
        ("about the ICP of Beijing", None, None),
    ],
)
def test_icp_filing_names_the_registrants_province(text: str, number: str | None, code: str | None) -> None:
    found = icp_filing(text)
    assert (found.number if found else None, found.province_code if found else None) == (number, code)


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("Exchange.Example.", "exchange.example"),
        ("交易所.example", "xn--tlqx19b5xc.example"),
        ("a'b.example", None),
        ("localhost", None),  # one label: not a site name
        ("x" * 64 + ".example", None),
        (("a." * 130) + "example", None),
        ("-bad.example", None),
    ],
)
def test_only_dns_names_reach_the_lists(host: str, name: str | None) -> None:
    assert dns_name(host) == name


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = create_engine(db_url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        zhejiang = Unit(code="330000", name="浙江省", level=Level.PROVINCE.value)
        hangzhou = Unit(code="330100", name="杭州市", level=Level.CITY.value, parent=zhejiang)
        jiangsu = Unit(code="320000", name="江苏省", level=Level.PROVINCE.value)
        s.add_all([zhejiang, hangzhou, jiangsu])
        s.flush()
        yield s
    engine.dispose()


def _exchange_page(footer: str = "") -> str:
    html = page("exchange", "zh", 0, random.Random(7)).html
    return html.replace("</body>", f"<footer>{footer}</footer></body>")


def _unrelated_page() -> str:
    return page("bank", "zh", 0, random.Random(7)).html


def _root(session: Session, code: str = "320000") -> Unit:
    return session.scalars(select(Unit).where(Unit.code == code)).one()


def _to_verifying(session: Session, case: Case, now: datetime) -> None:
    for step in (Status.TRIAGED, Status.OWNER_NOTIFIED):
        move(session, case, step, "x", now)
    move(session, case, Status.RECTIFICATION_ORDERED, "x", now, deadline=now + timedelta(days=3))
    move(session, case, Status.BLOCKED, "x", now)
    move(session, case, Status.VERIFYING, "x", now)


def test_a_site_case_from_check_to_export_to_stopped(session: Session, tmp_path: Path) -> None:
    """Names through a proxy (no DNS), ICP filing -> Zhejiang; lists carry names and URLs;
    the site changes -> re-check closes it after the quiet period; seen serving again
    during verification -> back to rectification."""
    sites = {
        "hq.coin-ex.example": {"/": _exchange_page("浙ICP备2021012345号-2")},
        "news.example": {"/": _unrelated_page()},
    }
    with virtual_hosts(sites) as proxy:
        fetcher = Fetcher(FetchLimits(timeout_s=5), proxy=proxy)
        results = [check(f"http://{name}/", fetcher) for name in sites]
        found = [f for f in (site_finding(r, T0) for r in results) if f is not None]
        assert [(f.subject, f.cls) for f in found] == [
            ("hq.coin-ex.example", SiteClass.EXCHANGE),
            ("news.example", SiteClass.UNRELATED),
        ]
        [case] = open_from_site_findings(session, found, T0, _root(session))
        assert (case.host, case.activity, case.unit.code) == ("hq.coin-ex.example", "site", "330000")
        assert "ICP filing 浙ICP备2021012345号-2" in case.events[0].detail
        # The same results again are stored once; a later check joins the open case.
        assert open_from_site_findings(session, found, T0, _root(session)) == []
        later = site_finding(check("http://hq.coin-ex.example/", fetcher), T0 + timedelta(hours=1))
        assert later is not None
        assert open_from_site_findings(session, [later], T0, _root(session)) == [case]
        assert len(case.findings) == 2

        _to_verifying(session, case, T0)
        entries = write_exports(session, tmp_path, T0 + timedelta(minutes=5))
        assert {(e.kind, e.value) for e in entries} == {
            ("name", "hq.coin-ex.example"),
            ("url", "http://hq.coin-ex.example/"),
        }
        assert "*.hq.coin-ex.example" in (tmp_path / "minewatch.rpz").read_text()
        assert "0.0.0.0 hq.coin-ex.example" in (tmp_path / "hosts").read_text()
        assert "ip saddr @blocked4" in (tmp_path / "minewatch.nft").read_text()
        assert "elements" not in (tmp_path / "minewatch.nft").read_text()  # no hosting address
        import stix2

        bundle = stix2.parse((tmp_path / "minewatch-stix.json").read_text(), allow_custom=False)
        patterns = sorted(o.pattern for o in bundle.objects if o.type == "indicator")
        assert patterns == [
            "[domain-name:value = 'hq.coin-ex.example']",
            "[url:value = 'http://hq.coin-ex.example/']",
        ]

        # Quiet tick does not settle a site; a re-check does.
        assert tick(session, T0 + timedelta(days=30), timedelta(days=1)) == (0, 0)
        assert case.status == Status.VERIFYING.value
        still = recheck(session, case, fetcher, T0 + timedelta(hours=2), timedelta(days=1))
        assert (still.outcome, case.status) == (RecheckOutcome.SERVING, Status.RECTIFICATION_ORDERED.value)
        move(session, case, Status.VERIFYING, "x", T0 + timedelta(hours=3))
        sites["hq.coin-ex.example"]["/"] = _unrelated_page()  # the operator took it down
        early = recheck(session, case, fetcher, T0 + timedelta(hours=4), timedelta(days=1))
        assert (early.outcome, early.closed, case.status) == (RecheckOutcome.CHANGED, False, "verifying")
        done = recheck(session, case, fetcher, T0 + timedelta(days=2), timedelta(days=1))
        assert (done.outcome, done.closed) == (RecheckOutcome.CHANGED, True)
        assert (case.status, case.verdict) == ("closed", "stopped")
        assert [e.action for e in case.events][-2:] == ["re-checked", "closed"]
        # Closed: its entries are withdrawn.
        assert write_exports(session, tmp_path, T0 + timedelta(days=2)) == []


def _retarget(session: Session, case: Case, found: SiteFinding, target: str, at: str) -> None:
    """A later check of the case's site at another URL (what the next re-check fetches)."""
    later = SiteFinding.from_json(found.to_json() | {"target": target, "checked_at": at})
    session.add(CaseFinding(case=case, first_seen=T0, last_seen=T0, finding=json.dumps(later.to_json())))
    session.flush()
    session.refresh(case)


def test_gone_and_unreachable_are_told_apart(session: Session) -> None:
    """404 and a refused connection are gone; a proxy that cannot reach the name, a slow
    page or robots.txt say nothing."""
    fetcher_direct = Fetcher(FetchLimits(timeout_s=2), Policy(allow_private=True))
    with serve({"/": _exchange_page()}) as base:
        found = site_finding(check(base + "/", fetcher_direct), T0)
        assert found is not None and found.address == "127.0.0.1"
        [case] = open_from_site_findings(session, [found], T0, _root(session))
        assert case.host == "127.0.0.1"  # an address target keeps its address
        _to_verifying(session, case, T0)
        slow = SiteFinding.from_json(
            found.to_json() | {"target": base + "/slow", "checked_at": "2026-11-27T09:01:00Z"}
        )
        session.add(CaseFinding(case=case, first_seen=T0, last_seen=T0, finding=json.dumps(slow.to_json())))
        session.flush()
        session.refresh(case)
        r = recheck(session, case, fetcher_direct, T0 + timedelta(days=2), timedelta(days=1))
        assert r.outcome is RecheckOutcome.INCONCLUSIVE and case.status == "verifying", r.detail
        missing = SiteFinding.from_json(
            found.to_json() | {"target": base + "/gone", "checked_at": "2026-11-27T09:02:00Z"}
        )
        session.add(
            CaseFinding(case=case, first_seen=T0, last_seen=T0, finding=json.dumps(missing.to_json()))
        )
        session.flush()
        session.refresh(case)
        r = recheck(session, case, fetcher_direct, T0 + timedelta(days=2), timedelta(days=1))
        assert (r.outcome, r.closed) == (RecheckOutcome.GONE, True), r.detail
    # The server is down now: nothing listens at its port.
    result = check(base + "/", fetcher_direct)
    assert result.fetched.gone is True  # type: ignore[union-attr]
    with virtual_hosts({}) as proxy:
        result = check("http://vanished.example/", Fetcher(FetchLimits(timeout_s=2), proxy=proxy))
        assert result.fetched.gone is False  # type: ignore[union-attr]  # the proxy's 502


def test_hosted_in_our_address_space_goes_to_the_inventorys_unit(session: Session, tmp_path: Path) -> None:
    """The inventory's unit wins over the ICP province: those who run the address can act."""
    inventory_csv = tmp_path / "inventory.csv"
    inventory_csv.write_text(
        "cidr,organisation,sector,region,region_code\n127.0.0.0/8,杭州某数据中心,datacenter,浙江省/杭州市,330100\n"
    )
    attributor = Attributor(Inventory.load(inventory_csv), [])
    fetcher = Fetcher(FetchLimits(timeout_s=2), Policy(allow_private=True))
    with serve({"/": _exchange_page("苏ICP备12345678号")}) as base:
        found = site_finding(check(base + "/", fetcher), T0)
    assert found is not None and found.icp is not None and found.icp.province_code == "320000"
    [case] = open_from_site_findings(session, [found], T0, _root(session), attributor)
    assert case.unit.code == "330100"
    assert "hosted in our address space" in case.events[0].detail
    assert json.loads(case.attribution or "{}")["organisation"] == "杭州某数据中心"


def test_hostile_check_results_never_reach_the_lists(session: Session, tmp_path: Path) -> None:
    """A subject or URL with quotes, odd Unicode or huge length: the case is kept (its
    subject is what was checked) but no name that is not a DNS name goes into a zone."""
    base = SiteFinding.from_json(
        {
            "kind": "site",
            "subject": "x",
            "class": "exchange",
            "confidence": 0.9,
            "checked_at": "2026-11-27T09:00:00Z",
        }
    )
    odd = [
        ("a'b.example", "http://a'b.example/'--"),
        ("交易所.example", "http://交易所.example/?q=\u202e"),
        ("z" * 245 + ".example", "http://" + "z" * 245 + ".example/"),
    ]
    for i, (subject, url) in enumerate(odd):
        f = SiteFinding.from_json(base.to_json() | {"subject": subject, "target": url, "url": url})
        [case] = open_from_site_findings(session, [f], T0 + timedelta(seconds=i), _root(session))
        _to_verifying(session, case, T0)
    entries = write_exports(session, tmp_path, T0)
    assert {(e.kind, e.value) for e in entries if e.kind == "name"} == {("name", "xn--tlqx19b5xc.example")}
    # Not printable: NUL, tab, a right-to-left override (it would turn a name around on screen).
    for bad in ("z" * 254, "a\x00b.example", "", "tab\t.example", "\u202eevil.example"):
        with pytest.raises(InputError, match="printable"):
            SiteFinding.from_json(base.to_json() | {"subject": bad})
    with pytest.raises(InputError, match="confidence"):
        SiteFinding.from_json(base.to_json() | {"confidence": float("nan")})
    import dns.zone
    import stix2

    dns.zone.from_text((tmp_path / "minewatch.rpz").read_text(), origin="rpz.minewatch.")
    stix2.parse((tmp_path / "minewatch-stix.json").read_text(), allow_custom=False)


def test_site_cases_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`sites check --cases`, `cases step`, `cases export`, `cases recheck` on one store."""
    from minewatch.cli.main import main

    store = tmp_path / "store"
    units = tmp_path / "units.csv"
    units.write_text("code,name,level,parent_code\n320000,江苏省,province,\n330000,浙江省,province,\n")
    assert main(["cases", "units", str(units), "--store", str(store)]) == 0
    sites = {"otc.example": {"/": _exchange_page("浙ICP备2021012345号")}}
    with virtual_hosts(sites) as proxy:
        argv = ["sites", "check", "http://otc.example/", "--proxy", proxy, "--cases", "--store", str(store)]
        assert main(argv) == 0
        assert "1 cases opened, 0 updated (cases 1)" in capsys.readouterr().err
        for step in ("triage", "notify"):
            assert main(["cases", "step", "1", step, "--store", str(store), "--actor", "a"]) == 0
        deadline = ["--deadline", "3d"]
        assert main(["cases", "step", "1", "rectify", *deadline, "--store", str(store), "--actor", "a"]) == 0
        assert main(["cases", "step", "1", "block", "--store", str(store), "--actor", "a"]) == 0
        assert main(["cases", "export", "--store", str(store), "--out", str(tmp_path / "out")]) == 0
        assert "otc.example" in (tmp_path / "out" / "minewatch.rpz").read_text()
        assert main(["cases", "step", "1", "verify", "--store", str(store), "--actor", "a"]) == 0
        del sites["otc.example"]["/"]  # taken down: 404
        capsys.readouterr()
        # The console's and the CLI's "check" on a site is a re-check of it.
        assert main(["cases", "recheck", "--store", str(store), "--proxy", proxy]) == 0
        out = capsys.readouterr()
        assert "case 1\totc.example\tgone\t\thttp://otc.example/: error: HTTP 404" in out.out
        assert "1 site cases re-checked, 0 closed as stopped" in out.err
        assert main(["cases", "recheck", "--store", str(store), "--proxy", "socks5://x"]) == 2


def test_a_site_case_in_the_console_and_the_api(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The county's analyst sees the site case (class, page, ICP filing, signals with their
    sources), its check button re-checks the site, and the dashboard's mining figures
    leave it out."""
    from tests.service_fixtures import make_service, sign_in

    service = make_service(tmp_path, db_url)
    sites = {"c2c.example": {"/": _exchange_page("苏ICP备12345678号")}}
    try:
        with virtual_hosts(sites) as proxy:
            fetcher = Fetcher(FetchLimits(timeout_s=5), proxy=proxy)
            found = site_finding(check("http://c2c.example/", fetcher), T0)
            assert found is not None
            with service.session() as session:
                county = session.scalars(select(Unit).where(Unit.code == "320213")).one()
                [case] = open_from_site_findings(session, [found], T0, county)
                assert case.unit.code == "320000"  # the ICP province, over the default
                case.unit = county  # handed down to the county, as a supervisor would
                _to_verifying(session, case, datetime.now(UTC) - timedelta(days=8))
                session.commit()
                case_id = case.id
            lx, csrf = sign_in(service.app, "lx")
            page_html = lx.get(f"/cases/{case_id}").text
            assert 'id="site"' in page_html and "苏ICP备12345678号" in page_html and "exchange" in page_html
            detail = lx.get(f"/api/v1/cases/{case_id}").json()
            assert detail["activity"] == "site" and detail["latest_finding"]["class"] == "exchange"
            assert all("(" in e["detail"] for e in detail["evidence"])  # each names its source
            assert lx.get("/").status_code == 200
            monkeypatch.setenv("MINEWATCH_SITES_PROXY", proxy)
            sites["c2c.example"]["/"] = _unrelated_page()
            r = lx.post(
                f"/api/v1/cases/{case_id}/actions", json={"action": "check"}, headers={"X-CSRF-Token": csrf}
            )
            assert r.status_code == 200, r.text
            # Changed, and verification began more than the quiet period (7 days) ago.
            assert r.json()["status"] == "closed", r.json()
    finally:
        service.close()
