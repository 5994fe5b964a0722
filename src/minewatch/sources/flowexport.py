"""One-way flow-export records (NetFlow, IPFIX, nfdump) to the two-way flow records
analysis reads (RECORD_SCHEMA).

An exporter reports each direction of a connection as its own record. The two are paired
by reversed 5-tuple within one exporter, in start order, so a connection re-exported
every active timeout pairs record by record. Which end is the client is decided, in
order, by: an ephemeral port (>= 32768) against a lower one; a port of 1024 or more
against a system port; the earlier start; the higher port. RFC 5103 biflow records
already carry both directions, with the initiator as source.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from minewatch.model.schema import EXPORT_RECORD_SCHEMA, RECORD_SCHEMA

__all__ = ["END_REASON", "Pairer", "pair_records"]

END_REASON = "export"

_PAIR_SQL = """
WITH r AS (
    SELECT *, (src_ip, src_port) <= (dst_ip, dst_port) AS fwd
    FROM records WHERE rev_packets IS NULL
), k AS (
    SELECT *,
        CASE WHEN fwd THEN src_ip ELSE dst_ip END AS a_ip,
        CASE WHEN fwd THEN src_port ELSE dst_port END AS a_port,
        CASE WHEN fwd THEN dst_ip ELSE src_ip END AS b_ip,
        CASE WHEN fwd THEN dst_port ELSE src_port END AS b_port
    FROM r
), h AS (
    -- One hash for the connection's key: partitioning on it is cheaper than on six
    -- columns; the join below still compares every column.
    SELECT *, hash(exporter, ip_proto, a_ip, a_port, b_ip, b_port) AS key FROM k
), n AS (
    SELECT *, row_number() OVER (PARTITION BY key, fwd ORDER BY first_seen) AS n FROM h
), pairs AS (
    SELECT
        coalesce(x.exporter, y.exporter) AS exporter,
        coalesce(x.ip_proto, y.ip_proto) AS ip_proto,
        coalesce(x.a_ip, y.a_ip) AS a_ip, coalesce(x.a_port, y.a_port) AS a_port,
        coalesce(x.b_ip, y.b_ip) AS b_ip, coalesce(x.b_port, y.b_port) AS b_port,
        x.first_seen AS x_first, y.first_seen AS y_first,
        least(x.first_seen, y.first_seen) AS first_seen,
        greatest(x.last_seen, y.last_seen) AS last_seen,
        coalesce(x.packets, 0) AS ab_packets, coalesce(x.bytes, 0) AS ab_bytes,
        coalesce(y.packets, 0) AS ba_packets, coalesce(y.bytes, 0) AS ba_bytes,
        coalesce(x.tcp_flags, 0) | coalesce(y.tcp_flags, 0) AS tcp_flags,
        -- A lone record that came in the newest batch may yet meet its other half.
        CASE WHEN x.rid IS NULL THEN y.rid WHEN y.rid IS NULL THEN x.rid END AS lone_rid,
        coalesce(x.fresh, y.fresh) AND (x.rid IS NULL OR y.rid IS NULL) AS lone_fresh
    FROM (SELECT * FROM n WHERE fwd) x
    FULL OUTER JOIN (SELECT * FROM n WHERE NOT fwd) y
    ON x.key = y.key AND x.n = y.n AND x.exporter = y.exporter AND x.ip_proto = y.ip_proto
        AND x.a_ip = y.a_ip AND x.a_port = y.a_port AND x.b_ip = y.b_ip AND x.b_port = y.b_port
), oriented AS (
    SELECT *,
        CASE
            WHEN (a_port >= 32768) <> (b_port >= 32768) THEN a_port >= 32768
            WHEN (a_port >= 1024) <> (b_port >= 1024) THEN a_port >= 1024
            WHEN x_first IS NOT NULL AND y_first IS NOT NULL AND x_first <> y_first THEN x_first < y_first
            WHEN a_port <> b_port THEN a_port > b_port
            ELSE x_first IS NOT NULL
        END AS a_client
    FROM pairs
)
SELECT exporter, first_seen, last_seen, ip_proto,
    CASE WHEN a_client THEN a_ip ELSE b_ip END AS client_ip,
    CASE WHEN a_client THEN a_port ELSE b_port END AS client_port,
    CASE WHEN a_client THEN b_ip ELSE a_ip END AS server_ip,
    CASE WHEN a_client THEN b_port ELSE a_port END AS server_port,
    CASE WHEN a_client THEN ab_packets ELSE ba_packets END AS c2s_packets,
    CASE WHEN a_client THEN ba_packets ELSE ab_packets END AS s2c_packets,
    CASE WHEN a_client THEN ab_bytes ELSE ba_bytes END AS c2s_bytes,
    CASE WHEN a_client THEN ba_bytes ELSE ab_bytes END AS s2c_bytes,
    tcp_flags, lone_rid, lone_fresh
