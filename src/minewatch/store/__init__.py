"""The embedded store: hourly Parquet partitions of flows, findings as Parquet with their
JSON, and a DuckDB database whose views read them. No setup: a directory is a store.

    DIR/flows/date=2026-11-24/hour=18/part-*.parquet  STORED_FLOW_SCHEMA
    DIR/findings/date=2026-11-24/part-*.parquet        WINDOW_SCHEMA: host, activity, times,
                                                       confidence, bytes, the merge columns,
                                                       json (the finding's JSON contract object)
    DIR/minewatch.duckdb                               views: flows, findings, estimates

The layout (Hive-style partitions, atomic files, versions) is `store/layout.py`. Queries
are plain SQL over those views, so the same files serve a cluster engine.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from minewatch.model.addresses import ipv4_numbers
from minewatch.model.findings import Finding
from minewatch.model.schema import FLOW_SCHEMA
from minewatch.model.windows import WINDOW_SCHEMA, WINDOW_VERSION, windows_table
from minewatch.store.layout import (
    LAYOUT,
    findings_folder,
    flow_folder,
    hour_of,
    read_manifest,
    upgrade,
    write_atomically,
)

__all__ = [
    "active_in",
    "ADDRESS_COLUMNS",
    "FINDING_SCHEMA",
    "STORED_FLOW_SCHEMA",
    "STORED_FLOW_VERSION",
    "Store",
    "with_address_numbers",
]

# Beside the text addresses, the store keeps each address a second time: IPv4 as a
# number, IPv6 as text (null for IPv4). Detection over stored flows reads these instead
# of the text columns: numbers decode several times faster than text.
ADDRESS_COLUMNS = (
    pa.field("client_ip4", pa.uint32()),
    pa.field("server_ip4", pa.uint32()),
    pa.field("client_ip6", pa.string()),
    pa.field("server_ip6", pa.string()),
)
STORED_FLOW_SCHEMA = pa.schema([*FLOW_SCHEMA, *ADDRESS_COLUMNS])
# 1: FLOW_SCHEMA and the address columns. Columns are only added; readers take files of
# several versions together (union by name).
STORED_FLOW_VERSION = 2  # 2: sampling_rate


def with_address_numbers(flows: pa.Table) -> pa.Table:
    """FLOW_SCHEMA flows with the store's numeric and IPv6 address columns added."""
    for side in ("client", "server"):
        text = flows[f"{side}_ip"]
        v4 = ipv4_numbers(text)
        flows = flows.append_column(f"{side}_ip4", v4)
        flows = flows.append_column(
            f"{side}_ip6", pc.if_else(pc.is_null(v4), text, pa.scalar(None, pa.string()))
        )
    return flows.select(STORED_FLOW_SCHEMA.names).cast(STORED_FLOW_SCHEMA)


# Findings are kept as window rows: the JSON contract object and the columns merging reads.
FINDING_SCHEMA = WINDOW_SCHEMA


def active_in(since: datetime | None, until: datetime | None) -> str:
    """The SQL predicate of records (flows or findings) active in [since, until): seen
    last at or after `since`, first before `until`. Times are datetimes, never text."""
    bounds = ["true"]
    if since is not None:
        bounds.append(f"last_seen >= TIMESTAMPTZ '{since.isoformat()}'")
    if until is not None:
        bounds.append(f"first_seen < TIMESTAMPTZ '{until.isoformat()}'")
    return " AND ".join(bounds)


