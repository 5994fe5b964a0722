"""The DNS join: a flow to an address that a DNS answer gave for a name carries that name
(`resolved_name`), so a pool known by name is known in flow data too."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Resolutions"]


@dataclass
class Resolutions:
    """Which name resolved to which address, when: from DNS logs, for the flows after."""

    tables: list[pa.Table] = field(default_factory=list)

    def add(self, ts: pa.Array, names: pa.Array, answers: pa.Array) -> None:
        t = pa.table({"ts": ts, "name": names, "answers": answers})
        t = t.filter(pc.and_(pc.is_valid(t["name"]), pc.is_valid(t["answers"])))
        if t.num_rows:
            self.tables.append(t)

    def annotate(self, flows: pa.Table) -> pa.Table:
        """Set `resolved_name` of each flow whose server address was, at or before its
        start, an answer to a DNS query (the latest such)."""
        if not self.tables or flows.num_rows == 0:
            return flows
        dns = pa.concat_tables(self.tables)
        sql = """
            WITH answers AS (
                SELECT ts, lower(rtrim(name, '.')) AS name, unnest(answers) AS ip FROM dns
            ), f AS (SELECT row_number() OVER () AS row, server_ip, first_seen FROM flows)
            SELECT f.row, a.name FROM f ASOF LEFT JOIN answers a
                ON f.server_ip = a.ip AND f.first_seen >= a.ts
            ORDER BY f.row
        """
        import duckdb  # only when there are DNS answers to join: it costs every start-up

        with duckdb.connect() as db:
            db.register("dns", dns)
            db.register("flows", flows.select(["server_ip", "first_seen"]))
            names = db.sql(sql).to_arrow_table()["name"]
        resolved = pc.coalesce(flows["resolved_name"], names.cast(pa.string()))
        return flows.set_column(flows.schema.get_field_index("resolved_name"), "resolved_name", resolved)
