"""The `mining` column of stored flows (model/schema.py MINING_TYPE) and the dissected
sessions it carries, both ways: a scan writes what dissection found, and detection over
stored flows (an import, a store) rebuilds the very MiningSession values from it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from minewatch.model.schema import MINING_TYPE
from minewatch.protocols.base import MiningSession
from minewatch.protocols.session import BlobShape, ShareRecord

__all__ = ["mining_column", "session_from_row", "session_row", "sessions_in"]


def _us(t: float) -> int:
    # Message times are microseconds / 1e6 (scan.messages_by_conn): rounding gets them back.
    return round(t * 1e6)


def _seconds(t: datetime | None) -> float:
    # timedelta.total_seconds() divides whole microseconds by 1e6: the float scanned.
    return 0.0 if t is None else t.timestamp()


def session_row(s: MiningSession) -> dict[str, object]:
    """One session as a MINING_TYPE value (times in microseconds)."""
    return {
        "protocol": s.protocol,
        "methods": list(s.methods),
        "login": s.logins[0] if s.logins else None,
        "agent": s.agent,
        "algorithm": s.algorithm,
        "jobs": s.jobs,
        "difficulty": [{"ts": _us(t), "value": d} for t, d in s.difficulty],
        "shares_submitted": s.submitted,
        "shares_accepted": s.accepted,
        "shares_rejected": s.rejected,
        "reported_hashrate": s.reported_hashrate,
        "logins": list(s.logins),
        "confidence": s.confidence,
        "server_confirmed": s.server_confirmed,
        "difficulty_unit": s.difficulty_unit,
        "work": [{"ts": _us(t), "value": d} for t, d in s.work],
        "block_bits": s.block_bits,
        "shares": [{"ts": _us(r.ts), "difficulty": r.difficulty, "accepted": r.accepted} for r in s.shares],
        "first_ts": _us(s.first_ts),
        "last_ts": _us(s.last_ts),
        "blob_shapes": [vars(b) for b in s.blob_shapes],
    }


def mining_column(conn_ids: pa.ChunkedArray | pa.Array, sessions: dict[int, MiningSession]) -> pa.Array:
    """The mining struct per flow: built once per session, placed by conn_id (null elsewhere)."""
    if not sessions:
        return pa.nulls(len(conn_ids), MINING_TYPE)
    conns = pa.array(list(sessions), pa.uint64())
    rows = pa.array([session_row(s) for s in sessions.values()], MINING_TYPE)
    return rows.take(pc.index_in(conn_ids, value_set=conns))


def _timeline(points: list[dict[str, Any]] | None) -> tuple[tuple[float, float], ...]:
    return tuple((_seconds(p["ts"]), p["value"]) for p in points or ())


def session_from_row(conn_id: int, m: dict[str, Any]) -> MiningSession:
    """The session a MINING_TYPE value (as a Python dict) carries."""
    logins = m.get("logins")
    if logins is None:  # written before the column carried every login
        logins = [m["login"]] if m.get("login") else []
    shares = tuple(
        ShareRecord(_seconds(r["ts"]), r["difficulty"], r["accepted"]) for r in m.get("shares") or ()
    )
    return MiningSession(
        conn_id=conn_id,
        protocol=m["protocol"],
        # Older rows lack what only a dissector knew: take the cautious one-sided reading.
        confidence=m.get("confidence") or 0.85,
        methods=tuple(m["methods"] or ()),
        logins=tuple(logins),
        agent=m["agent"],
        algorithm=m["algorithm"],
        jobs=m["jobs"] or 0,
        difficulty_unit=m.get("difficulty_unit") or "pool",
        difficulty=_timeline(m["difficulty"]),
        work=_timeline(m.get("work")),
        block_bits=m.get("block_bits"),
        shares=shares,
        reported_hashrate=m["reported_hashrate"],
        first_ts=_seconds(m.get("first_ts")),
        last_ts=_seconds(m.get("last_ts")),
        server_confirmed=bool(m.get("server_confirmed")),
        blob_shapes=tuple(BlobShape(**b) for b in m.get("blob_shapes") or ()),
    )


def sessions_in(flows: pa.Table) -> dict[int, MiningSession]:
    """The sessions the `mining` column of `flows` carries, by connection id (none when
    the table has no such column). Only the few dissected rows are read into Python."""
    if "mining" not in flows.column_names:
        return {}
    rows = flows.filter(pc.is_valid(flows["mining"])).select(["conn_id", "mining"]).to_pylist()
    return {r["conn_id"]: session_from_row(r["conn_id"], r["mining"]) for r in rows}
