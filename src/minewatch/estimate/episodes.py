"""Host episodes: every window's finding of one host and activity, merged into one.

A collector writes a finding per host per window (1,440 a day) and hourly imports one per
file; the bulletin, the summaries and the cases count a host once. An episode sums the
windows' bytes once, spans their first and last sight, merges their evidence with counts
(one reason per kind and peer, or per sentence where there is no peer) and their pools,
and re-estimates the hashrate from all their connections' exposures with the estimator
of a single scan, so N windows of a session give the estimate of the whole session; power,
energy and CO2 follow from that hashrate. Coin, algorithm and their basis come from the
window with the most accepted shares (the latest among equals); the same window stored
twice counts once.

The merge is one columnar query (DuckDB) over window rows (model/windows.py): the store's
files, or an in-memory table of findings. Python then reads one row per host.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from minewatch.estimate.coins import algorithm_info
from minewatch.estimate.hashrate import hashrate_from_exposures
from minewatch.estimate.measure import with_power
from minewatch.estimate.power import DEFAULT_GRID, GridFactor
from minewatch.model.document import attribution_from_json
from minewatch.model.findings import (
    Endpoint,
    Evidence,
    Exposure,
    Finding,
    Shares,
    combined_confidence,
    union_pools,
)
from minewatch.model.windows import evidence_from_row, windows_table

__all__ = ["MAX_EVIDENCE", "consolidate", "episodes_of"]

MAX_EVIDENCE = 12
# Notes that the re-estimate writes again from the merged hashrate.
_REDONE_NOTES = ("hardware ", "power:", "hashrate counts accepted shares only")

# Only the columns merging reads: the JSON text itself is carried for the lead window alone.
_DISTINCT = """
SELECT DISTINCT ON (host, activity, first_seen, last_seen, hash(json))
  host, activity, first_seen, last_seen, confidence, hash(json) AS h, bytes, windows, weight, protocol, agent,
  attribution, hashrate_unit, grid, submitted, accepted, rejected, reported_hs, exposures, pools,
  evidence, logins, notes, sources, timeline
FROM {source}
"""
# Ties (equal weight and time) go to the larger hash of the window's JSON: the same
# episode whatever order the rows come in (DuckDB's threads, a Spark group).
_GROUPS = """
SELECT host, activity, count(*) AS n, sum(windows)::BIGINT AS windows, sum(bytes)::BIGINT AS bytes,
  min(first_seen) AS first_seen, max(last_seen) AS last_seen, max(confidence) AS confidence,
  arg_max(h, (weight, last_seen, h)) AS lead_h,
  arg_max(protocol, (weight, last_seen, h)) FILTER (WHERE protocol IS NOT NULL) AS protocol,
  arg_max(agent, (weight, last_seen, h)) FILTER (WHERE agent IS NOT NULL) AS agent,
  arg_max(attribution, (last_seen, h)) FILTER (WHERE attribution IS NOT NULL) AS attribution,
  arg_max(hashrate_unit, (last_seen, h)) FILTER (WHERE hashrate_unit IS NOT NULL) AS unit,
  arg_max(grid, (last_seen, h)) FILTER (WHERE grid IS NOT NULL) AS grid,
  sum(submitted)::BIGINT AS submitted, sum(accepted)::BIGINT AS accepted, sum(rejected)::BIGINT AS rejected,
  max(reported_hs) AS reported,
  list_distinct(flatten(list(exposures))) AS exposures,
  list_distinct(flatten(list(DISTINCT pools))) AS pools,
  flatten(list(DISTINCT logins)) AS logins,
  flatten(list(DISTINCT notes)) AS notes,
  list_distinct(flatten(list(DISTINCT sources))) AS sources,
  list_distinct(flatten(list(DISTINCT timeline))) AS timeline
FROM w GROUP BY host, activity HAVING count(*) > 1
"""
# DISTINCT: a window stored twice (two runs over the same flows) is one episode.
_SINGLES = """
SELECT DISTINCT json FROM {source}
WHERE (host, activity) IN (SELECT (host, activity) FROM w GROUP BY ALL HAVING count(*) = 1)
"""
# The lead windows' JSON, by the hash the groups chose (a window stored twice is there twice).
_LEADS = (
    "SELECT host, activity, json FROM {source} WHERE (host, activity, hash(json)) IN (SELECT * FROM leads)"
)
_EVIDENCE = """
SELECT host, activity, e.kind AS kind, arg_max(e.detail, (e.strength, e.last_seen)) AS detail,
  max(e.strength) AS strength, min(e.first_seen) AS first_seen, max(e.last_seen) AS last_seen,
  e.peer_ip AS peer_ip, e.peer_port AS peer_port, e.peer_name AS peer_name,
  arg_max(e.protocol, (e.strength, e.last_seen)) AS protocol,
  arg_max(e.coin, (e.strength, e.last_seen)) AS coin,
  arg_max(e.algorithm, (e.strength, e.last_seen)) AS algorithm,
  arg_max(e.source, (e.strength, e.last_seen)) AS source,
  sum(e.bytes)::BIGINT AS bytes, sum(e.count)::BIGINT AS count
FROM (SELECT host, activity, unnest(evidence) AS e FROM w
      WHERE (host, activity) IN (SELECT (host, activity) FROM w GROUP BY ALL HAVING count(*) > 1))
GROUP BY host, activity, e.kind, e.peer_ip, e.peer_port, e.peer_name,
  CASE WHEN e.peer_ip IS NULL THEN e.detail END, CASE WHEN e.peer_ip IS NOT NULL THEN e.protocol END
