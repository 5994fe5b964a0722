"""`minewatch sites candidates`: generated flows naming test sites (ranking, new names,
the ignore list, given names, sectors and units, our hosted sites), the seen-names table
across runs, real captures, the store path of the CLI and --check against a loopback
server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from minewatch.attribute.inventory import Inventory
from minewatch.cli.main import main
from minewatch.probe.policy import Policy
from minewatch.sites import Fetcher
from minewatch.sites.candidates import (
    SEEN_FILE,
    CandidateOptions,
    SiteCandidate,
    candidate_url,
    check_candidates,
    find_candidates,
)
from minewatch.sites.names import FlowSource
from minewatch.store import Store
from tests import sites_pages
from tests.conftest import ROOT, ZEEK
from tests.site_flows import http, lookup, resolved, table, tls
from tests.sites_server import serve

INVENTORY_CSV = ROOT / "src/minewatch/attribute/data/sample_inventory.csv"
SCHOOL, GOV, HOME, OUTSIDE = "10.1.0.5", "10.1.7.233", "192.168.2.9", "172.31.0.9"
SERVED = "198.51.100.20"  # Example Hosting Ltd in the sample inventory


def _run(rows: list[dict[str, Any]], **options: Any) -> Any:
    opts = CandidateOptions(inventory=Inventory.load(INVENTORY_CSV), **options)
    return find_candidates(FlowSource(table=table(rows)), opts)


def _names(run: Any) -> list[str]:
    return [c.name for c in run.candidates]


RANKING = [
    # (what, flows, expected order of names)
    (
        "government and school hosts outweigh more homes",
        [tls(GOV, "203.0.113.1", "a.example.com"), tls(SCHOOL, "203.0.113.1", "a.example.com")]
        + [tls(f"192.168.2.{i}", "203.0.113.2", "b.example.com") for i in range(1, 5)],
        ["a.example.com", "b.example.com"],
    ),
    (
        "more hosts of one sector rank first",
        [tls(HOME, "203.0.113.1", "one.example.com")]
        + [tls(f"192.168.2.{i}", "203.0.113.2", "two.example.com") for i in range(1, 3)],
        ["two.example.com", "one.example.com"],
    ),
    (
        "a name of standing comes after the rest",
        [tls(f"192.168.2.{i}", "203.0.113.1", "api.push.apple.com") for i in range(1, 9)]
        + [tls(HOME, "203.0.113.2", "x.example.com")],
        ["x.example.com", "api.push.apple.com"],
    ),
    (
        "reverse lookups, mDNS, service and single-label names are left out",
        [
            lookup(HOME, "9.2.168.192.in-addr.arpa"),
            lookup(HOME, "printer.local"),
            lookup(HOME, "_ipp._tcp.example.com"),
            lookup(HOME, "wpad"),
            lookup(HOME, "Real.Example.COM."),
        ],
        ["real.example.com"],
    ),
    (
        "an HTTP Host loses its port; an address literal is no name",
        [http(HOME, "203.0.113.1", "shop.example.com:8080"), http(HOME, "203.0.113.1", "203.0.113.1")],
        ["shop.example.com"],
    ),
]


@pytest.mark.parametrize(("what", "rows", "order"), RANKING, ids=[c[0] for c in RANKING])
def test_ranking(what: str, rows: list[dict[str, Any]], order: list[str]) -> None:
    assert _names(_run(rows)) == order, what


def test_candidate_carries_hosts_sectors_units_and_ways() -> None:
    rows = [
        lookup(SCHOOL, "coin.example.com", ["203.0.113.5"]),
        tls(SCHOOL, "203.0.113.5", "coin.example.com", size=5000),
        http(GOV, "203.0.113.5", "coin.example.com"),
        resolved(OUTSIDE, "203.0.113.5", "coin.example.com"),
    ]
    (c,) = _run(rows).candidates
    assert (c.hosts, c.flows, c.bytes) == (3, 4, 200 + 5000 + 1000 + 1000)
    assert c.seen_as == ("dns", "sni", "http", "resolved")
    assert {(s.sector.value, s.hosts) for s in c.sectors} == {
        ("education", 1),
        ("government", 1),
        ("unknown", 1),
    }
    assert {u.unit for u in c.units} == {"示例市第一中学", "示例市人民政府办公室"}
    assert c.weighted_hosts == 3.0 + 2.0 + 1.0  # data/sector_weights.csv
    assert not c.listed and not c.given and c.new


def test_bundled_list_and_given_names() -> None:
    rows = [tls(HOME, "203.0.113.1", "www.binance.com")]
    run = _run(rows, given=("otc.example.net", "www.binance.com"))
    by_name = {c.name: c for c in run.candidates}
    assert (by_name["www.binance.com"].listed, by_name["www.binance.com"].listed_as) == (
        "exchange",
        "binance.com",
    )
    assert by_name["www.binance.com"].given and by_name["www.binance.com"].hosts == 1
    listed_only = by_name["otc.example.net"]
    assert listed_only.given and listed_only.hosts == 0 and not listed_only.new


def test_new_names_and_the_seen_table(tmp_path: Path) -> None:
    seen = tmp_path / SEEN_FILE
    first = _run([tls(HOME, "203.0.113.1", "old.example.com")], seen=seen)
    assert first.remembered and first.new_names == 1
    second = _run(
        [tls(f"192.168.2.{i}", "203.0.113.1", "old.example.com") for i in range(1, 9)]
        + [tls(HOME, "203.0.113.2", "fresh.example.com")],
        seen=seen,
    )
    # New first, however many more hosts the old name has.
    assert [(c.name, c.new) for c in second.candidates] == [
        ("fresh.example.com", True),
        ("old.example.com", False),
    ]
    stored = {r["name"]: r for r in pq.read_table(seen).to_pylist()}
    assert stored["old.example.com"]["runs"] == 2 and stored["fresh.example.com"]["runs"] == 1
    assert set(stored) == {"old.example.com", "fresh.example.com"}


def test_ours_lists_addresses_in_the_inventory() -> None:
    rows = [
        lookup(HOME, "portal.example.org", [SERVED]),
        tls(SCHOOL, SERVED, "portal.example.org"),
        tls(GOV, SERVED, "mirror.example.org"),
        tls(HOME, "203.0.113.9", "elsewhere.example.com"),
    ]
    (site,) = _run(rows).ours
    assert site.address == SERVED and site.block == "198.51.100.0/24"
    assert site.unit == "Example Hosting Ltd" and site.hosts == 3
    assert (site.flows, site.lookups) == (2, 1)
    assert set(site.names) == {"portal.example.org", "mirror.example.org"}


def test_output_is_bounded() -> None:
    rows = [tls(HOME, "203.0.113.1", f"n{i}.example.com") for i in range(30)]
    run = _run(rows, limit=7)
    assert len(run.candidates) == 7 and run.names == 30


def test_real_capture_of_a_web_miner() -> None:
    """coinhive.pcap (zeek-cryptomining): a browser loading a web-mining script."""
    from minewatch.cli.flowinput import read_flows

    source, reports = read_flows("test", [ZEEK / "coinhive.pcap"], None, None, None)
    assert not any(r.error for r in reports)
    run = find_candidates(source, CandidateOptions(limit=500))
    listed = {c.name: c for c in run.candidates if c.listed == "web-miner"}
    assert "authedmine.com" in listed
    assert {"dns", "sni"} <= set(listed["authedmine.com"].seen_as)


def test_cli_over_the_store_remembers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(tmp_path / "store")
    store.write_flows(table([tls(SCHOOL, "203.0.113.1", "coin.example.com")]))
    args = ["sites", "candidates", "--store", str(store.root), "--inventory", str(INVENTORY_CSV), "--json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    (c,) = doc["candidates"]
    assert c["name"] == "coin.example.com" and c["new"] and c["units"][0]["unit"] == "示例市第一中学"
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["candidates"][0]["new"] is False
    assert (store.root / SEEN_FILE).is_file()


def test_cli_needs_inputs_or_a_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sites", "candidates"]) == 2


def test_check_runs_sites_check_on_the_first_candidates() -> None:
    pages = {p.name: p.html for p in sites_pages.tuning()}
    exchange = next(n for n in pages if n.startswith("/exchange-en"))
    rows = [tls(SCHOOL, "203.0.113.1", "ex.example.com"), tls(HOME, "203.0.113.2", "other.example.com")]
    run = _run(rows)
    with serve(pages) as base:
        fetcher = Fetcher(policy=Policy(allow_private=True))
        checks = check_candidates(run.candidates, fetcher, 1, url=lambda c: base + exchange)
    (only,) = checks
    assert only.candidate.name == "ex.example.com"
    assert only.result.verdict is not None and only.result.verdict.cls.value == "exchange"
    assert only.to_json()["check"]["class"] == "exchange"


@pytest.mark.parametrize(
    ("seen_as", "url"),
    [
        (("sni",), "https://a.example.com/"),
        (("http",), "http://a.example.com/"),
        (("dns",), "https://a.example.com/"),
    ],
)
def test_candidate_url(seen_as: tuple[str, ...], url: str) -> None:
    c = SiteCandidate(
        "a.example.com", 1, 1.0, 1, 1, None, None, seen_as, (), (), True, False, False, None, None
    )
    assert candidate_url(c) == url
