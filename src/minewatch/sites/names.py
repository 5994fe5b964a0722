"""The names hosts reach, as SQL over a `flows` relation (the store's Parquet files or an
Arrow table of flows read from captures and flow exports), for `sites candidates` and the
trading traces. Everything here runs inside DuckDB: Python sees only aggregates.

One row of `name_obs` is one flow that names a site:
    dns       the flow is a DNS lookup of the name (the asking host is the client)
    sni       a TLS ClientHello named it
    http      an HTTP Host header named it (its port cut off)
    resolved  a connection to an address an earlier DNS answer gave for it

Addresses are matched to the inventory in SQL too: its IPv4 blocks become integer ranges
(`inventory_blocks`) and a host takes its longest matching prefix.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from minewatch.attribute.inventory import Inventory
from minewatch.datafiles import table_rows
from minewatch.model.schema import FLOW_SCHEMA
from minewatch.store import active_in

__all__ = [
    "HOW_BITS",
    "FlowSource",
    "attribute_hosts",
    "hows",
    "suffixes",
    "load_inventory",
    "load_sector_weights",
    "open_db",
]

# The ways a name is seen, as bits so a group's ways combine by bit_or (cheap at scale).
HOW_BITS = {"dns": 1, "sni": 2, "http": 4, "resolved": 8}


def hows(bits: int) -> tuple[str, ...]:
    """The names of the ways set in `bits`."""
    return tuple(name for name, bit in HOW_BITS.items() if bits & bit)


@dataclass(frozen=True)
class FlowSource:
    """Where the flows come from: the store's flow files (of the hours overlapping the
    period) or a table read from inputs."""

    files: tuple[Path, ...] = ()
    table: pa.Table | None = None

    def relation(self, db: duckdb.DuckDBPyConnection) -> str:
        """Register the flows in `db`; the SQL that reads them."""
        if self.table is not None:
            db.register("input_flows", self.table)
            return "input_flows"
        if not self.files:  # a store with no flows yet: no rows, every column
            db.register("input_flows", FLOW_SCHEMA.empty_table())
            return "input_flows"
        listed = ", ".join(f"'{p}'" for p in self.files)
        return f"read_parquet([{listed}], union_by_name = true)"


# A name as the flows give it: lower case, no trailing dot, no port; NULL when it is an
# address literal, a single label, or a service name (a label starting with "_", as DNS-SD
# and SRV lookups use: RFC 6763, RFC 2782): not a site anyone can fetch by name.
_CLEAN = (
    "CREATE OR REPLACE MACRO clean_name(n) AS ("
    " WITH c AS (SELECT regexp_replace(rtrim(lower(trim(n)), '.'), ':[0-9]+$', '') AS v)"
    " SELECT CASE WHEN v IS NULL OR NOT contains(v, '.') OR regexp_full_match(v, '[0-9.]+')"
    " OR contains(v, ':') OR contains(v, ' ') OR starts_with(v, '_') OR contains(v, '._')"
    " OR length(v) > 253 THEN NULL ELSE v END FROM c)"
)
# IPv4 text as an integer (NULL for anything else), for range joins with the inventory.
_IP4 = (
    "CREATE OR REPLACE MACRO ip4(t) AS CASE WHEN regexp_full_match(t, '[0-9]{1,3}(\\.[0-9]{1,3}){3}') THEN "
    "(split_part(t, '.', 1)::UBIGINT << 24) + (split_part(t, '.', 2)::UBIGINT << 16) + "
    "(split_part(t, '.', 3)::UBIGINT << 8) + split_part(t, '.', 4)::UBIGINT END"
)


def open_db(
    source: FlowSource,
    since: datetime | None = None,
    until: datetime | None = None,
    memory_limit: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the views `flows` (active in [since, until)) and
    `name_obs` (one row per flow that names a site: client_ip, server_ip, name, how,
    first_seen, last_seen, bytes)."""
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")  # days and hours of traces are UTC
    if memory_limit:
        db.execute("SET memory_limit = ?", [memory_limit])
    db.execute(_CLEAN)
    db.execute(_IP4)
    relation = source.relation(db)
    db.execute(f"CREATE OR REPLACE VIEW flows AS SELECT * FROM {relation} WHERE {active_in(since, until)}")
    bits = HOW_BITS
    db.execute(
        "CREATE OR REPLACE VIEW name_obs AS "
        f"SELECT client_ip, server_ip, clean_name(dns_query) AS name, {bits['dns']} AS how, "
        "first_seen, last_seen, (c2s_bytes + s2c_bytes)::UBIGINT AS bytes, dns_answers AS answers "
        "FROM flows WHERE dns_query IS NOT NULL AND clean_name(dns_query) IS NOT NULL "
        "UNION ALL "
        "SELECT client_ip, server_ip, clean_name(coalesce(sni, http_host, resolved_name)) AS name, "
        f"CASE WHEN sni IS NOT NULL THEN {bits['sni']} WHEN http_host IS NOT NULL THEN {bits['http']} "
        f"ELSE {bits['resolved']} END AS how, first_seen, last_seen, (c2s_bytes + s2c_bytes)::UBIGINT, NULL "
        "FROM flows WHERE dns_query IS NULL "
        "AND clean_name(coalesce(sni, http_host, resolved_name)) IS NOT NULL"
    )
    return db


