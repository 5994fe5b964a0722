"""One-way flow-export records (NetFlow, IPFIX, nfdump) to the two-way flow records
analysis reads (RECORD_SCHEMA). The pairing itself is the engine's (engine/src/pairing.rs):
by reversed 5-tuple within one exporter, first with first; the client is the end with the
ephemeral port, else the later system port, else the earlier start, else the higher port.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.model.schema import EXPORT_RECORD_SCHEMA, RECORD_SCHEMA, SAMPLING_RATE

__all__ = [
    "END_REASON",
    "ONE_WAY_COUNTS",
    "TWO_WAY_COUNTS",
    "Pairer",
    "assume_rate",
    "pair_records",
    "to_record_schema",
    "with_sampling_rate",
]

END_REASON = "export"


class Pairer:
    """Pairing for records that arrive over time (the collector, a file read in chunks):
    a record left alone in one batch is held for the next, where its other half may come
    (routers export each direction on its own schedule); held once, it goes on alone. At
    most `max_held` records wait. Connection ids count on from one call to the next."""

    def __init__(self, max_held: int = 1_000_000) -> None:
        self._engine = _engine.Pairer(max_held)
        self.next_conn = 0

    @property
    def held(self) -> int:
        return int(self._engine.held)

    def _ids(self, paired: pa.RecordBatch) -> pa.Table:
        flows = to_record_schema(pa.Table.from_batches([paired]), self.next_conn)
        self.next_conn += flows.num_rows
        return flows

    def push(self, records: pa.Table) -> pa.Table:
        """Flow records (RECORD_SCHEMA) ready after this table of one-way records
        (EXPORT_RECORD_SCHEMA; without `sampling_rate`, unsampled)."""
        records = with_sampling_rate(records)
        records = records.select(EXPORT_RECORD_SCHEMA.names).cast(EXPORT_RECORD_SCHEMA).combine_chunks()
        batches = records.to_batches() or [pa.RecordBatch.from_pylist([], schema=EXPORT_RECORD_SCHEMA)]
        return pa.concat_tables([self._ids(self._engine.push(b)) for b in batches])

    def flush(self) -> pa.Table:
        """Everything still held, alone."""
        return self._ids(self._engine.flush())


def with_sampling_rate(records: pa.Table, rate: float = 1.0) -> pa.Table:
    """`records` with a `sampling_rate` column: theirs, else `rate` for every row."""
    if SAMPLING_RATE.name in records.column_names:
        return records
    return records.append_column(SAMPLING_RATE, pa.repeat(pa.scalar(rate, pa.float64()), records.num_rows))


ONE_WAY_COUNTS = ("packets", "bytes", "rev_packets", "rev_bytes")
TWO_WAY_COUNTS = ("c2s_packets", "s2c_packets", "c2s_bytes", "s2c_bytes")
# The largest float64 below 2**64; at 2**64 and above a scaled count saturates at the
# largest uint64, as the engine's `scale` does.
_BELOW_2_64 = pa.scalar(float(2**64 - 2048), pa.float64())
_2_64 = pa.scalar(2.0**64, pa.float64())
_MAX_U64 = pa.scalar(2**64 - 1, pa.uint64())


def assume_rate(records: pa.Table, rate: int, counts: tuple[str, ...] = ONE_WAY_COUNTS) -> pa.Table:
    """Records of a flow log as sampled 1 in `rate` where they say no rate themselves (no
    `sampling_rate` column, or null in it; `--sampling-rate`): their `counts` scaled by it,
    rounded and saturating as the engine scales announced rates, and the rate kept. Rows
    with a rate keep theirs and their counts. Counts that are not whole numbers of at
    least 0 raise ArrowInvalid, as they would unscaled."""
    n = records.num_rows
    named = SAMPLING_RATE.name in records.column_names
    given = pc.cast(records[SAMPLING_RATE.name], pa.float64()) if named else pa.nulls(n, pa.float64())
    unknown = pc.is_null(given)
    if rate > 1 and pc.any(unknown).as_py():
        factor = pa.scalar(float(rate), pa.float64())
        for name in counts:
            if name not in records.column_names:
                continue
            exact = pc.cast(records[name], pa.uint64())  # checked: a bad count is an error
            # Counts beyond 2**53 lose precision as floats, as in the engine: an estimate.
            scaled = pc.round(pc.multiply(pc.cast(exact, pa.float64(), safe=False), factor))
            below = pc.min_element_wise(scaled, _BELOW_2_64, skip_nulls=False)
            capped = pc.cast(below, pa.uint64(), safe=False)
            saturated = pc.if_else(pc.greater_equal(scaled, _2_64), _MAX_U64, capped)
            column = pc.if_else(unknown, saturated, exact)
            records = records.set_column(records.schema.get_field_index(name), name, column)
    rates = pc.fill_null(given, float(rate))
    if named:
        return records.set_column(records.schema.get_field_index(SAMPLING_RATE.name), SAMPLING_RATE, rates)
    return records.append_column(SAMPLING_RATE, rates)


def pair_records(records: pa.Table, first_conn_id: int = 0) -> pa.Table:
    """Two-way flow records from one-way records that are all at hand (nothing held)."""
    pairer = Pairer(max_held=0)
    pairer.next_conn = first_conn_id
    return pairer.push(records)


def to_record_schema(flows: pa.Table, first_conn_id: int = 0) -> pa.Table:
    """A table with some of RECORD_SCHEMA's columns (at least times, 5-tuple and
    counters) completed to all of them: ids counted from `first_conn_id`, the end reason
    "export", a sampling rate of 1 (a source that sampled says so in its own column), no
    packets or bytes in a direction it has no counts for, and null for what the source
    cannot know."""
    n = flows.num_rows
    ids = pa.array(range(first_conn_id, first_conn_id + n), pa.uint64())
    given = {
        "flow_id": ids,
        "conn_id": ids,
        "end_reason": pa.repeat(pa.scalar(END_REASON), n),
        SAMPLING_RATE.name: pa.repeat(pa.scalar(1.0), n),
    }
    columns = []
    for field in RECORD_SCHEMA:
        if field.name in flows.column_names:
            columns.append(flows[field.name].cast(field.type))
        elif field.name in given:
            columns.append(given[field.name])
        elif field.name == "tcp_flags" or field.name in TWO_WAY_COUNTS:
            # A log without them (one direction only, no flags) counts none.
            columns.append(pa.repeat(pa.scalar(0, field.type), n))
        else:
            columns.append(_nulls(field.type, n))
    return pa.Table.from_arrays(columns, schema=RECORD_SCHEMA)


_NULLS: dict[pa.DataType, pa.Array] = {}


def _nulls(kind: pa.DataType, n: int) -> pa.Array:
    """A column of n nulls, sliced from one kept per type: a flow export leaves some
    thirty columns empty, and fresh zeroed buffers for each batch cost more than the rest
    of the conversion."""
    held = _NULLS.get(kind)
    if held is None or len(held) < n:
        held = _NULLS[kind] = pa.nulls(max(n, 2 * len(held) if held is not None else n), kind)
    return held.slice(0, n)
