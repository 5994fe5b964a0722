"""Column helpers shared by the flow-log readers: text and numbers as Arrow, times as UTC
microseconds, protocol names as numbers, readers as a stream of tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["BLOCK", "TIMESTAMP", "number_column", "protocol_numbers", "tables", "text_column", "utc_micros"]

TIMESTAMP = pa.timestamp("us", tz="UTC")
BLOCK = 16 << 20  # bytes of text per chunk read


def tables(reader: Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
    for batch in reader:
        if batch.num_rows:
            yield pa.Table.from_batches([batch])


def text_column(table: pa.Table, name: str) -> pa.ChunkedArray | pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    return table[name].cast(pa.string())


def number_column(table: pa.Table, name: str, to: pa.DataType | None = None) -> pa.Array:
    to = to or pa.uint64()
    if name not in table.column_names:
        return pa.nulls(table.num_rows, to)
    col = table[name]
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.float64())
    return pc.cast(pc.round(pc.cast(col, pa.float64())), to, safe=False)


def utc_micros(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Seconds since 1970 (number or numeric text) or ISO text, as UTC microseconds."""
    if pa.types.is_timestamp(col.type):
        return pc.cast(col, TIMESTAMP) if col.type.tz else pc.assume_timezone(col, "UTC").cast(TIMESTAMP)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        try:
            col = pc.cast(col, pa.float64())
        except pa.ArrowInvalid:
            return pc.assume_timezone(pc.strptime(col, "%Y-%m-%d %H:%M:%S", "us"), "UTC").cast(TIMESTAMP)
    us = pc.cast(pc.round(pc.multiply(pc.cast(col, pa.float64()), 1e6)), pa.int64())
    return pc.cast(us, TIMESTAMP)


def protocol_numbers(names: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Protocol names (tcp, UDP, ...) or numbers as text, as IP protocol numbers (0 if unknown)."""
    text = pc.utf8_lower(names.cast(pa.string()))
    named = pc.take(pa.array([1, 6, 17], pa.uint8()), pc.index_in(text, pa.array(["icmp", "tcp", "udp"])))
    numeric = pc.if_else(pc.match_substring_regex(text, r"^\d{1,3}$"), text, pa.scalar(None, pa.string()))
    as_number = pc.cast(pc.cast(numeric, pa.int64()), pa.uint8(), safe=False)
    return pc.fill_null(pc.coalesce(named, as_number), pa.scalar(0, pa.uint8()))