FROM oriented
UNION ALL
SELECT exporter, first_seen, last_seen, ip_proto, src_ip, src_port, dst_ip, dst_port,
    packets, rev_packets, bytes, rev_bytes, tcp_flags, NULL, false
FROM records WHERE rev_packets IS NOT NULL
"""


def _pair(records: pa.Table, fresh: pa.Array) -> pa.Table:
    """Paired rows, with `lone_rid` (row of a record still alone) and `lone_fresh`."""
    records = records.select(EXPORT_RECORD_SCHEMA.names).cast(EXPORT_RECORD_SCHEMA)
    records = records.append_column("rid", pa.array(range(records.num_rows), pa.int64()))
    records = records.append_column("fresh", fresh)
    with duckdb.connect() as db:
        db.register("records", records)
        return db.sql(_PAIR_SQL).to_arrow_table()


def pair_records(records: pa.Table, first_conn_id: int = 0) -> pa.Table:
    """Two-way flow records (RECORD_SCHEMA) from one-way export records
    (EXPORT_RECORD_SCHEMA) that are all at hand (a file). Connection ids count up from
    `first_conn_id`."""
    paired = _pair(records, pa.repeat(pa.scalar(False), records.num_rows))
    return to_record_schema(paired, first_conn_id)


class Pairer:
    """Pairing for records that arrive over time (the collector): a record left alone in
    one batch is held for the next, where its other half may come (routers export each
    direction on its own schedule); held once, it goes on alone. At most `max_held`
    records wait."""

    def __init__(self, max_held: int = 1_000_000) -> None:
        self.max_held = max_held
        self.held = EXPORT_RECORD_SCHEMA.empty_table()
        self.next_conn = 0

    def _ids(self, table: pa.Table) -> pa.Table:
        flows = to_record_schema(table, self.next_conn)
        self.next_conn += flows.num_rows
        return flows

    def push(self, records: pa.Table) -> pa.Table:
        """Flow records (RECORD_SCHEMA) ready after this batch of one-way records."""
        records = records.select(EXPORT_RECORD_SCHEMA.names).cast(EXPORT_RECORD_SCHEMA)
        both = pa.concat_tables([self.held, records])
        fresh = pa.array([False] * self.held.num_rows + [True] * records.num_rows)
        paired = _pair(both, fresh)
        wait = paired["lone_fresh"].to_numpy(zero_copy_only=False).astype(bool)
        if wait.sum() > self.max_held:
            wait[:] = False  # more than we may hold: send everything on as it is
        self.held = both.take(paired.filter(pa.array(wait))["lone_rid"])
        return self._ids(paired.filter(pa.array(~wait)))

    def flush(self) -> pa.Table:
        """Everything still held, alone."""
        held, self.held = self.held, EXPORT_RECORD_SCHEMA.empty_table()
        return self._ids(_pair(held, pa.repeat(pa.scalar(False), held.num_rows)))


def to_record_schema(flows: pa.Table, first_conn_id: int = 0) -> pa.Table:
    """A table with some of RECORD_SCHEMA's columns (at least times, 5-tuple and
    counters) completed to all of them: ids counted from `first_conn_id`, the end reason
    "export", and null for what the source cannot know."""
    n = flows.num_rows
    ids = pa.array(range(first_conn_id, first_conn_id + n), pa.uint64())
    given = {"flow_id": ids, "conn_id": ids, "end_reason": pa.repeat(pa.scalar(END_REASON), n)}
    columns = []
    for field in RECORD_SCHEMA:
        if field.name in flows.column_names:
            columns.append(flows[field.name].cast(field.type))
        elif field.name in given:
            columns.append(given[field.name])
        elif field.name == "tcp_flags":
            columns.append(pa.repeat(pa.scalar(0, pa.uint8()), n))
        else:
            columns.append(pa.nulls(n, field.type))
    return pa.Table.from_arrays(columns, schema=RECORD_SCHEMA)
