"""The store's trading-traces dataset (model/traces.py):

    DIR/traces/date=2026-11-24/part-*.parquet   TRACE_SCHEMA, one file per computation

A day's traces are replaced by computing that day again: readers keep, per day, only the
rows of its latest computation (`computed`), and a writer removes the day's older files
after its own is in place (a reader between the two still reads the latest only).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from minewatch.model.traces import TRACE_SCHEMA, TRACE_VERSION
from minewatch.store.layout import write_atomically

__all__ = ["read_traces", "traces_folder", "write_traces"]


def traces_folder(root: Path, day: date) -> Path:
    return root / "traces" / f"date={day:%Y-%m-%d}"


def write_traces(root: Path, traces: pa.Table, tag: str, days: list[date]) -> list[Path]:
    """Write `traces` (TRACE_SCHEMA) as the traces of `days` (the whole UTC days they
    were computed over: a day with no trace now is emptied); the files written."""
    traces = traces.cast(TRACE_SCHEMA)
    written = []
    for day in days:
        part = traces.filter(pc.equal(traces["day"], pa.scalar(day, pa.date32())))
        folder = traces_folder(root, day)
        path = write_atomically(part, folder, tag, TRACE_VERSION, "snappy")
        written.append(path)
        for old in folder.glob("part-*.parquet"):
            if old != path:
                with contextlib.suppress(OSError):  # another reader or writer got there first
                    old.unlink()
    return written


def read_traces(root: Path, since: datetime | None = None, until: datetime | None = None) -> pa.Table:
    """The stored traces of the UTC days that overlap [since, until), each day as its
    latest computation left it."""
    files = sorted((root / "traces").glob("date=*/part-*.parquet"))
    if not files:
        return TRACE_SCHEMA.empty_table()
    bounds = ["true"]
    if since is not None:
        bounds.append(f"day >= DATE '{since.astimezone(UTC).date().isoformat()}'")
    if until is not None:
        last = (until - timedelta(microseconds=1)).astimezone(UTC).date()
        bounds.append(f"day <= DATE '{last.isoformat()}'")
    listed = ", ".join(f"'{p}'" for p in files)
    with duckdb.connect() as db:
        db.execute("SET TimeZone = 'UTC'")
        table = db.sql(
            f"SELECT {', '.join(TRACE_SCHEMA.names)} FROM read_parquet([{listed}], union_by_name = true) "
            f"WHERE {' AND '.join(bounds)} QUALIFY computed = max(computed) OVER (PARTITION BY day) "
            "ORDER BY day, host, site"
        ).to_arrow_table()
    return table.cast(TRACE_SCHEMA)