"""


def consolidate(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per host and activity (an episode), most confident first."""
    rows = list(findings)
    if not rows:
        return []
    db = duckdb.connect()
    db.register("windows", windows_table(rows, datetime.now(UTC)))
    episodes = list(episodes_of(db, "windows"))
    db.close()
    return sorted(episodes, key=lambda f: (-f.confidence, f.activity, f.host))


def episodes_of(db: duckdb.DuckDBPyConnection, source: str) -> Iterator[Finding]:
    """The episodes of the window rows `source` (a table, view or subquery of
    WINDOW_SCHEMA) on the connection `db`, host by host."""
    # The windows, each once, as a common table of every query: DuckDB streams the files
    # through each aggregate (spilling to disk past its memory limit) rather than holding them.
    with_w = f"WITH w AS ({_DISTINCT.format(source=source)}) "
    # Row order is not needed (Python sorts the episodes): DuckDB may then stream and spill.
    db.execute("SET preserve_insertion_order = false")
    for batch in _batches(db, with_w + _SINGLES.format(source=source)):
        for row in batch:
            yield Finding.from_json(json.loads(row["json"]), where="stored finding")
    evidence: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    for batch in _batches(db, with_w + _EVIDENCE):
        for row in batch:
            evidence[(row["host"], row["activity"])].append(evidence_from_row(row))
    groups = db.sql(with_w + _GROUPS).to_arrow_table()
    db.register("leads", groups.select(["host", "activity", "lead_h"]))
    leads = {
        (r["host"], r["activity"]): r["json"] for b in _batches(db, _LEADS.format(source=source)) for r in b
    }
    db.unregister("leads")
    for row in groups.to_pylist():
        key = (row["host"], row["activity"])
        yield _episode(row, leads[key], evidence.pop(key, []))


def _batches(db: duckdb.DuckDBPyConnection, sql: str) -> Iterator[list[dict[str, Any]]]:
    for batch in db.sql(sql).to_arrow_reader(10_000):
        yield pa.Table.from_batches([batch]).to_pylist()


def _episode(row: dict[str, Any], lead_json: str, evidence: list[Evidence]) -> Finding:
    """One host's episode from its merged row, its merged evidence and its lead window."""
    lead = Finding.from_json(json.loads(lead_json), where="stored finding")
    ranked = sorted(evidence, key=lambda e: (-e.strength, -e.count, e.first_seen))
    shares = None if row["submitted"] is None else Shares(row["submitted"], row["accepted"], row["rejected"])
    timeline = sorted((p["ts"], p["value"]) for p in row["timeline"])
    episode = dataclasses.replace(
        lead,
        confidence=max(row["confidence"], combined_confidence(evidence)),
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        evidence=tuple(ranked[:MAX_EVIDENCE]),
        protocol=row["protocol"],
        pools=union_pools(Endpoint(p["ip"], p["port"], p["name"]) for p in row["pools"]),
        logins=tuple(dict.fromkeys(lead.logins + tuple(row["logins"]))),
        agent=row["agent"],
        shares=shares,
        difficulty=timeline[-1][1] if timeline else lead.difficulty,
        difficulty_timeline=tuple(timeline),
        reported_hashrate_hs=row["reported"],
        estimate_notes=tuple(
            n
            for n in dict.fromkeys(lead.estimate_notes + tuple(row["notes"]))
            if not n.startswith(_REDONE_NOTES)
        ),
        bytes_total=int(row["bytes"] or 0),
        sources=tuple(sorted(row["sources"])),
        windows=int(row["windows"] or row["n"]),
        attribution=None
        if row["attribution"] is None
        else attribution_from_json(json.loads(row["attribution"])),
        hashrate=None,
        exposures=(),
        hardware=None,
        power_w=None,
        energy_kwh_day=None,
        energy_kwh_day_bounds=None,
        co2_kg_day=None,
    )
    exposures = [
        Exposure(x["start"], x["end"], x["accepted"], x["exposure"])
        for x in row["exposures"]
        if x["algorithm"] == lead.algorithm
    ]
    return _estimated(episode, exposures, row["unit"], row["grid"])


def _grid(factor: float | None) -> GridFactor:
    """The grid factor the windows were priced with, else the default."""
    if factor is None or math.isclose(factor, DEFAULT_GRID.kg_per_kwh, rel_tol=1e-9):
        return DEFAULT_GRID
    return GridFactor(factor, "the grid factor of the host's window findings")


def _estimated(episode: Finding, exposures: list[Exposure], unit: str | None, grid: float | None) -> Finding:
    """The episode's hashrate from all its windows' exposures, then power and energy."""
    hashrate = hashrate_from_exposures(exposures) if exposures else None
    info = algorithm_info(episode.algorithm)
    if hashrate is None or info is None:
        return episode
    hashrate = dataclasses.replace(hashrate, unit=unit or hashrate.unit)
    notes = list(episode.estimate_notes)
    if episode.shares is not None and episode.shares.rejected:
        notes.append(
            f"hashrate counts accepted shares only; {episode.shares.rejected} rejected shares "
            "would add to the work done"
        )
    kept = tuple(sorted(set(exposures), key=lambda x: (x.start, x.end, x.exposure)))
    priced = dataclasses.replace(episode, hashrate=hashrate, exposures=kept)
    return with_power(priced, info.family, notes, _grid(grid))
