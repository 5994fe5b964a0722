"""Detection on Apache Spark over the store: the detectors `detect` runs on DuckDB
(detect/stored.py), run unchanged on Spark executors, for stores one machine outgrows.

    flows  DIR/flows/date=/hour=/part-*.parquet (Spark's partition discovery, basePath)
      -> the rows some detector may act on (the registry's `store_filter` SQL, which Spark
         SQL runs as DuckDB does, `spark_sql`), with every other record of their connections
         (`candidates`): when the candidate connections are few (a carrier's NetFlow), their
         keys are broadcast to every executor and only their records leave the scan; when
         they are many (every row of an nDPI-labelled store may be one), every row leaves
         with its candidate flag and the executors keep each input's candidate connections
         (`_connections_of`), so the records are shuffled once, not twice
      -> groupBy(bucket of source).applyInArrow: a bucket's rows as an Arrow table, split
         into its inputs, the detectors run on each as on DuckDB's batches; evidence rows out
         (detect/evidence_rows.py)
      -> groupBy(bucket of host).applyInArrow: `fuse` on the evidence of a bucket of hosts.
         Fusion groups evidence by host and activity and nothing else, so fusing each bucket
         apart on the executors gives the findings the driver would; only those findings
         (one JSON each) come back to the driver.

A bucket is pmod(hash(key), the shuffle partitions): one Python call per bucket, not per
input or host (a call costs milliseconds; a store has thousands of hosts). A host may be
seen by several inputs (routers), so fusion cannot run inside the detection groups.

Episodes (`episodes`) group the stored window rows by host and activity in Spark and merge
each group with `episodes_of`, the very query `Store.episodes` runs: the same figures, and
one host's windows (at most thousands) are what one executor holds.

`follow` is the same detection as a Structured Streaming job: a file source on
DIR/flows (closed `part-*.parquet` files, a bounded number per micro-batch), each
micro-batch detected as above in `foreachBatch`, its findings written by the driver, the
progress checkpointed in DIR/checkpoints/spark-follow. A connection whose records land in
two micro-batches is seen in each apart, as by any detection over a part of the store.

PySpark is the optional extra `minewatch[spark]`: it is imported only here, on first use.
On a cluster, every node needs minewatch installed (with the same Python) on its executors.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from minewatch.detect.context import HomeNetworks
from minewatch.detect.registry import DETECTORS, by_name, columns_read, run_detectors
from minewatch.detect.standing import NameStanding
from minewatch.detect.stored import (
    NUMERIC,
    by_source,
    candidate_filter,
    connection_keys,
    input_context,
    with_address_text,
)
from minewatch.errors import UsageError
from minewatch.intel.indicators import IndicatorSet
from minewatch.model.addresses import ipv4_numbers
from minewatch.model.findings import Finding
from minewatch.model.windows import WINDOW_SCHEMA
from minewatch.store import STORED_FLOW_SCHEMA, active_in

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "MISSING",
    "DetectJob",
    "candidates",
    "detect",
    "episodes",
    "findings_of",
    "flow_schema",
    "follow",
    "read_flows",
    "session",
    "spark_sql",
]

LOCAL = "local[2]"
MISSING = "the Spark engine needs PySpark and Java 17: pip install 'minewatch[spark]'"
_FOUND = "host string, activity string, json string"
# Candidate connections up to this many go to every executor as a broadcast (about 60 bytes
# each); beyond, the executors pick them out of their inputs' rows.
BROADCAST_KEYS = 500_000
# Beyond them, when at least this share of the rows are candidates, every row goes to the
# executors with its flag (one shuffle); below it, a shuffle join sends on only the
# candidate connections' records (the rows shuffled twice, but Python sees few).
FLAGGED_SHARE = 0.25
ARROW_BATCH_ROWS = 1_000
# Groups of one Python call (detection by input, fusion by host), as the shuffle partitions.
BUCKETS = 64


def session(master: str | None = None, app: str = "minewatch") -> SparkSession:
    """A Spark session on `master` (spark://HOST:7077, local[N]; default local[2]), in UTC."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("--engine spark", MISSING) from None
    master = master or LOCAL
    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
        # The executors' Python is the driver's (the same install on every node).
        .config("spark.pyspark.python", sys.executable)
        .config("spark.sql.shuffle.partitions", str(BUCKETS))
        # Measured (bench/RESULTS.md): Spark's Arrow writer takes super-linear time in the
        # rows of a batch for the nested `mining` column, null or not; at Spark's default
        # of 10,000 rows a batch it was 3 times slower than at 1,000.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
    )
    if master.startswith("local") or "://127." in master or "://localhost" in master:
        # A cluster on this machine: everything on loopback, and the executors import
        # minewatch from where the driver does (a source checkout included).
        package = str(Path(__file__).resolve().parents[2])
        # Read by the JVM this process starts: its services bind to loopback, not the LAN.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.executorEnv.PYTHONPATH", os.pathsep.join([package, *sys.path[1:]]))
        )
    with _quiet():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """PySpark 4 warns, when it starts and at each Arrow function, that it has not yet
    been tested with pandas 3 (which minewatch does not use)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def spark_sql(duckdb_sql: str) -> str:
    """A predicate of the store's DuckDB SQL (registry filters, `active_in`) as Spark SQL:
    the two share every construct used but the zoned timestamp literal."""
    return duckdb_sql.replace("TIMESTAMPTZ '", "TIMESTAMP '")


def _hours(since: datetime | None, until: datetime | None) -> str:
    """The flow partitions `Store.flow_files` reads for [since, until), as a predicate on
    the partition columns (so Spark lists only those folders)."""
    hour = "timestamp_seconds(unix_date(date) * 86400 + hour * 3600)"
    bounds = ["true"]
    if since is not None:
        first = since.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        bounds.append(f"{hour} >= TIMESTAMP '{first.isoformat()}'")
    if until is not None:
        bounds.append(f"{hour} < TIMESTAMP '{until.isoformat()}'")
    return " AND ".join(bounds)


def read_flows(spark: SparkSession, root: Path | str) -> DataFrame:
    """The store's flow records with their `date` and `hour` partition columns: closed
    files only (`part-*.parquet`; a file being written has a temporary name)."""
    folder = f"{root}/flows"
    return (
        spark.read.option("basePath", folder)
        .option("pathGlobFilter", "part-*.parquet")
        .option("mergeSchema", "true")
        .parquet(folder)
    )


@dataclass(frozen=True)
class DetectJob:
    """What the executors need to detect: the detectors (by name), indicators, home
    networks, names of standing, the input name for rows without one, and whether the
    rows carry the store's numeric addresses."""

    intel: IndicatorSet
    home: HomeNetworks
    standing: NameStanding
    default_source: str
    detectors: tuple[str, ...] = tuple(d.name for d in DETECTORS)
    numeric: bool = True


