"""Trading traces: per host, UTC day and exchange/OTC site, from generated flows and a
real capture; the store dataset (a day recomputed replaces itself); the `traces` command;
and the bulletin's own section, apart from the mining figures and consistent with the
Activity.EXCHANGE findings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from minewatch.cli.main import main
from minewatch.intel.indicators import load_bundled
from minewatch.model.traces import TradingTrace
from minewatch.sites.names import FlowSource
from minewatch.store import Store
from minewatch.store.traces import read_traces, write_traces
from minewatch.trading import TradingSite, compute_traces, day_span, sites_from_checks, trading_sites
from tests.conftest import ZEEK
from tests.site_flows import START, lookup, resolved, table, tls

HOST, OTHER = "10.1.0.5", "192.168.2.9"
SITES = trading_sites(load_bundled(), [TradingSite("desk.example-otc.com", "otc", "sites check")])


def _traces(rows: list[dict[str, Any]], sites: tuple[TradingSite, ...] = SITES) -> list[TradingTrace]:
    out = compute_traces(FlowSource(table=table(rows)), sites)
    return [TradingTrace.from_row(r) for r in out.to_pylist()]


def _hours(**counts: int) -> tuple[int, ...]:
    bins = [0] * 24
    for hour, n in counts.items():
        bins[int(hour[1:])] = n
    return tuple(bins)


CASES = [
    # (what, flows, expected (host, day, site, category, flows, sessions, hours) per trace)
    (
        "one visit: flows within 30 minutes of each other",
        [tls(HOST, "203.0.113.5", "www.binance.com", m) for m in (0, 10, 35)],
        [(HOST, "2026-11-24", "binance.com", "exchange", 3, 1, _hours(h8=3))],
    ),
    (
        "a gap of more than 30 minutes starts a new visit",
        [tls(HOST, "203.0.113.5", "www.binance.com", m) for m in (0, 5, 60, 200)],
        [(HOST, "2026-11-24", "binance.com", "exchange", 4, 3, _hours(h8=2, h9=1, h11=1))],
    ),
    (
        "a lookup, SNI and a resolved connection all count, per UTC day",
        [
            lookup(HOST, "api.okx.com", ["203.0.113.7"], 0),
            resolved(HOST, "203.0.113.7", "api.okx.com", 1),
            tls(HOST, "203.0.113.7", "www.okx.com", 60 * 17),
        ],
        [
            (HOST, "2026-11-24", "okx.com", "exchange", 2, 1, _hours(h8=2)),
            (HOST, "2026-11-25", "okx.com", "exchange", 1, 1, _hours(h1=1)),
        ],
    ),
    (
        "a checked OTC site counts; other names do not",
        [tls(OTHER, "203.0.113.9", "m.desk.example-otc.com"), tls(OTHER, "203.0.113.9", "news.example.com")],
        [(OTHER, "2026-11-24", "desk.example-otc.com", "otc", 1, 1, _hours(h8=1))],
    ),
]


@pytest.mark.parametrize(("what", "rows", "expected"), CASES, ids=[c[0] for c in CASES])
def test_traces(what: str, rows: list[dict[str, Any]], expected: list[tuple[Any, ...]]) -> None:
    got = [
        (t.host, t.day.isoformat(), t.site, t.category, t.flows, t.sessions, t.hours) for t in _traces(rows)
    ]
    assert got == expected, what


def test_trace_names_ways_and_bytes() -> None:
    rows = [lookup(HOST, "api.okx.com", None, 0), tls(HOST, "203.0.113.7", "www.okx.com", 1, size=4000)]
    (t,) = _traces(rows)
    assert t.names == ("api.okx.com", "www.okx.com") and t.seen_as == ("dns", "sni")
    assert t.bytes == 200 + 4000 and t.first_seen == START
    assert t.to_json()["hours"][8] == 2


def test_the_more_specific_site_wins() -> None:
    sites = (TradingSite("example.com", "exchange", "a"), TradingSite("otc.example.com", "otc", "b"))
    (t,) = _traces([tls(HOST, "203.0.113.1", "www.otc.example.com")], sites)
    assert (t.site, t.category, t.basis) == ("otc.example.com", "otc", "b")


def test_sites_from_check_results(tmp_path: Path) -> None:
    path = tmp_path / "checked.jsonl"
    lines = [
        {"target": "desk.example.net", "url": "https://www.desk.example.net/", "class": "otc"},
        {"target": "news.example.net", "url": "https://news.example.net/", "class": "unrelated"},
        {"target": "x.example.net", "url": "https://x.example.net/", "error": {"kind": "timeout"}},
        {
            "candidates": [
                {"name": "c.example.net", "check": {"url": "https://c.example.net/", "class": "exchange"}}
            ]
        },
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert sites_from_checks(path) == [
        TradingSite("www.desk.example.net", "otc", "sites check"),
        TradingSite("c.example.net", "exchange", "sites check"),
    ]


def test_day_span_is_whole_utc_days() -> None:
    since = datetime(2026, 11, 24, 13, 5, tzinfo=UTC)
    assert day_span(since, since + timedelta(hours=1)) == (
        datetime(2026, 11, 24, tzinfo=UTC),
        datetime(2026, 11, 25, tzinfo=UTC),
    )


def test_store_dataset_replaces_a_recomputed_day(tmp_path: Path) -> None:
    rows = [tls(HOST, "203.0.113.5", "www.binance.com", m) for m in (0, 60 * 20)]
    first = compute_traces(FlowSource(table=table(rows)), SITES)
    days = [date(2026, 11, 24), date(2026, 11, 25)]
    write_traces(tmp_path, first, "t1", days)
    again = compute_traces(FlowSource(table=table(rows[:1])), SITES)
    write_traces(tmp_path, again, "t2", days)  # day 25 now has no trace: emptied
    stored = read_traces(tmp_path)
    assert [(r["day"].isoformat(), r["flows"]) for r in stored.to_pylist()] == [("2026-11-24", 1)]
    assert len(list((tmp_path / "traces").glob("date=2026-11-24/part-*.parquet"))) == 1
    assert read_traces(tmp_path, START + timedelta(days=1)).num_rows == 0


def test_real_capture_with_a_checked_site() -> None:
    """coinhive.pcap: the names it reaches are real DNS and TLS; say `sites check` had
    classed its web-mining host's name as an exchange: its flows become a trace."""
    from minewatch.cli.flowinput import read_flows

    source, _ = read_flows("test", [ZEEK / "coinhive.pcap"], None, None, None)
    traces = compute_traces(source, [TradingSite("authedmine.com", "exchange", "sites check")])
    (t,) = [TradingTrace.from_row(r) for r in traces.to_pylist()]
    assert t.site == "authedmine.com" and {"dns", "sni"} <= set(t.seen_as) and t.flows >= 2
    assert sum(t.hours) == t.flows and t.sessions >= 1