def _writer_tag() -> str:
    """This process, in file names: host and pid (several collectors, one store)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", socket.gethostname())[:32] + f"-{os.getpid()}"


class Store:
    def __init__(self, root: Path, memory_limit: str | None = None, tag: str | None = None) -> None:
        """`memory_limit` bounds DuckDB's queries over the store (e.g. "3GB"; past it they
        spill to disk); by default DuckDB takes up to 80% of the machine's memory. `tag`
        names this writer in its files' names (by default host and process id)."""
        self.root = root
        self.memory_limit = memory_limit
        self.tag = tag or _writer_tag()
        self.lock = threading.Lock()
        (root / "flows").mkdir(parents=True, exist_ok=True)
        (root / "findings").mkdir(parents=True, exist_ok=True)
        if read_manifest(root).get("layout") != LAYOUT or any((root / "flows").glob("hour=*")):
            upgrade(root, STORED_FLOW_VERSION, WINDOW_VERSION)

    def write_flows(self, flows: pa.Table) -> list[Path]:
        """Append flow records, one file per hour they start in; the files written."""
        if flows.num_rows == 0:
            return []
        flows = with_address_numbers(flows.cast(FLOW_SCHEMA))
        # Hours since 1970 as integers: formatting every row's time would cost more.
        hours = pc.divide(flows["first_seen"].cast(pa.int64()), 3_600_000_000)
        written = []
        with self.lock:
            for hour in pc.unique(hours).to_pylist():
                part = flows.filter(pc.equal(hours, hour))
                folder = flow_folder(self.root, datetime.fromtimestamp(hour * 3600, UTC))
                # lz4: reading back is what detection waits on (zstd is a third smaller, half as fast).
                written.append(write_atomically(part, folder, self.tag, STORED_FLOW_VERSION))
        return written

    def write_findings(self, findings: Iterable[Finding]) -> int:
        """Append findings (each kept as its JSON contract object beside the columns that
        merging a host's windows reads); returns how many."""
        rows = list(findings)
        if not rows:
            return 0
        now = datetime.now(UTC)
        table = windows_table(rows, now)
        with self.lock:
            write_atomically(table, findings_folder(self.root, now), self.tag, WINDOW_VERSION, "snappy")
        return len(rows)

    def flow_files(self, since: datetime | None = None, until: datetime | None = None) -> list[Path]:
        """The flow files of the hours that overlap [since, until) (a flow is filed by
        the hour it starts in, so one hour before `since` is included: flows that began
        then may still run)."""
        files = []
        for folder in sorted((self.root / "flows").glob("date=*/hour=*")):
            hour = hour_of(folder)
            if hour is None:
                continue
            if since is not None and hour < since.replace(minute=0, second=0, microsecond=0) - timedelta(
                hours=1
            ):
                continue
            if until is not None and hour >= until:
                continue
            files.extend(sorted(folder.glob("part-*.parquet")))
        return files

    @property
    def attribution_dir(self) -> Path:
        """Where `minewatch inventory import` keeps the inventory and its fallbacks."""
        return self.root / "attribution"

    def connect(self) -> duckdb.DuckDBPyConnection:
        """The store's DuckDB database, with its views over the partitions."""
        db = duckdb.connect(str(self.root / "minewatch.duckdb"))
        if self.memory_limit:
            db.execute("SET memory_limit = ?", [self.memory_limit])
        flows = self.root / "flows"
        if any(flows.rglob("*.parquet")):
            db.execute(
                f"CREATE OR REPLACE VIEW flows AS SELECT * FROM read_parquet('{flows}/*/*/part-*.parquet', "
                "hive_partitioning = true, union_by_name = true)"
            )
        findings = self.root / "findings"
        if any(findings.rglob("*.parquet")):
            source = (
                f"read_parquet('{findings}/*/part-*.parquet', hive_partitioning = true, union_by_name = true)"
            )
        else:
            # No findings yet: an empty table of the stored columns, so every query still runs.
            empty = FINDING_SCHEMA.empty_table()
            db.register("empty_arrow", empty)
            db.execute("CREATE OR REPLACE TABLE empty_findings AS SELECT * FROM empty_arrow")
            db.unregister("empty_arrow")
            source = "empty_findings"
        db.execute(f"CREATE OR REPLACE VIEW findings AS SELECT * FROM {source}")
        db.execute(
            "CREATE OR REPLACE VIEW estimates AS SELECT host, first_seen, last_seen, "
            "json->>'$.coin' AS coin, json->>'$.algorithm' AS algorithm, "
            "TRY_CAST(json->>'$.hashrate.value' AS DOUBLE) AS hashrate, json->>'$.hashrate.unit' AS unit, "
            "TRY_CAST(json->>'$.power_w.best' AS DOUBLE) AS power_w, "
            "TRY_CAST(json->>'$.energy_kwh_day' AS DOUBLE) AS energy_kwh_day FROM findings"
        )
        return db

    def findings(self, since: datetime | None = None, until: datetime | None = None) -> list[Finding]:
        """The window findings active in [since, until), oldest first."""
        with self.connect() as db:
            rows = db.execute(
                f"SELECT json FROM findings WHERE {active_in(since, until)} ORDER BY first_seen, host"
            ).fetchall()
        return [Finding.from_json(json.loads(text), where=f"{self.root}/findings") for (text,) in rows]

    def episodes(self, since: datetime | None = None, until: datetime | None = None) -> list[Finding]:
        """One finding per host and activity active in [since, until): its windows merged
        (estimate/episodes.py) by one columnar query over the stored rows."""
        from minewatch.estimate.episodes import episodes_of

        with self.connect() as db:
            found = list(episodes_of(db, f"(SELECT * FROM findings WHERE {active_in(since, until)})"))
        return sorted(found, key=lambda f: (-f.confidence, f.activity, f.host))