def _register_listed(spark: SparkSession, intel: IndicatorSet) -> None:
    ips = pa.array([ind.value for ind in intel if ind.kind == "ip"], pa.string())
    rows = list(zip(ips.to_pylist(), ipv4_numbers(ips).to_pylist(), strict=True))
    listed = spark.createDataFrame(rows, "ip string, ip4 bigint")
    # Broadcast: Spark does not know this list is small, and would otherwise shuffle every
    # record twice to test `server_ip4 IN (SELECT ip4 FROM listed_ips)` and its IPv6 twin.
    listed.hint("broadcast").createOrReplaceTempView("listed_ips")


def candidates(flows: DataFrame, job: DetectJob, where: str | None = None) -> DataFrame:
    """The rows some chosen detector may act on, with every other record of their
    connections, in the columns the detectors read. When the candidate connections are
    more than BROADCAST_KEYS and their rows at least FLAGGED_SHARE of all, every row
    instead, with a boolean column `keep` (the candidate filter), for the executors to
    select (`_connections_of`)."""
    spark = flows.sparkSession
    chosen = by_name(*job.detectors)
    columns = [*columns_read(chosen), "source"]
    if job.numeric:
        columns = [c for c in columns if c not in ("client_ip", "server_ip")] + sorted(NUMERIC)
    _register_listed(spark, job.intel)
    flows.where(spark_sql(where or "true")).select(*columns).createOrReplaceTempView("minewatch_f")
    keep = spark_sql(candidate_filter(job.intel, chosen, job.numeric) or "false")
    flagged = spark.sql(f"SELECT *, coalesce({keep}, false) AS keep FROM minewatch_f")
    flagged.createOrReplaceTempView("minewatch_flagged")
    keys = connection_keys(job.numeric)
    # Estimates (HyperLogLog: one pass, no shuffle) are enough to choose the plan.
    estimate = f"approx_count_distinct(xxhash64({', '.join(keys)})) FILTER (WHERE keep)"
    counted = spark.sql(f"SELECT {estimate}, count_if(keep), count(*) FROM minewatch_flagged").first()
    conns, kept, rows = counted if counted is not None else (0, 0, 0)
    if conns > BROADCAST_KEYS and kept >= rows * FLAGGED_SHARE:
        return flagged
    spark.sql(f"SELECT DISTINCT {', '.join(keys)} FROM minewatch_flagged WHERE keep").createOrReplaceTempView(
        "minewatch_c"
    )
    same = " AND ".join(f"f.{k} <=> c.{k}" for k in keys)
    # Few connections: only their records leave the scan, joined where they are read.
    # Many, in a small share of the rows: a shuffle join, and only their records go on.
    hint = "/*+ BROADCAST(c) */" if conns <= BROADCAST_KEYS else ""
    return spark.sql(
        f"SELECT {hint} {', '.join(f'f.{c}' for c in columns)} "
        f"FROM minewatch_flagged f LEFT SEMI JOIN minewatch_c c ON {same}"
    )


