"""Indicator lists in their real formats, user lists, and `intel update` against a local
HTTP server on loopback (and failing clearly when the server is not there)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from minewatch.errors import IntelFileError
from minewatch.intel.indicators import Category, load_bundled, load_default, parse_indicator_file
from minewatch.intel.update import Feed, update
from tests.conftest import INTEL


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("coinblockerlists-2018/list.txt", None),
        ("coinblockerlists-2018/list_browser.txt", None),
        ("nocoin/hosts.txt", None),
        ("nocoin/nocoin.txt", None),
    ],
)
def test_real_list_formats(name: str, domain: str | None) -> None:
    s = parse_indicator_file(INTEL / name)
    assert len(s) > 50
    first = next(iter(s))
    assert s.match_domain("sub." + first.value) == first


def test_ip_list_with_comments() -> None:
    s = parse_indicator_file(INTEL / "coinblockerlists-2018" / "MiningServerIPList.txt")
    assert len(s) > 100
    ind = next(iter(s))
    assert ind.kind == "ip" and s.match_ip(ind.value) == ind


def test_bundled_set_is_valid_and_dated() -> None:
    s = load_bundled()
    assert len(s) >= 50
    assert {i.category for i in s} == set(Category)
    assert all(i.source and i.date for i in s)
    assert s.match_domain("EU1.Ethermine.org.").value == "ethermine.org"
    assert s.match_domain("notethermine.org") is None


def test_bad_user_list_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("indicator,kind,category,coin,source,date\nexample.com,domain,lottery,,me,2026-01-01\n")
    with pytest.raises(IntelFileError, match=r"bad.csv:2: unknown category 'lottery'"):
        load_default([bad])
    junk = tmp_path / "junk.txt"
    junk.write_text("%%% not a domain %%%\n")
    with pytest.raises(IntelFileError, match="no domain or address indicators"):
        parse_indicator_file(junk)


@pytest.fixture
def list_server() -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(INTEL))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_update_from_local_server(list_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feeds = (
        Feed("pools", f"{list_server}/coinblockerlists-2018/list.txt", Category.POOL),
        Feed("web", f"{list_server}/nocoin/hosts.txt", Category.WEB_MINER),
    )
    report = update(feeds, home=tmp_path, timeout_s=5)
    assert dict(report.counts)["pools"] > 50
    monkeypatch.setenv("MINEWATCH_HOME", str(tmp_path))
    merged = load_default()
    assert len(merged) > len(load_bundled())


def test_update_offline_fails_clearly(tmp_path: Path) -> None:
    feed = Feed("x", "http://127.0.0.1:9/list.txt", Category.POOL)
    with pytest.raises(IntelFileError, match="cannot download .* bundled indicators are still used"):
        update((feed,), home=tmp_path, timeout_s=2)
    assert not (tmp_path / "intel" / "indicators.csv").exists()


def test_vectorised_address_prefilter_agrees_with_match_ip() -> None:
    """ip_candidates (whole arrays at once) never drops an address match_ip would match."""
    import random

    import pyarrow as pa

    from minewatch.intel.indicators import Indicator, IndicatorSet

    rng = random.Random(5)
    listed = [Indicator(f"10.{i}.0.0/16", "cidr", Category.POOL, None, "t", "d") for i in range(0, 200, 3)]
    listed += [Indicator(f"192.0.2.{i}", "ip", Category.POOL, None, "t", "d") for i in range(0, 256, 7)]
    listed.append(Indicator("2001:db8::/32", "cidr", Category.POOL, None, "t", "d"))
    intel = IndicatorSet(listed)
    ips = [
        f"{rng.choice([10, 192, 11])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(5000)
    ]
    ips += [f"192.0.2.{i}" for i in range(256)] + ["2001:db8::5", "2001:db9::5", "not-an-ip", "1.2.3", ""]
    mask = intel.ip_candidates(pa.array(ips)).to_pylist()
    for ip, candidate in zip(ips, mask, strict=True):
        if intel.match_ip(ip) is not None:
            assert candidate, ip
    assert sum(mask) < len(ips) / 2, "the pre-filter lets through far fewer than all"
