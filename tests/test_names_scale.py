"""Candidates and trading traces at province scale: 2 million generated flow records
(50,000 hosts, 20,000 names, a tenth of them DNS lookups), in bounded time, which only
holds if the work is SQL in DuckDB and not a Python loop over rows."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from minewatch.attribute.inventory import Inventory
from minewatch.model.schema import FLOW_SCHEMA
from minewatch.sites.candidates import CandidateOptions, find_candidates
from minewatch.sites.names import FlowSource
from minewatch.trading import TradingSite, compute_traces
from tests.site_flows import START
from tests.test_site_candidates import INVENTORY_CSV

ROWS, HOSTS, NAMES = 2_000_000, 50_000, 20_000
# Generous for a 2-core machine shared with other work; a row loop in Python takes minutes.
BOUND_S = 60.0


def _flows(rng: np.random.Generator) -> pa.Table:
    host = rng.integers(0, HOSTS, ROWS)
    name = np.minimum(rng.zipf(1.3, ROWS) - 1, NAMES - 1)  # a few names very popular
    dns = rng.random(ROWS) < 0.1
    start_us = int(START.timestamp() * 1e6) + rng.integers(0, 86_400_000_000, ROWS)
    clients = pc.binary_join_element_wise(
        "10.1.", pa.array((host // 250).astype(str)), ".", pa.array((host % 250).astype(str)), ""
    )
    names = pc.binary_join_element_wise("n", pa.array(name.astype(str)), ".example.com", "")
    names = pc.if_else(pa.array(name == 7), pa.scalar("www.binance.com"), names)
    nulls = pa.nulls(ROWS, pa.string())
    columns = {
        "flow_id": pa.array(np.arange(ROWS, dtype=np.uint64)),
        "conn_id": pa.array(np.arange(ROWS, dtype=np.uint64)),
        "first_seen": pa.array(start_us, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "last_seen": pa.array(start_us + 30_000_000, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "ip_proto": pa.array(np.where(dns, 17, 6).astype(np.uint8)),
        "client_ip": clients,
        "client_port": pa.array(rng.integers(1024, 65535, ROWS).astype(np.uint16)),
        "server_ip": pa.array(np.where(dns, "8.8.8.8", "203.0.113.5")),
        "server_port": pa.array(np.where(dns, 53, 443).astype(np.uint16)),
        "dns_query": pc.if_else(pa.array(dns), names, nulls),
        "sni": pc.if_else(pa.array(dns), nulls, names),
    }
    for c in ("c2s_packets", "s2c_packets", "c2s_bytes", "s2c_bytes"):
        columns[c] = pa.array(rng.integers(1, 5000, ROWS).astype(np.uint64))
    columns["tcp_flags"] = pa.array(np.zeros(ROWS, np.uint8))
    columns["end_reason"] = pa.array(np.full(ROWS, "idle"))
    fields = [f for f in FLOW_SCHEMA if f.name in columns or f.nullable]
    return pa.table([columns.get(f.name, pa.nulls(ROWS, f.type)) for f in fields], schema=pa.schema(fields))


def test_two_million_flows_in_bounded_time() -> None:
    flows = _flows(np.random.default_rng(18))
    source = FlowSource(table=flows)
    began = time.monotonic()
    run = find_candidates(source, CandidateOptions(inventory=Inventory.load(INVENTORY_CSV), limit=100))
    candidates_s = time.monotonic() - began
    traces = compute_traces(source, [TradingSite("binance.com", "exchange", "test")])
    total_s = time.monotonic() - began
    assert run.names == pc.count_distinct(pc.coalesce(flows["sni"], flows["dns_query"])).as_py()
    assert len(run.candidates) == 100 and run.candidates[0].hosts > 1000
    assert traces.num_rows > 1000 and all(
        n == "www.binance.com" for ns in traces["names"].to_pylist() for n in ns
    )
    assert (
        pc.sum(traces["flows"]).as_py()
        == pc.sum(pc.equal(flows["sni"], "www.binance.com")).as_py()
        + pc.sum(pc.equal(flows["dns_query"], "www.binance.com")).as_py()
    )
    print(f"candidates {candidates_s:.1f} s, candidates + traces {total_s:.1f} s over {ROWS:,} flows")
    assert total_s < BOUND_S