def load_inventory(db: duckdb.DuckDBPyConnection, inventory: Inventory | None) -> int:
    """Make the table `inventory_blocks` (block_id, lo, hi, plen, cidr, organisation,
    sector, region) of the inventory's IPv4 blocks, each with the sector and place
    attribute/ decides for it (one decision per block, not per address); the count."""
    rows: list[dict[str, object]] = []
    for key in inventory.trie if inventory is not None else ():
        net = ipaddress.ip_network(key)
        if net.version != 4 or inventory is None:
            continue  # IPv6 hosts stay unattributed here (documented in sites/candidates.py)
        a = inventory.attribute(str(net.network_address))
        rows.append(
            {
                "block_id": len(rows),
                "lo": int(net.network_address),
                "hi": int(net.broadcast_address),
                "plen": net.prefixlen,
                "cidr": str(net),
                "organisation": a.organisation if a else None,
                "sector": a.sector.value if a else "unknown",
                "region": " / ".join(a.region) if a else "",
            }
        )
    schema = pa.schema(
        [
            ("block_id", pa.int64()),
            ("lo", pa.uint64()),
            ("hi", pa.uint64()),
            ("plen", pa.int32()),
            ("cidr", pa.string()),
            ("organisation", pa.string()),
            ("sector", pa.string()),
            ("region", pa.string()),
        ]
    )
    db.register("inventory_arrow", pa.Table.from_pylist(rows, schema))
    db.execute("CREATE OR REPLACE TABLE inventory_blocks AS SELECT * FROM inventory_arrow")
    db.unregister("inventory_arrow")
    return len(rows)


def load_sector_weights(db: duckdb.DuckDBPyConnection) -> None:
    """The table `sector_weights` (sector, weight) of data/sector_weights.csv."""
    rows = [(r["sector"], float(r["weight"])) for r in table_rows("minewatch.sites", "sector_weights.csv")]
    db.execute("CREATE OR REPLACE TABLE sector_weights (sector VARCHAR, weight DOUBLE)")
    db.executemany("INSERT INTO sector_weights VALUES (?, ?)", rows)


def attribute_hosts(db: duckdb.DuckDBPyConnection, hosts: str, into: str) -> None:
    """Make table `into` (client_ip, sector, unit, region, weight) for the distinct
    addresses of the SQL relation `hosts` (one column client_ip): their longest
    inventory prefix, or sector unknown."""
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE {into} AS "
        f"WITH h AS (SELECT DISTINCT client_ip, ip4(client_ip) AS n FROM {hosts}), "
        "best AS (SELECT h.client_ip, arg_max(b.block_id, b.plen) AS block_id "
        "FROM h JOIN inventory_blocks b ON h.n BETWEEN b.lo AND b.hi GROUP BY h.client_ip) "
        "SELECT h.client_ip, coalesce(b.sector, 'unknown') AS sector, b.organisation AS unit, "
        "b.region, coalesce(w.weight, 1.0) AS weight FROM h "
        "LEFT JOIN best USING (client_ip) LEFT JOIN inventory_blocks b USING (block_id) "
        "LEFT JOIN sector_weights w ON w.sector = coalesce(b.sector, 'unknown')"
    )


def suffixes(names: str) -> str:
    """SQL: (name, suffix) for each distinct name of the relation `names` (column name)
    and each of its label-wise suffixes, itself included (a.b.c: a.b.c, b.c, c)."""
    return (
        "SELECT name, array_to_string(labels[i:], '.') AS suffix FROM ("
        "SELECT name, labels, unnest(generate_series(1, len(labels))) AS i FROM ("
        f"SELECT DISTINCT name, string_split(name, '.') AS labels FROM {names}))"
    )
