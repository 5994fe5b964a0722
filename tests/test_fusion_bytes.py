"""Each flow record's bytes count once per host finding, however many detectors claim it,
and a host the flow model flags counts every record of that connection (client, server
address and port) in the batch, not only the records inside the model's range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from minewatch.detect import fuse
from minewatch.detect.context import HomeNetworks, ScanContext
from minewatch.detect.registry import run_detectors
from minewatch.detect.stored import detect_stored
from minewatch.intel.indicators import Category, Indicator, IndicatorSet
from minewatch.model.findings import Activity, Finding
from minewatch.model.schema import FLOW_SCHEMA
from minewatch.protocols.base import MiningSession
from minewatch.scan import ScanOptions, scan_paths
from tests.conftest import NDPI, ZEEK

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
MINER = "10.0.0.5"
LISTED = "203.0.113.7"  # on the indicator list below
UNLISTED = "198.51.100.9"
INTEL = IndicatorSet([Indicator(LISTED, "ip", Category.POOL, None, "test list", "2026-11-24")])


@dataclass(frozen=True)
class Rec:
    """One flow record: a long mining-like one (counters of a real stratum session the
    flow model flags, ndpi mining.pcapng), or a short reconnect outside its range."""

    server: str
    port: int = 3333
    long: bool = True
    up: int = 4119
    down: int = 5516
    client: str = MINER


def _table(records: list[Rec]) -> pa.Table:
    rows: list[dict[str, Any]] = []
    for i, r in enumerate(records):
        first = START + timedelta(minutes=20 * i)
        packets = (24, 23) if r.long else (5, 4)
        rows.append(
            {
                "flow_id": i,
                "conn_id": i,
                "first_seen": first,
                "last_seen": first + (timedelta(seconds=1065) if r.long else timedelta(seconds=8)),
                "ip_proto": 6,
                "client_ip": r.client,
                "client_port": 40000 + i,
                "server_ip": r.server,
                "server_port": r.port,
                "vlan": 0,
                "c2s_packets": packets[0],
                "s2c_packets": packets[1],
                "c2s_bytes": r.up,
                "s2c_bytes": r.down,
                "tcp_flags": 0x1B,
                "end_reason": "fin",
                "source": "export",
            }
        )
    return pa.Table.from_pylist(rows, FLOW_SCHEMA)


def _mining(findings: list[Finding]) -> dict[str, int]:
    return {f.host: f.bytes_total for f in findings if f.activity == Activity.MINING}


ONE = Rec(LISTED)
SHORT = Rec(LISTED, long=False, up=300, down=200)
OTHER_POOL = Rec(UNLISTED, up=5000, down=6000)
ELSEWHERE = Rec(UNLISTED, port=443, long=False, up=70_000, down=900_000)  # not the pool connection
CASES = [
    # (what, records, bytes of the miner's finding)
    ("intel and flow counters claim the same record", [ONE], 9635),
    ("three records of one connection, two detectors each", [ONE, ONE, ONE], 3 * 9635),
    ("flow counters count the short reconnects too", [Rec(UNLISTED), Rec(UNLISTED, long=False)], 2 * 9635),
    ("listed pool with reconnects", [ONE, SHORT, SHORT, ONE], 2 * 9635 + 2 * 500),
    ("two pools, and web traffic that is not mining", [ONE, OTHER_POOL, ELSEWHERE], 9635 + 11000),
]


@pytest.mark.parametrize(("what", "records", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_record_counted_once(what: str, records: list[Rec], expected: int, tmp_path: Path) -> None:
    table = _table(records)
    live = fuse(run_detectors(ScanContext("export", table, {}, INTEL, HomeNetworks())), {})
    assert _mining(live) == {MINER: expected}, what
    # Over a store the same: the rows the filter leaves out are brought back for their bytes.
    pq.write_table(table, tmp_path / "flows.parquet")
    sessions: dict[tuple[str | None, int], MiningSession] = {}
    stored = fuse(list(detect_stored([tmp_path / "flows.parquet"], INTEL, sessions=sessions)), sessions)
    assert _mining(stored) == {MINER: expected}, what


def test_a_real_capture_counts_the_bytes_of_its_mining_connections() -> None:
    """ndpi mining.pcapng: each miner's bytes are those of its pool connections, once;
    coinhive.pcap: the web miner's bytes leave out the resolver conversation."""
    result = scan_paths([NDPI / "mining.pcapng", ZEEK / "coinhive.pcap"], ScanOptions())
    found = {(f.host, f.activity): f.bytes_total for f in result.findings}
    assert found[("147.229.13.222", Activity.MINING)] == 9373 + 19267
    assert found[("192.168.2.148", Activity.MINING)] == 4119 + 5516 + 140929 + 11622
    # 6 connections to authedmine.com's servers; the 9,221-byte DNS flow to 192.168.1.1 is not mining.
    assert found[("10.0.2.15", Activity.WEB_MINER)] == 271 + 271 + 2465 + 1409 + 6236 + 47740