def _connections_of(flows: pa.Table, keys: Sequence[str]) -> pa.Table:
    """The records of one input's connections (`keys`, without `source`) that have a row
    with `keep`, in their order, without the `keep` column: what detect/stored.py's
    semi-join keeps (null matches null, as IS NOT DISTINCT FROM)."""
    keep = flows["keep"]
    flows = flows.drop_columns(["keep"])
    if keep.null_count == 0 and pc.all(keep).as_py():
        return flows
    ids = {}
    for k in keys:
        zero = pa.scalar("" if pa.types.is_string(flows[k].type) else 0, flows[k].type)
        ids[k], ids[f"{k} null"] = flows[k].fill_null(zero), flows[k].is_null()
    table = pa.table(ids).append_column("row", pa.array(range(len(flows)), pa.int64()))
    on = [k for k in table.column_names if k != "row"]
    chosen = table.filter(keep).group_by(on, use_threads=False).aggregate([])
    rows = table.join(chosen, on, join_type="left semi", use_threads=False)["row"]
    return flows.take(pc.take(rows, pc.sort_indices(rows)))


def _as_stored(table: pa.Table) -> pa.Table:
    """Spark's Arrow columns back in the store's types: Spark has no unsigned integers
    (uint64 comes as decimal(20,0), uint32 as int64)."""
    types = {f.name: f.type for f in STORED_FLOW_SCHEMA}
    fields = [pa.field(f.name, types.get(f.name, f.type)) for f in table.schema]
    return table.cast(pa.schema(fields))


def _detect_bucket(job: DetectJob, table: pa.Table) -> pa.Table:
    """Executor side: a bucket's rows to the evidence rows of its inputs, each input
    detected apart (in the order of their names, as detect/stored.py does)."""
    from minewatch.detect.evidence_rows import EVIDENCE_ROW_SCHEMA, evidence_rows

    found = [EVIDENCE_ROW_SCHEMA.empty_table()]
    for name, part in by_source(_as_stored(table), job.default_source):
        flows = part
        if "keep" in flows.column_names:
            flows = _connections_of(flows, connection_keys(job.numeric)[1:])
        # In the order the scan wrote them, as DuckDB reads them back: detectors meet
        # equal reasons in that order.
        flows = flows.sort_by([("flow_id", "ascending")])
        if job.numeric:
            flows = with_address_text(flows)
        ctx = input_context(name, flows, job.intel, job.home, job.standing)
        found.append(evidence_rows(run_detectors(ctx, by_name(*job.detectors)), ctx.sessions))
    return pa.concat_tables(found)


def _fuse_bucket(table: pa.Table) -> pa.Table:
    """Executor side: a bucket of hosts' evidence to their findings."""
    from minewatch.detect.evidence_rows import evidence_from_rows
    from minewatch.detect.fusion import fuse

    # Each host's evidence in its inputs' order, and each input's in the order found.
    evidence, sessions = evidence_from_rows(table.sort_by([("source", "ascending"), ("seq", "ascending")]))
    found = fuse(evidence, sessions)
    texts = [json.dumps(f.to_json(), ensure_ascii=False) for f in found]
    return pa.table(
        {"host": [f.host for f in found], "activity": [f.activity.value for f in found], "json": texts}
    )


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def findings_of(flows: DataFrame, job: DetectJob, where: str | None = None) -> list[Finding]:
    """The findings of detection over `flows` (store rows), most confident first."""
    from minewatch.detect.evidence_rows import EVIDENCE_ROW_SCHEMA

    # A lambda, not functools.partial: PySpark reads the function's type hints, and
    # fails on a partial's.
    rows = candidates(flows, job, where)
    with _quiet():
        evidence = rows.groupBy(_bucket("source")).applyInArrow(
            lambda table: _detect_bucket(job, table), _spark_schema(EVIDENCE_ROW_SCHEMA)
        )
        found = evidence.groupBy(_bucket("host")).applyInArrow(_fuse_bucket, _FOUND)
        texts = [r["json"] for r in found.collect()]
    return _findings(texts)


