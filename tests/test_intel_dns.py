"""A DNS query for a pool's name names the pool (at the address the answer gave, if any),
never the resolver that was asked: pools only ever name servers that carried mining."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from minewatch.detect import fuse
from minewatch.detect.context import HomeNetworks, ScanContext
from minewatch.detect.registry import run_detectors
from minewatch.intel.indicators import Category, Indicator, IndicatorSet
from minewatch.model.findings import Activity, Endpoint
from minewatch.model.schema import FLOW_SCHEMA
from minewatch.scan import ScanOptions, scan_paths
from tests.conftest import ZEEK

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
HOST = "10.0.0.5"
POOL = "pool.example-mining.org"
INTEL = IndicatorSet([Indicator(POOL, "domain", Category.POOL, "monero", "test list", "2026-11-24")])


def _flow(i: int, server: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        "flow_id": i,
        "conn_id": i,
        "first_seen": START + timedelta(seconds=i),
        "last_seen": START + timedelta(seconds=i + 1),
        "ip_proto": 17 if port == 53 else 6,
        "client_ip": HOST,
        "client_port": 50000 + i,
        "server_ip": server,
        "server_port": port,
        "c2s_packets": 1,
        "s2c_packets": 1,
        "c2s_bytes": 80,
        "s2c_bytes": 120,
        "tcp_flags": 0,
        "end_reason": "idle",
        **extra,
    }


def _lookup(i: int, resolver: str, answers: list[str] | None) -> dict[str, Any]:
    return _flow(i, resolver, 53, dns_query=POOL, dns_answers=answers, application="dns")


CASES = [
    # (what, flows, pools of the finding)
    (
        "an answer with an address",
        [_lookup(0, "8.8.8.8", ["203.0.113.7"])],
        [Endpoint("203.0.113.7", 0, POOL)],
    ),
    (
        "a CNAME first, then the address",
        [_lookup(0, "192.168.1.1", ["lb.example.net", "203.0.113.8"])],
        [Endpoint("203.0.113.8", 0, POOL)],
    ),
    ("no answer: the name alone", [_lookup(0, "8.8.8.8", None)], [Endpoint("", 0, POOL)]),
    (
        "lookup, then the connection to the pool: the connection names it",
        [_lookup(0, "8.8.8.8", ["203.0.113.7"]), _flow(1, "203.0.113.7", 3333, server_name=POOL)],
        [Endpoint("203.0.113.7", 3333, POOL)],
    ),
]


@pytest.mark.parametrize(("what", "flows", "pools"), CASES, ids=[c[0] for c in CASES])
def test_a_lookup_names_the_pool_not_the_resolver(
    what: str, flows: list[dict[str, Any]], pools: list[Endpoint]
) -> None:
    table = pa.Table.from_pylist(flows, FLOW_SCHEMA)
    evidence = run_detectors(ScanContext("x", table, {}, INTEL, HomeNetworks()))
    (finding,) = [f for f in fuse(evidence, {}) if f.activity == Activity.MINING]
    assert list(finding.pools) == pools, what
    # The lookup's own bytes (a resolver conversation) are not mining traffic.
    connected = sum(f["c2s_bytes"] + f["s2c_bytes"] for f in flows if f["server_port"] != 53)
    assert finding.bytes_total == connected


@pytest.mark.parametrize("capture", ["coinhive.pcap", "coinhive-stratum.pcap"])
def test_no_resolver_among_the_pools_of_a_real_capture(capture: str) -> None:
    result = scan_paths([ZEEK / capture], ScanOptions())
    pools = [p for f in result.findings for p in f.pools]
    assert pools and all(p.port != 53 for p in pools)
    assert "192.168.1.1" not in {p.ip for p in pools}
