"""Trading traces: per host, UTC day and trading site (an exchange or OTC desk), what the
host's flows to that site were: the names, volume, visits and hours. Never mining: no
hashrate, no power, not a finding; the bulletin shows them in a section of their own.

Stored as the store's `traces/date=YYYY-MM-DD/` dataset, TRACE_SCHEMA (version
TRACE_VERSION in each file's metadata, as flows and findings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from minewatch.model.document import rfc3339

__all__ = ["HOURS", "TRACE_SCHEMA", "TRACE_VERSION", "TradingTrace"]

_TS = pa.timestamp("us", tz="UTC")
HOURS = 24
TRACE_VERSION = 1
TRACE_SCHEMA = pa.schema(
    [
        pa.field("host", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),  # UTC
        pa.field("site", pa.string(), nullable=False),  # the listed or checked name matched
        pa.field("category", pa.string(), nullable=False),  # exchange or otc
        pa.field("basis", pa.string(), nullable=False),  # where the site's class comes from
        pa.field("names", pa.list_(pa.string()), nullable=False),  # names seen under it (<= 10)
        pa.field("seen_as", pa.list_(pa.string()), nullable=False),  # dns, sni, http, resolved
        pa.field("flows", pa.uint64(), nullable=False),
        pa.field("bytes", pa.uint64(), nullable=False),
        pa.field("sessions", pa.uint32(), nullable=False),  # visits: flows with no gap over 30 min
        pa.field("first_seen", _TS, nullable=False),
        pa.field("last_seen", _TS, nullable=False),
        pa.field("hours", pa.list_(pa.uint32()), nullable=False),  # flows begun in each UTC hour
        pa.field("computed", _TS, nullable=False),  # when: a day's latest computation counts
    ]
)


@dataclass(frozen=True)
class TradingTrace:
    """One host's traffic to one trading site on one UTC day."""

    host: str
    day: date
    site: str
    category: str
    basis: str
    names: tuple[str, ...]
    seen_as: tuple[str, ...]
    flows: int
    bytes: int
    sessions: int
    first_seen: datetime
    last_seen: datetime
    hours: tuple[int, ...]  # HOURS bins, UTC

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TradingTrace:
        """A trace from a TRACE_SCHEMA row (as `Table.to_pylist` gives it)."""
        return cls(
            row["host"],
            row["day"],
            row["site"],
            row["category"],
            row["basis"],
            tuple(row["names"]),
            tuple(row["seen_as"]),
            int(row["flows"]),
            int(row["bytes"]),
            int(row["sessions"]),
            row["first_seen"],
            row["last_seen"],
            tuple(int(h) for h in row["hours"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "day": self.day.isoformat(),
            "site": self.site,
            "category": self.category,
            "basis": self.basis,
            "names": list(self.names),
            "seen_as": list(self.seen_as),
            "flows": self.flows,
            "bytes": self.bytes,
            "sessions": self.sessions,
            "first_seen": rfc3339(self.first_seen),
            "last_seen": rfc3339(self.last_seen),
            "hours": list(self.hours),
        }
