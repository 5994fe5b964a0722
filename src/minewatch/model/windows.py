"""Window findings as an Arrow table: each finding's JSON contract object beside typed
columns of what merging a host's windows reads (estimate/episodes.py), so that millions
of windows consolidate in a columnar engine (DuckDB, or Spark over the same files) and
only one JSON per host is parsed. The store keeps findings in this shape."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from minewatch.model.document import attribution_to_json
from minewatch.model.findings import Activity, Endpoint, Evidence, EvidenceKind, Finding

__all__ = ["WINDOW_SCHEMA", "WINDOW_VERSION", "evidence_from_row", "windows_table"]

# 1: host, activity, times, confidence, recorded, json; 2: bytes and the merge columns.
WINDOW_VERSION = 2
_TS = pa.timestamp("us", tz="UTC")
_EVIDENCE = pa.struct(
    [
        ("kind", pa.string()),
        ("detail", pa.string()),
        ("strength", pa.float64()),
        ("first_seen", _TS),
        ("last_seen", _TS),
        ("peer_ip", pa.string()),
        ("peer_port", pa.int32()),
        ("peer_name", pa.string()),
        ("protocol", pa.string()),
        ("coin", pa.string()),
        ("algorithm", pa.string()),
        ("source", pa.string()),
        ("bytes", pa.int64()),
        ("count", pa.int64()),
    ]
)
WINDOW_SCHEMA = pa.schema(
    [
        pa.field("host", pa.string(), nullable=False),
        pa.field("activity", pa.string(), nullable=False),
        pa.field("first_seen", _TS, nullable=False),
        pa.field("last_seen", _TS, nullable=False),
        pa.field("confidence", pa.float64(), nullable=False),
        pa.field("recorded", _TS, nullable=False),
        pa.field("json", pa.string(), nullable=False),
        pa.field("bytes", pa.int64()),
        pa.field("version", pa.int32()),
        pa.field("windows", pa.int64()),
        # Accepted shares: the window with most of them speaks for the coin.
        pa.field("weight", pa.int64()),
        pa.field("protocol", pa.string()),
        pa.field("agent", pa.string()),
        pa.field("algorithm", pa.string()),
        pa.field("submitted", pa.int64()),
        pa.field("accepted", pa.int64()),
        pa.field("rejected", pa.int64()),
        pa.field("reported_hs", pa.float64()),
        pa.field("hashrate_unit", pa.string()),
        # kg CO2 per kWh the window was priced with (its CO2 over its energy).
        pa.field("grid", pa.float64()),
        pa.field(
            "exposures",
            pa.list_(
                pa.struct(
                    [
                        ("start", _TS),
                        ("end", _TS),
                        ("accepted", pa.int64()),
                        ("exposure", pa.float64()),
                        ("algorithm", pa.string()),
                    ]
                )
            ),
        ),
        pa.field(
            "pools", pa.list_(pa.struct([("ip", pa.string()), ("port", pa.int32()), ("name", pa.string())]))
        ),
        pa.field("evidence", pa.list_(_EVIDENCE)),
        pa.field("logins", pa.list_(pa.string())),
        pa.field("notes", pa.list_(pa.string())),
        pa.field("sources", pa.list_(pa.string())),
        pa.field("timeline", pa.list_(pa.struct([("ts", _TS), ("value", pa.float64())]))),
        pa.field("attribution", pa.string()),
    ]
)


def _row(f: Finding, recorded: datetime) -> dict[str, object]:
    energy, co2 = f.energy_kwh_day_bounds, f.co2_kg_day
    return {
        "host": f.host,
        "activity": f.activity.value,
        "first_seen": f.first_seen,
        "last_seen": f.last_seen,
        "confidence": f.confidence,
        "recorded": recorded,
        "json": json.dumps(f.to_json(), ensure_ascii=False),
        "bytes": f.bytes_total,
        "version": WINDOW_VERSION,
        "windows": f.windows,
        "weight": f.shares.accepted if f.shares else 0,
        "protocol": f.protocol,
        "agent": f.agent,
        "algorithm": f.algorithm,
        "submitted": f.shares.submitted if f.shares else None,
        "accepted": f.shares.accepted if f.shares else None,
        "rejected": f.shares.rejected if f.shares else None,
        "reported_hs": f.reported_hashrate_hs,
        "hashrate_unit": f.hashrate.unit if f.hashrate else None,
        "grid": co2.best / energy.best if co2 and energy and energy.best > 0 else None,
        "exposures": [
            {
                "start": x.start,
                "end": x.end,
                "accepted": x.accepted,
                "exposure": x.exposure,
                "algorithm": f.algorithm,
            }
            for x in (f.exposures if f.hashrate is not None else ())
        ],
        "pools": [{"ip": p.ip, "port": p.port, "name": p.name} for p in f.pools],
        "evidence": [
            {
                "kind": e.kind.value,
                "detail": e.detail,
                "strength": e.strength,
                "first_seen": e.first_seen,
                "last_seen": e.last_seen,
                "peer_ip": e.peer.ip if e.peer else None,
                "peer_port": e.peer.port if e.peer else None,
                "peer_name": e.peer.name if e.peer else None,
                "protocol": e.protocol,
                "coin": e.coin,
                "algorithm": e.algorithm,
                "source": e.source,
                "bytes": e.bytes,
                "count": e.count,
            }
            for e in f.evidence
        ],
        "logins": list(f.logins),
        "notes": list(f.estimate_notes),
        "sources": list(f.sources),
        "timeline": [{"ts": t, "value": d} for t, d in f.difficulty_timeline],
        "attribution": None
        if f.attribution is None
        else json.dumps(attribution_to_json(f.attribution), ensure_ascii=False),
    }


def windows_table(findings: Sequence[Finding], recorded: datetime) -> pa.Table:
    """The findings as rows of WINDOW_SCHEMA, each recorded at `recorded`."""
    return pa.Table.from_pylist([_row(f, recorded) for f in findings], schema=WINDOW_SCHEMA)


def evidence_from_row(
    row: Mapping[str, Any], conn_id: int | None = None, flow_id: int | None = None
) -> Evidence:
    """A piece of evidence from its columns (a window's evidence struct, or an evidence row
    that Spark's executors send back; the latter also know the connection)."""
    peer = None if row["peer_ip"] is None else Endpoint(row["peer_ip"], row["peer_port"], row["peer_name"])
    return Evidence(
        host=row["host"],
        activity=Activity(row["activity"]),
        kind=EvidenceKind(row["kind"]),
        strength=row["strength"],
        detail=row["detail"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        peer=peer,
        protocol=row["protocol"],
        coin=row["coin"],
        algorithm=row["algorithm"],
        conn_id=conn_id,
        flow_id=flow_id,
        source=row["source"],
        bytes=int(row["bytes"]),
        count=int(row["count"]),
    )
