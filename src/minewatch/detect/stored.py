"""Detection over stored flow records (Parquet, FLOW_SCHEMA), at the speed of the scan.

DuckDB reads the files (only COLUMNS_READ, on every core) and keeps the rows some
detector could act on (`candidate_filter`); the detectors then run unchanged, in Python,
on those rows as Arrow batches. The filter is conservative by construction: each clause
admits a superset of what one detector looks at, and tests/test_flowlogs.py checks that
the filtered and unfiltered runs find the same.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from minewatch.detect import detectors
from minewatch.detect.behaviour import MIN_DURATION_S, MIN_FLOW_PACKETS, USUAL_POOL_PORTS
from minewatch.detect.context import HomeNetworks, ScanContext
from minewatch.detect.detectors import COLUMNS_READ, Detector, run_detectors
from minewatch.intel.indicators import IndicatorSet
from minewatch.model.addresses import ipv4_numbers, ipv4_text
from minewatch.model.findings import Evidence

__all__ = ["candidate_filter", "detect_stored"]

BATCH_ROWS = 262_144


def _net_octets(intel: IndicatorSet) -> tuple[list[str], bool]:
    """First octets any listed IPv4 network covers (a cheap, conservative test), and
    whether any IPv6 network is listed."""
    octets: set[int] = set()
    v6 = False
    for ind in intel:
        if ind.kind in ("ip", "domain"):
            continue
        net = ipaddress.ip_network(ind.value, strict=False)
        if net.version == 6:
            v6 = True
            continue
        octets.update(range(int(net.network_address) >> 24, (int(net.broadcast_address) >> 24) + 1))
    return [str(o) for o in sorted(octets)], v6


def _clauses(intel: IndicatorSet, numeric: bool) -> dict[Detector, list[str]]:
    """Per detector, SQL that is true for every row it might turn into evidence.
    `numeric`: over the store's address columns (server_ip4, server_ip6) rather than text."""
    octets, v6 = _net_octets(intel)
    ports = ", ".join(str(p) for p in USUAL_POOL_PORTS)
    if numeric:
        listed = ["server_ip4 IN (SELECT ip4 FROM listed_ips)", "server_ip6 IN (SELECT ip FROM listed_ips)"]
        if octets:  # networks, by first octet
            listed.append(f"server_ip4 >> 24 IN ({', '.join(octets)})")
        if v6:
            listed.append("server_ip6 IS NOT NULL")
    else:
        listed = ["server_ip IN (SELECT ip FROM listed_ips)"]
        if octets:
            listed.append(f"split_part(server_ip, '.', 1) IN ({', '.join(repr(o) for o in octets)})")
        if v6:
            listed.append("contains(server_ip, ':')")
    return {
        detectors.dissected_mining: ["mining IS NOT NULL"],
        detectors.sv2_noise_handshake: ["c2s_first_payload IS NOT NULL"],
        detectors.behaviour_timing: ["c2s_bursts IS NOT NULL"],
        detectors.behaviour_flow_counters: [
            f"ip_proto = 6 AND server_port IN ({ports}) AND c2s_packets >= {MIN_FLOW_PACKETS} "
            f"AND s2c_packets >= {MIN_FLOW_PACKETS} "
            f"AND last_seen - first_seen >= INTERVAL {int(MIN_DURATION_S)} SECOND"
        ],
        detectors.intel_server_name: ["server_name IS NOT NULL"],
        detectors.intel_server_ip: listed,
        detectors.intel_dns_query: ["dns_query IS NOT NULL"],
        detectors.crypto_p2p: ["application IS NOT NULL"],
    }


def _columns(chosen: Sequence[Detector]) -> list[str]:
    """The columns `chosen` read (COLUMNS_READ is all detectors' together)."""
    needs: dict[Detector, tuple[str, ...]] = {
        detectors.dissected_mining: ("mining",),
        detectors.sv2_noise_handshake: ("c2s_first_payload", "s2c_first_payload", "application"),
        detectors.behaviour_timing: (
            "ip_proto",
            "application",
            "mining",
            "c2s_bursts",
            "s2c_bursts",
            "small_answers",
            "c2s_burst_cv",
        ),
        detectors.behaviour_flow_counters: (
            "ip_proto",
            "application",
            "c2s_bursts",
            "c2s_packets",
            "s2c_packets",
        ),
        detectors.intel_server_name: ("sni", "http_host"),
        detectors.intel_server_ip: (),
        detectors.intel_dns_query: ("dns_query",),
        detectors.crypto_p2p: ("application",),
    }
    if any(d not in needs for d in chosen):
        return list(COLUMNS_READ)
    wanted = {c for d in chosen for c in needs[d]}
    return [c for c in COLUMNS_READ if c in wanted or c in detectors.ROW_COLUMNS]


def candidate_filter(
    intel: IndicatorSet, chosen: Sequence[Detector] = detectors.DETECTORS, numeric: bool = False
) -> str:
    """SQL over FLOW_SCHEMA (with `numeric`, over the store's address columns): true for
    every row one of `chosen` might turn into evidence (`listed_ips`: columns ip and ip4,
    registered beside it). A detector without a clause here sees every row."""
    known = _clauses(intel, numeric)
    if any(d not in known for d in chosen):
        return "true"
    return " OR ".join(f"({c})" for d in chosen for c in known[d])


def detect_stored(
    paths: Sequence[Path],
    intel: IndicatorSet,
    home: HomeNetworks | None = None,
    source: str = "store",
    threads: int | None = None,
    where: str | None = None,
    chosen: Sequence[Detector] = detectors.DETECTORS,
) -> Iterator[Evidence]:
    """Evidence from stored flow files, batch by batch: memory follows the batch, not the
    files. `where` narrows the rows further (SQL over FLOW_SCHEMA, e.g. a time range)."""
    if not paths:
        return
    home = home or HomeNetworks()
    ips = pa.array([ind.value for ind in intel if ind.kind == "ip"], pa.string())
    listed = pa.table({"ip": ips, "ip4": ipv4_numbers(ips)})
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    # Files the store wrote have numeric addresses; others (--flows, older stores) text.
    numeric = all(set(pq.read_schema(p).names) >= NUMERIC for p in paths)
    keep = candidate_filter(intel, chosen, numeric)
    condition = keep if where is None else f"({where}) AND ({keep})"
    columns = _columns(chosen)
    if numeric:
        columns = [c for c in columns if c not in ("client_ip", "server_ip")] + sorted(NUMERIC)
    with duckdb.connect() as db:
        if threads is not None:
            db.execute(f"SET threads = {int(threads)}")
        db.register("listed_ips", listed)
        source_sql = f"read_parquet([{files}], union_by_name = true)"
        query = f"SELECT {', '.join(columns)} FROM {source_sql} WHERE {condition}"
        for batch in db.sql(query).to_arrow_reader(BATCH_ROWS):
            if batch.num_rows:
                flows = pa.Table.from_batches([batch])
                if numeric:
                    flows = _with_address_text(flows)
                yield from run_detectors(ScanContext(source, flows, {}, intel, home), tuple(chosen))


NUMERIC = {"client_ip4", "server_ip4", "client_ip6", "server_ip6"}


def _with_address_text(flows: pa.Table) -> pa.Table:
    """The text addresses detectors read, rebuilt for the candidate rows only."""
    for side in ("client", "server"):
        text = pc.coalesce(ipv4_text(flows[f"{side}_ip4"]), flows[f"{side}_ip6"])
        flows = flows.append_column(f"{side}_ip", text)
    return flows
