"""Evidence as Arrow rows, for a cluster engine (store/spark.py) that detects on its
executors and fuses elsewhere: every field of `Evidence`, the run-local ids fusion reads
(conn_id, flow_id), the place of each piece in its input's run (fusion keeps the first of
equal reasons, so order is part of the value), and the dissected session of its
connection as the store's `mining` struct (detect/mining_column.py), so that fusion gets
the very sessions the detectors saw."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from minewatch.detect.mining_column import session_from_row, session_row
from minewatch.model.findings import Evidence
from minewatch.model.schema import MINING_TYPE
from minewatch.model.windows import evidence_from_row
from minewatch.protocols.base import MiningSession

__all__ = ["EVIDENCE_ROW_SCHEMA", "evidence_from_rows", "evidence_rows"]

SessionKey = tuple[str | None, int]


def _signed(t: pa.DataType) -> pa.DataType:
    """`t` with every unsigned integer widened to a signed one (Spark has none unsigned)."""
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_signed(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(_signed(t.value_type))
    if pa.types.is_unsigned_integer(t):
        return pa.int64()
    return t


# The store's `mining` struct, in types a cluster engine carries.
SESSION_TYPE = _signed(MINING_TYPE)
_TS = pa.timestamp("us", tz="UTC")
EVIDENCE_ROW_SCHEMA = pa.schema(
    [
        pa.field("host", pa.string()),
        pa.field("activity", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("strength", pa.float64()),
        pa.field("detail", pa.string()),
        pa.field("first_seen", _TS),
        pa.field("last_seen", _TS),
        pa.field("peer_ip", pa.string()),
        pa.field("peer_port", pa.int32()),
        pa.field("peer_name", pa.string()),
        pa.field("protocol", pa.string()),
        pa.field("coin", pa.string()),
        pa.field("algorithm", pa.string()),
        # Connection and flow record ids are unsigned 64-bit in the store; signed here
        # (Spark has no unsigned type); the bits are kept.
        pa.field("conn_id", pa.int64()),
        pa.field("source", pa.string()),
        pa.field("flow_id", pa.int64()),
        pa.field("bytes", pa.int64()),
        pa.field("count", pa.int64()),
        # Where the piece came in its input's run: detectors in registry order, each's in its order.
        pa.field("seq", pa.int64()),
        pa.field("session", SESSION_TYPE),
    ]
)


def _signed_id(n: int | None) -> int | None:
    return None if n is None else n - (1 << 64) if n >= 1 << 63 else n


def _unsigned(n: int | None) -> int | None:
    return None if n is None else n + (1 << 64) if n < 0 else n


def evidence_rows(evidence: Sequence[Evidence], sessions: dict[int, MiningSession]) -> pa.Table:
    """One input's evidence, in the order found, with the sessions (by conn_id) of that input."""
    rows = []
    for seq, ev in enumerate(evidence):
        session = sessions.get(ev.conn_id) if ev.conn_id is not None else None
        rows.append(
            {
                **{k: getattr(ev, k) for k in ("host", "strength", "detail", "first_seen", "last_seen")},
                **{k: getattr(ev, k) for k in ("protocol", "coin", "algorithm", "source", "bytes", "count")},
                "activity": ev.activity.value,
                "kind": ev.kind.value,
                "peer_ip": ev.peer.ip if ev.peer else None,
                "peer_port": ev.peer.port if ev.peer else None,
                "peer_name": ev.peer.name if ev.peer else None,
                "conn_id": _signed_id(ev.conn_id),
                "flow_id": _signed_id(ev.flow_id),
                "seq": seq,
                "session": None if session is None else session_row(session),
            }
        )
    return pa.Table.from_pylist(rows, schema=EVIDENCE_ROW_SCHEMA)


def evidence_from_rows(rows: pa.Table) -> tuple[list[Evidence], dict[SessionKey, MiningSession]]:
    """The evidence of `rows` (in their order) and the sessions fusion wants, by (source, conn_id)."""
    evidence, sessions = [], {}
    for r in rows.to_pylist():
        conn = _unsigned(r["conn_id"])
        evidence.append(evidence_from_row(r, conn, _unsigned(r["flow_id"])))
        if r["session"] is not None and conn is not None:
            sessions[(r["source"], conn)] = session_from_row(conn, r["session"])
    return evidence, sessions
