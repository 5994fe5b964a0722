"""Detection over stored flow records (Parquet, FLOW_SCHEMA), at the speed of the scan.

DuckDB reads the files (only the columns the chosen detectors read, on every core) and
keeps the rows some detector could act on (each detector's `store_filter` in
detect/registry.py), with the other records of their connections; the detectors then run
unchanged, in Python, on those rows as Arrow batches, input by input, with the mining
sessions the `mining` column carries. The filter is conservative by construction: each
clause admits a superset of what one detector looks at, and tests/test_flowlogs.py checks
that the filtered and unfiltered runs find the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from minewatch.detect.context import ACTIVE_TIMEOUT, HomeNetworks, ScanContext
from minewatch.detect.mining_column import sessions_in
from minewatch.detect.registry import DETECTORS, Detector, columns_read, run_detectors
from minewatch.detect.standing import NameStanding
from minewatch.intel.indicators import IndicatorSet
from minewatch.model.addresses import ipv4_numbers, ipv4_text
from minewatch.model.findings import Evidence
from minewatch.protocols.base import MiningSession

__all__ = [
    "NUMERIC",
    "by_source",
    "candidate_filter",
    "connection_keys",
    "detect_stored",
    "input_context",
    "with_address_text",
]

BATCH_ROWS = 262_144
# Columns added to stored flows after version 1; a detector reading them copes with null.
_ADDED = ("sampling_rate",)
SessionKey = tuple[str | None, int]


def candidate_filter(
    intel: IndicatorSet, chosen: Sequence[Detector] = DETECTORS, numeric: bool = False
) -> str:
    """SQL over FLOW_SCHEMA (with `numeric`, over the store's address columns): true for
    every row one of `chosen` might turn into evidence (`listed_ips`: columns ip and ip4,
    registered beside it)."""
    return " OR ".join(f"({c})" for det in chosen for c in det.store_filter(intel, numeric))


def connection_keys(numeric: bool) -> list[str]:
    """The columns that name a connection's records: input, client, server address and port."""
    keys = ["source", "server_port"]
    return keys + (
        ["client_ip4", "client_ip6", "server_ip4", "server_ip6"] if numeric else ["client_ip", "server_ip"]
    )


def _query(files: str, columns: list[str], keep: str, where: str | None, numeric: bool) -> str:
    """The candidate rows, with every other record of their connections (client, server
    address and port, input): a detector counts the bytes of all of them, as it does live."""
    keys = connection_keys(numeric)
    same = " AND ".join(f"f.{k} IS NOT DISTINCT FROM c.{k}" for k in keys)
    return f"""
        WITH f AS (
            SELECT {", ".join(columns)} FROM read_parquet([{files}], union_by_name = true)
            WHERE {where or "true"}
        ), c AS (SELECT DISTINCT {", ".join(keys)} FROM f WHERE {keep})
        SELECT f.* FROM f SEMI JOIN c ON {same}
    """


def detect_stored(
    paths: Sequence[Path],
    intel: IndicatorSet,
    home: HomeNetworks | None = None,
    source: str = "store",
    threads: int | None = None,
    where: str | None = None,
    chosen: Sequence[Detector] = DETECTORS,
    sessions: dict[SessionKey, MiningSession] | None = None,
    standing: NameStanding | None = None,
) -> Iterator[Evidence]:
    """Evidence from stored flow files, batch by batch: memory follows the batch, not the
    files. `where` narrows the rows further (SQL over FLOW_SCHEMA, e.g. a time range).
    Each input the rows came from (their `source`, else `source`) is detected on its own,
    as the scan did; the mining sessions its `mining` column carries are rebuilt for the
    dissector evidence and added to `sessions`, keyed as fusion wants them."""
    if not paths:
        return
    home = home or HomeNetworks()
    names = standing or NameStanding()
    ips = pa.array([ind.value for ind in intel if ind.kind == "ip"], pa.string())
    listed = pa.table({"ip": ips, "ip4": ipv4_numbers(ips)})
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    # Files the store wrote have numeric addresses; others (--flows, older stores) text.
    numeric = all(set(pq.read_schema(p).names) >= NUMERIC for p in paths)
    columns = [*columns_read(chosen), "source"]
    # Columns newer than some files (sampling_rate, stored flows version 2) read as null.
    present = set().union(*(pq.read_schema(p).names for p in paths))
    columns = [c if c in present or c not in _ADDED else f"NULL AS {c}" for c in columns]
    if numeric:
        columns = [c for c in columns if c not in ("client_ip", "server_ip")] + sorted(NUMERIC)
    query = _query(files, columns, candidate_filter(intel, chosen, numeric) or "false", where, numeric)
    found = sessions if sessions is not None else {}
    with duckdb.connect() as db:
        if threads is not None:
            db.execute(f"SET threads = {int(threads)}")
        db.register("listed_ips", listed)
        for batch in db.sql(query).to_arrow_reader(BATCH_ROWS):
            if batch.num_rows:
                flows = pa.Table.from_batches([batch])
                if numeric:
                    flows = with_address_text(flows)
                for name, part in by_source(flows, source):
                    ctx = input_context(name, part, intel, home, names)
                    found.update({(name, conn): s for conn, s in ctx.sessions.items()})
                    yield from run_detectors(ctx, chosen)


def input_context(
    name: str, flows: pa.Table, intel: IndicatorSet, home: HomeNetworks, standing: NameStanding
) -> ScanContext:
    """What the detectors are given for one input's candidate rows (FLOW_SCHEMA columns):
    its sessions rebuilt from the `mining` column and when its cut connections began. A
    cluster engine (store/spark.py) builds the same on its executors."""
    found = sessions_in(flows)
    return ScanContext(name, flows, found, intel, home, _started(flows, found), standing)


def _started(flows: pa.Table, sessions: dict[int, MiningSession]) -> dict[int, tuple[datetime, int]]:
    """When each dissected connection began and the bytes of its interim records (those
    the active timeout cut, before the one with its session), as the scan tracks them."""
    if not sessions or "end_reason" not in flows.column_names:
        return {}
    conns = pa.array(list(sessions), pa.uint64())
    interim = pc.and_(
        pc.is_in(flows["conn_id"], value_set=conns), pc.equal(flows["end_reason"], ACTIVE_TIMEOUT)
    )
    grouped = (
        flows.filter(interim)
        .select(["conn_id", "first_seen", "c2s_bytes", "s2c_bytes"])
        .group_by("conn_id", use_threads=False)
        .aggregate([("first_seen", "min"), ("c2s_bytes", "sum"), ("s2c_bytes", "sum")])
        .to_pylist()
    )
    return {r["conn_id"]: (r["first_seen_min"], r["c2s_bytes_sum"] + r["s2c_bytes_sum"]) for r in grouped}


def by_source(flows: pa.Table, default: str) -> Iterator[tuple[str, pa.Table]]:
    """The rows of each input, inputs by name: connection ids count per input, never
    across. (Fusion keeps the first of equal reasons: inputs in a fixed order give the same
    findings whatever order the files were read in, here and on a cluster engine.)"""
    names = sorted(pc.unique(flows["source"]).to_pylist(), key=lambda n: n or default)
    if len(names) == 1:
        yield names[0] or default, flows
        return
    for name in names:
        mask = pc.is_null(flows["source"]) if name is None else pc.equal(flows["source"], name)
        yield name or default, flows.filter(mask)


NUMERIC = {"client_ip4", "server_ip4", "client_ip6", "server_ip6"}


def with_address_text(flows: pa.Table) -> pa.Table:
    """The text addresses detectors read, rebuilt for the candidate rows only."""
    for side in ("client", "server"):
        text = pc.coalesce(ipv4_text(flows[f"{side}_ip4"]), flows[f"{side}_ip6"])
        flows = flows.append_column(f"{side}_ip", text)
    return flows