def _bucket(column: str) -> Any:
    from pyspark.sql import functions as F

    return F.expr(f"pmod(hash({column}), {BUCKETS})")


def _findings(texts: Sequence[str]) -> list[Finding]:
    found = [Finding.from_json(json.loads(t), where="spark") for t in texts]
    return sorted(found, key=lambda f: (-f.confidence, f.activity, f.host))


def _has_parquet(folder: Path | str) -> bool:
    return any(Path(folder).rglob("part-*.parquet")) if Path(folder).exists() else True


def detect(
    spark: SparkSession,
    root: Path | str,
    job: DetectJob,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Finding]:
    """The findings of the store's flows active in [since, until) (what `detect` on DuckDB
    finds), most confident first. Nothing is written."""
    if not _has_parquet(f"{root}/flows"):
        return []
    flows = read_flows(spark, root).where(_hours(since, until))
    numeric = set(flows.columns) >= NUMERIC
    job = DetectJob(job.intel, job.home, job.standing, job.default_source, job.detectors, numeric)
    return findings_of(flows, job, active_in(since, until) if since or until else None)


def _episodes_group(table: pa.Table) -> pa.Table:
    """Executor side: one host's window rows of one activity merged into its episode."""
    import duckdb

    from minewatch.estimate.episodes import episodes_of

    schema = pa.schema([f.with_nullable(True) for f in WINDOW_SCHEMA])
    windows = table.select([n for n in schema.names if n in table.column_names])
    windows = windows.cast(pa.schema([schema.field(n) for n in windows.column_names]))
    with duckdb.connect() as db:
        db.register("windows", windows)
        found = list(episodes_of(db, "windows"))
    texts = [json.dumps(f.to_json(), ensure_ascii=False) for f in found]
    return pa.table(
        {"host": [f.host for f in found], "activity": [f.activity.value for f in found], "json": texts}
    )


def episodes(
    spark: SparkSession, root: Path | str, since: datetime | None = None, until: datetime | None = None
) -> list[Finding]:
    """One finding per host and activity active in [since, until), as `Store.episodes`
    gives them, merged on the executors."""
    folder = f"{root}/findings"
    if not _has_parquet(folder):
        return []
    windows = (
        spark.read.option("basePath", folder)
        .option("pathGlobFilter", "part-*.parquet")
        .option("mergeSchema", "true")
        .parquet(folder)
        .where(spark_sql(active_in(since, until)))
    )
    with _quiet():
        merged = windows.groupBy("host", "activity").applyInArrow(_episodes_group, _FOUND)
    return _findings([r["json"] for r in merged.collect()])


def flow_schema(spark: SparkSession) -> Any:
    """The Spark schema of the store's flow files with their partition columns, as Spark
    reads them (what a streaming file source must be told)."""
    from pyspark.sql.types import DateType, IntegerType

    with tempfile.TemporaryDirectory(prefix="minewatch-schema-") as folder:
        pq.write_table(STORED_FLOW_SCHEMA.empty_table(), f"{folder}/empty.parquet")
        schema = spark.read.parquet(folder).schema
    return schema.add("date", DateType()).add("hour", IntegerType())


def follow(
    spark: SparkSession,
    root: Path,
    job: DetectJob,
    write: Callable[[list[Finding]], object],
    files_per_trigger: int = 64,
    every_s: float = 5.0,
) -> Any:
    """A Structured Streaming query over the store's flow partitions: each micro-batch (at
    most `files_per_trigger` new closed files, every `every_s` seconds) is detected as
    `detect` does and its findings given to `write`. Progress is checkpointed in
    DIR/checkpoints/spark-follow, so a restart goes on with the files not yet read.
    Returns the running StreamingQuery (stop it with `.stop()`)."""
    stream = (
        spark.readStream.schema(flow_schema(spark))
        .option("pathGlobFilter", "part-*.parquet")
        .option("maxFilesPerTrigger", files_per_trigger)
        .parquet(str(root / "flows"))
    )

    def batch(frame: DataFrame, _batch_id: int) -> None:
        write(findings_of(frame, job))

    return (
        stream.writeStream.foreachBatch(batch)
        .option("checkpointLocation", str(root / "checkpoints" / "spark-follow"))
        .trigger(processingTime=f"{every_s} seconds")
        .start()
    )
