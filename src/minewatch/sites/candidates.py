"""`minewatch sites candidates`: which names the user's hosts reach, worth a `sites check`.

A candidate is a name hosts looked up (DNS), connected to (TLS SNI, HTTP Host, or an
address a DNS answer gave), or that the user listed, with its visiting hosts, their
sectors and units (the inventory), times, flows and bytes, whether a bundled list has it
and whether it is new. Ranked: new names first; names of standing (detect/standing.py:
push, chat and platform services, plus --allow-names) after the rest; then by the hosts'
sector weight (data/sector_weights.csv) and their number. Special-use and local names
(data/ignore_names.csv) are left out.

`ours` lists the addresses inside the inventory that serve names (a connection's server,
or a DNS answer): the sites the user can act on.

New means absent from the store's seen-names table, `DIR/sites/seen.parquet` (columns
name, first_run, last_run, first_seen, last_seen, runs), which every run with a store adds
its names to. IPv6 hosts and addresses are not matched to the inventory (sector unknown).
All of it is SQL in DuckDB: Python handles only the N rows shown.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from minewatch.attribute.inventory import Inventory
from minewatch.datafiles import table_rows
from minewatch.detect.standing import NameStanding
from minewatch.intel.indicators import IndicatorSet, load_bundled
from minewatch.model.attribution import Sector
from minewatch.model.document import rfc3339
from minewatch.sites.check import CheckResult, check
from minewatch.sites.fetch import Fetcher
from minewatch.sites.names import (
    FlowSource,
    attribute_hosts,
    hows,
    load_inventory,
    load_sector_weights,
    open_db,
    suffixes,
)

__all__ = [
    "SEEN_FILE",
    "CandidateCheck",
    "CandidateOptions",
    "CandidateRun",
    "HostedSite",
    "SectorHosts",
    "SiteCandidate",
    "UnitHosts",
    "candidate_url",
    "check_candidates",
    "find_candidates",
]

SEEN_FILE = Path("sites") / "seen.parquet"
_UNITS_SHOWN = 5
_NAMES_SHOWN = 10


@dataclass(frozen=True)
class SectorHosts:
    sector: Sector
    hosts: int


@dataclass(frozen=True)
class UnitHosts:
    unit: str  # the inventory's organisation
    sector: Sector
    region: str  # province / city / county
    hosts: int


def _time(t: datetime | None) -> str | None:
    return rfc3339(t) if t is not None else None


@dataclass(frozen=True)
class SiteCandidate:
    """One name, as the hosts of the period reached it."""

    name: str
    hosts: int  # distinct client addresses
    weighted_hosts: float  # hosts, each weighted by its sector
    flows: int
    bytes: int  # of every flow naming it, lookups included
    first_seen: datetime | None
    last_seen: datetime | None
    seen_as: tuple[str, ...]  # dns, sni, http, resolved
    sectors: tuple[SectorHosts, ...]
    units: tuple[UnitHosts, ...]  # the top units by hosts
    new: bool  # seen in traffic, and in no earlier run of the store
    given: bool  # named with --names
    well_known: bool  # a name of standing (detect/standing.py)
    listed: str | None  # the bundled/updated list's category (pool, exchange, web-miner)
    listed_as: str | None  # the list entry that matched (the name or a parent)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hosts": self.hosts,
            "weighted_hosts": round(self.weighted_hosts, 3),
            "flows": self.flows,
            "bytes": self.bytes,
            "first_seen": _time(self.first_seen),
            "last_seen": _time(self.last_seen),
            "seen_as": list(self.seen_as),
            "sectors": [{"sector": s.sector.value, "hosts": s.hosts} for s in self.sectors],
            "units": [vars(u) | {"sector": u.sector.value} for u in self.units],
            "new": self.new,
            "given": self.given,
            "well_known": self.well_known,
            "listed": self.listed,
            "listed_as": self.listed_as,
        }


@dataclass(frozen=True)
class HostedSite:
    """An address in the inventory that serves names: a site the user can act on."""

    address: str
    names: tuple[str, ...]  # the names seen for it, most hosts first (at most 10)
    hosts: int  # distinct clients that connected to it or were told its address
    flows: int  # connections to it
    lookups: int  # DNS answers that gave it
    bytes: int  # of the connections
    first_seen: datetime | None
    last_seen: datetime | None
    block: str
    unit: str | None
    sector: Sector
    region: str

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k not in ("first_seen", "last_seen")}
        return out | {
            "names": list(self.names),
            "sector": self.sector.value,
            "first_seen": _time(self.first_seen),
            "last_seen": _time(self.last_seen),
        }


@dataclass(frozen=True)
class CandidateRun:
    candidates: tuple[SiteCandidate, ...]  # ranked, at most the limit
    ours: tuple[HostedSite, ...]  # most hosts first, at most the limit
    names: int  # distinct names seen (after the ignore list)
    new_names: int
    ignored_names: int  # special-use and local names left out
    remembered: bool  # whether this run's names went into the seen table

    def to_json(self) -> dict[str, Any]:
        return {
            "names": self.names,
            "new_names": self.new_names,
            "ignored_names": self.ignored_names,
            "remembered": self.remembered,
            "candidates": [c.to_json() for c in self.candidates],
            "ours": [h.to_json() for h in self.ours],
        }


@dataclass(frozen=True)
class CandidateOptions:
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    given: tuple[str, ...] = ()  # --names
    inventory: Inventory | None = None
    seen: Path | None = None  # the seen-names table; None: no history, nothing remembered
    intel: IndicatorSet = field(default_factory=load_bundled)
    standing: NameStanding = field(default_factory=NameStanding)
    memory_limit: str | None = None


def find_candidates(source: FlowSource, options: CandidateOptions) -> CandidateRun:
    """The ranked candidates and our hosted sites of the flows in `source`; with
    `options.seen`, the names of this run are added to that table afterwards."""
    with open_db(source, options.since, options.until, options.memory_limit) as db:
        _prepare(db, options)
        ranked = _ranked(db, options)
        ours = _ours(db, options.limit)
        names, new, ignored = db.execute(
            "SELECT count(*) FILTER (WHERE hosts > 0), count(*) FILTER (WHERE new), "
            "(SELECT count(*) FROM ignored) FROM cand"
        ).fetchone() or (0, 0, 0)
        if options.seen is not None:
            _remember(db, options.seen)
    return CandidateRun(tuple(ranked), tuple(ours), names, new, ignored, options.seen is not None)


def _names_table(db: duckdb.DuckDBPyConnection, table: str, names: list[str]) -> None:
    db.register(f"{table}_arrow", pa.table({"name": pa.array(names, pa.string())}))
    db.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT DISTINCT name FROM {table}_arrow")
    db.unregister(f"{table}_arrow")


def _prepare(db: duckdb.DuckDBPyConnection, options: CandidateOptions) -> None:
    """The tables the queries read: names by host, ignored names, host attribution,
    seen, given and well-known names."""
    load_sector_weights(db)
    load_inventory(db, options.inventory)
    db.execute(
        "CREATE TEMP TABLE name_host AS SELECT name, client_ip, count(*) AS flows, sum(bytes) AS bytes, "
        "min(first_seen) AS first_seen, max(last_seen) AS last_seen, bit_or(how) AS how "
        "FROM name_obs GROUP BY name, client_ip"
    )
    ignore = [r["suffix"] for r in table_rows("minewatch.sites", "ignore_names.csv")]
    _names_table(db, "ignore_suffix", ignore)
    _names_table(db, "standing", sorted(options.standing.names))
    db.execute(f"CREATE TEMP TABLE name_suffix AS {suffixes('name_host')}")
    db.execute(
        "CREATE TEMP TABLE ignored AS SELECT DISTINCT s.name FROM name_suffix s "
        "JOIN ignore_suffix i ON i.name = s.suffix"
    )
    db.execute(
        "CREATE TEMP TABLE known AS SELECT DISTINCT s.name FROM name_suffix s "
        "JOIN standing k ON k.name = s.suffix"
    )
    attribute_hosts(db, "name_host", "host_attr")
    seen = options.seen
    if seen is not None and seen.is_file():
        db.execute(f"CREATE TEMP TABLE seen AS SELECT name FROM read_parquet('{seen}')")
    else:
        db.execute("CREATE TEMP TABLE seen (name VARCHAR)")
    given = [n.strip().rstrip(".").lower() for n in options.given if n.strip()]
    db.register("given_arrow", pa.table({"name": pa.array(given, pa.string())}))
    db.execute("CREATE TEMP TABLE given AS SELECT DISTINCT clean_name(name) AS name FROM given_arrow")
    db.execute(
        "CREATE TEMP TABLE cand AS WITH agg AS ("
        "SELECT n.name, count(*) AS hosts, sum(a.weight) AS weighted, sum(n.flows) AS flows, "
        "sum(n.bytes) AS bytes, min(n.first_seen) AS first_seen, max(n.last_seen) AS last_seen, "
        "bit_or(n.how) AS how FROM name_host n JOIN host_attr a USING (client_ip) "
        "WHERE n.name NOT IN (SELECT name FROM ignored) GROUP BY n.name) "
        "SELECT coalesce(agg.name, g.name) AS name, coalesce(hosts, 0) AS hosts, "
        "coalesce(weighted, 0) AS weighted, coalesce(flows, 0) AS flows, coalesce(bytes, 0) AS bytes, "
        "first_seen, last_seen, coalesce(how, 0) AS how, g.name IS NOT NULL AS given, "
        "agg.name IS NOT NULL AND coalesce(agg.name, g.name) NOT IN (SELECT name FROM seen) AS new, "
        "coalesce(agg.name, g.name) IN (SELECT name FROM known) AS well_known "
        "FROM agg FULL OUTER JOIN given g ON g.name = agg.name"
    )


def _ranked(db: duckdb.DuckDBPyConnection, options: CandidateOptions) -> list[SiteCandidate]:
    db.execute(
        "CREATE TEMP TABLE ranked AS SELECT * FROM cand "
        "ORDER BY new DESC, well_known ASC, weighted DESC, hosts DESC, bytes DESC, name LIMIT ?",
        [options.limit],
    )
    sectors: dict[str, list[SectorHosts]] = defaultdict(list)
    for name, sector, hosts in db.execute(
        "SELECT n.name, a.sector, count(*) AS hosts FROM name_host n JOIN host_attr a USING (client_ip) "
        "WHERE n.name IN (SELECT name FROM ranked) GROUP BY ALL ORDER BY hosts DESC, a.sector"
    ).fetchall():
        sectors[name].append(SectorHosts(Sector(sector), hosts))
    units: dict[str, list[UnitHosts]] = defaultdict(list)
    for name, unit, sector, region, hosts in db.execute(
        "SELECT n.name, a.unit, a.sector, a.region, count(*) AS hosts FROM name_host n "
        "JOIN host_attr a USING (client_ip) WHERE a.unit IS NOT NULL AND n.name IN (SELECT name FROM ranked) "
        "GROUP BY ALL ORDER BY hosts DESC, a.unit"
    ).fetchall():
        if len(units[name]) < _UNITS_SHOWN:
            units[name].append(UnitHosts(unit, Sector(sector), region or "", hosts))
    rows = db.execute(
        "SELECT name, hosts, weighted, flows, bytes, first_seen, last_seen, how, new, given, well_known "
        "FROM ranked ORDER BY new DESC, well_known ASC, weighted DESC, hosts DESC, bytes DESC, name"
    ).fetchall()
    out = []
    for name, hosts, weighted, flows, size, first, last, how, new, given, known in rows:
        hit = options.intel.match_domain(name)
        out.append(
            SiteCandidate(
                name,
                int(hosts),
                float(weighted),
                int(flows),
                int(size),
                first,
                last,
                hows(int(how)),
                tuple(sectors.get(name, ())),
                tuple(units.get(name, ())),
                bool(new),
                bool(given),
                bool(known),
                hit.category.value if hit else None,
                hit.value if hit else None,
            )
        )
    return out


def _ours(db: duckdb.DuckDBPyConnection, limit: int) -> list[HostedSite]:
    """Addresses inside the inventory that served names: connections to them and DNS
    answers that gave them."""
    if not db.execute("SELECT count(*) FROM inventory_blocks").fetchone()[0]:  # type: ignore[index]
        return []
    rows = db.execute(
        "WITH served AS ("
        "SELECT server_ip AS addr, name, client_ip, first_seen, last_seen, bytes, 0 AS lookup "
        "FROM name_obs WHERE how <> 1 "
        "UNION ALL SELECT unnest(answers) AS addr, name, client_ip, first_seen, last_seen, 0, 1 "
        "FROM name_obs WHERE how = 1 AND answers IS NOT NULL), "
        # Each distinct address is matched once; only the rows of matched ones go on.
        "matched AS (SELECT a.addr, arg_max(b.block_id, b.plen) AS block_id "
        "FROM (SELECT addr, ip4(addr) AS n FROM (SELECT DISTINCT addr FROM served)) a "
        "JOIN inventory_blocks b ON a.n BETWEEN b.lo AND b.hi GROUP BY a.addr), "
        "inside AS (SELECT s.* FROM served s JOIN matched USING (addr) "
        "WHERE s.name NOT IN (SELECT name FROM ignored)), "
        "by_name AS (SELECT addr, name, count(DISTINCT client_ip) AS h FROM inside GROUP BY addr, name) "
        "SELECT i.addr, (SELECT list(name ORDER BY h DESC, name) FROM by_name x WHERE x.addr = i.addr), "
        "count(DISTINCT i.client_ip) AS hosts, count(*) FILTER (WHERE lookup = 0) AS flows, "
        "count(*) FILTER (WHERE lookup = 1), sum(i.bytes), min(i.first_seen), max(i.last_seen), "
        "b.cidr, b.organisation, b.sector, b.region "
        "FROM inside i JOIN matched m USING (addr) JOIN inventory_blocks b ON b.block_id = m.block_id "
        "GROUP BY i.addr, b.cidr, b.organisation, b.sector, b.region "
        "ORDER BY hosts DESC, flows DESC, i.addr LIMIT ?",
        [limit],
    ).fetchall()
    return [
        HostedSite(
            addr,
            tuple(names[:_NAMES_SHOWN]),
            int(hosts),
            int(flows),
            int(lookups),
            int(size or 0),
            first,
            last,
            cidr,
            unit,
            Sector(sector),
            region or "",
        )
        for addr, names, hosts, flows, lookups, size, first, last, cidr, unit, sector, region in rows
    ]


def _remember(db: duckdb.DuckDBPyConnection, seen: Path) -> None:
    """Add this run's names (seen in traffic, not ignored) to the seen table, written
    under a temporary name and renamed into place (a reader never sees half a file; of
    two runs at once, the last rename wins and the other's new names come again)."""
    seen.parent.mkdir(parents=True, exist_ok=True)
    now = f"TIMESTAMPTZ '{datetime.now(UTC).isoformat()}'"
    old = f"read_parquet('{seen}')" if seen.is_file() else None
    this = "(SELECT name, first_seen, last_seen FROM cand WHERE hosts > 0)"
    if old is None:
        query = (
            f"SELECT name, {now} AS first_run, {now} AS last_run, first_seen, last_seen, 1 AS runs "
            f"FROM {this}"
        )
    else:
        query = (
            f"SELECT coalesce(o.name, n.name) AS name, coalesce(o.first_run, {now}) AS first_run, "
            f"CASE WHEN n.name IS NULL THEN o.last_run ELSE {now} END AS last_run, "
            "least(o.first_seen, n.first_seen) AS first_seen, "
            "greatest(o.last_seen, n.last_seen) AS last_seen, "
            "coalesce(o.runs, 0) + (n.name IS NOT NULL)::INT AS runs "
            f"FROM {old} o FULL OUTER JOIN {this} n ON n.name = o.name"
        )
    temporary = seen.parent / f".{seen.name}.{uuid.uuid4().hex[:8]}.tmp"
    db.execute(f"COPY ({query} ORDER BY name) TO '{temporary}' (FORMAT parquet)")
    temporary.replace(seen)


@dataclass(frozen=True)
class CandidateCheck:
    """A candidate and what `sites check` made of it."""

    candidate: SiteCandidate
    result: CheckResult

    def to_json(self) -> dict[str, Any]:
        return self.candidate.to_json() | {"check": self.result.to_json()}


def candidate_url(c: SiteCandidate) -> str:
    """Where to fetch a candidate: https, unless it was only ever seen over plain HTTP."""
    plain = "http" in c.seen_as and "sni" not in c.seen_as
    return f"http://{c.name}/" if plain else f"https://{c.name}/"


def check_candidates(
    candidates: tuple[SiteCandidate, ...],
    fetcher: Fetcher,
    top: int,
    url: Callable[[SiteCandidate], str] = candidate_url,
) -> list[CandidateCheck]:
    """`sites check` of the first `top` candidates (one bounded fetch each, as `fetcher`
    bounds it); the result's target is the URL fetched."""
    return [CandidateCheck(c, check(url(c), fetcher)) for c in candidates[:top]]