def _store_with_trading(tmp_path: Path) -> Path:
    store = Store(tmp_path / "store")
    rows = [tls(HOST, "203.0.113.5", "www.binance.com", m) for m in (0, 10, 90)]
    rows.append(tls(OTHER, "203.0.113.9", "news.example.com"))
    store.write_flows(table(rows))
    return store.root


def test_traces_command_stores_and_report_shows_its_own_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _store_with_trading(tmp_path)
    assert main(["detect", "--store", str(root), "--json"]) == 0  # the Activity.EXCHANGE findings
    found = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert [f["activity"] for f in found] == ["exchange"]
    assert main(["traces", "--store", str(root), "--json"]) == 0
    (trace,) = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert (trace["host"], trace["site"], trace["sessions"], trace["flows"]) == (HOST, "binance.com", 2, 3)
    assert list((root / "traces").glob("date=2026-11-24/part-*.parquet"))
    out = tmp_path / "bulletin"
    assert main(["report", "--store", str(root), "--out", str(out)]) == 0
    doc = json.loads((out / "bulletin.json").read_text())
    section = doc["trading_traces"]
    assert (section["hosts"], section["sites"], section["sessions"], section["flows"]) == (1, 1, 2, 3)
    assert section["by_site"][0]["site"] == "binance.com"
    assert (section["exchange_finding_hosts"], section["exchange_findings_traced"]) == (1, 1)
    assert sum(section["hours"]) == 3 and section["hours"][16] == 2  # 08:00 UTC is 16:00 in Shanghai
    # Never mining: no mining host, no bytes, no energy from the trading host.
    assert doc["mining_hosts"] == 0 and doc["mining_bytes"] == 0 and doc["energy_kwh_day"] is None
    html = (out / "bulletin.html").read_text()
    assert "Trading traces" in html and "binance.com" in html


def test_report_computes_traces_when_none_were_stored(tmp_path: Path) -> None:
    root = _store_with_trading(tmp_path)
    out = tmp_path / "bulletin"
    assert main(["report", "--store", str(root), "--out", str(out), "--lang", "zh"]) == 0
    doc = json.loads((out / "bulletin.json").read_text())
    assert doc["trading_traces"]["hosts"] == 1 and doc["trading_traces"]["exchange_finding_hosts"] == 0
    assert "交易痕迹" in (out / "bulletin.html").read_text()
    assert not (root / "traces").exists()  # the report reads; only `traces` writes


def test_summary_by_region_counts_exchange_findings_by_their_own_place() -> None:
    from minewatch.attribute.inventory import Inventory
    from minewatch.model.findings import Activity, Finding
    from minewatch.report.trading import summarise
    from tests.test_site_candidates import INVENTORY_CSV

    inventory = Inventory.load(INVENTORY_CSV)
    rows = [tls(HOST, "203.0.113.5", "www.binance.com"), tls(OTHER, "203.0.113.5", "www.binance.com")]
    traces = compute_traces(FlowSource(table=table(rows)), SITES)
    place = inventory.attribute("10.1.0.6")
    untraced = Finding("10.1.0.6", Activity.EXCHANGE, 0.8, START, START, (), attribution=place)
    s = summarise(traces, [untraced], inventory.attribute, region="江苏")
    assert (s.hosts, s.exchange_finding_hosts, s.exchange_findings_traced) == (1, 1, 0)  # OTHER is in 浙江
    assert s.top_hosts[0].owner == "示例市第一中学" and s.by_sector == (("education", 1),)
