"""`detect` on Spark, with 1 and 2 workers of a standalone cluster, against DuckDB, over a
big store of flow records, of one of two kinds.

    .venv/bin/python bench/spark.py [--kind worst|carrier] [--records 10000000] [--routers 64]
        [--unique 1000000] [--workers 1,2] [--keep DIR]

1. The base records. `worst`: the real flow records of every shared capture (the real
   miners, Zeek's, nDPI's 544 pcaps: about 9,200 flows) from `minewatch scan --flows`;
   nearly every one is a candidate (nDPI labels them), the worst case for a cluster plan.
   `carrier`: --unique NetFlow v5 records made by bench/flows.py (random subscribers and
   servers; 1% of them from 4,502 miners to 5,000 listed pool addresses, which are given
   as indicators), decoded and paired by minewatch's collector path: a carrier's export,
   where about 1% of the records are candidates.
2. Replicated into a store up to --records: replica k has its IPv4 clients moved by k*256,
   its connection and record ids offset by its capture's number <<30 and k<<40
   (ids stay unique per input, as several captures share one router), its start
   re-based to its input's first hour of one day plus k seconds (durations kept), and comes from the input `router-(k % routers)` (a
   province's exporters); written with `Store.write_flows`, so in the store's hourly
   partitions with its numeric address columns.
3. `detect` on DuckDB (detect_stored and fuse, 2 threads), then on a cluster started with
   scripts/spark with 1 worker and with 2 (1 core, 1 GiB each; the driver in this
   process): records/s, records/s per core, and the 1 -> 2 worker scaling. The session's
   start is timed apart; the executors' Python workers start within the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MINEWATCH_SHARED", ROOT.parent / "shared")) / "captures"


def _base(folder: Path) -> Path:
    out = folder / "base.parquet"
    inputs = [SHARED / "real-miners", SHARED / "zeek-cryptomining", SHARED / "ndpi" / "pcap"]
    cmd = [sys.executable, "-m", "minewatch.cli", "scan", *map(str, inputs), "--flows", str(out), "--json"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


# One replica of the base records, shifted as the docstring says; `k` comes from range().
_BASE = """
CREATE TEMP TABLE b AS
  SELECT *, to_seconds(epoch(first_seen - min(first_seen) OVER (PARTITION BY source)) % 3600) AS since_start,
    dense_rank() OVER (ORDER BY source) AS input,
    CASE WHEN client_ip LIKE '%.%.%.%' AND client_ip NOT LIKE '%:%' THEN
      (split_part(client_ip, '.', 1)::BIGINT << 24) + (split_part(client_ip, '.', 2)::BIGINT << 16)
      + (split_part(client_ip, '.', 3)::BIGINT << 8) + split_part(client_ip, '.', 4)::BIGINT END AS c4
  FROM read_parquet('{base}')
"""
_REPLICA = """
WITH r AS (
  SELECT b.*, k, (c4 + k * 256) % 4294967296 AS n4 FROM b, range({first}, {last}) t(k)
)
SELECT * EXCLUDE (since_start, input, c4, k, n4) REPLACE (
  flow_id + (input << 30) + (k << 40) AS flow_id,
  conn_id + (input << 30) + (k << 40) AS conn_id,
  TIMESTAMPTZ '2026-11-24 00:00:00+00' + since_start + to_seconds(k) AS first_seen,
  TIMESTAMPTZ '2026-11-24 00:00:00+00' + since_start + to_seconds(k) + (last_seen - first_seen) AS last_seen,
  CASE WHEN n4 IS NULL THEN client_ip ELSE concat_ws('.', n4 >> 24, (n4 >> 16) & 255, (n4 >> 8) & 255, n4 & 255)
    END AS client_ip,
  'router-' || (k % {routers}) AS source
) FROM r
"""


def _fill(store: Path, base: Path, records: int, routers: int) -> int:
    """Replicas of `base` into the store until `records`; how many were written."""
    from minewatch.store import Store

    target = Store(store)
    per = pq.read_metadata(base).num_rows
    replicas = -(-records // per)
    step = max(1, 1_000_000 // per)
    written = 0
    with duckdb.connect() as db:
        db.execute("SET enable_progress_bar = false")
        db.execute(_BASE.format(base=base))
        for first in range(0, replicas, step):
            last = min(replicas, first + step)
            sql = _REPLICA.format(first=first, last=last, routers=routers)
            table = db.sql(sql).to_arrow_table()
            target.write_flows(table)
            written += table.num_rows
    return written


def _carrier_base(folder: Path, unique: int) -> Path:
    """bench/flows.py's v5 records through the collector's decoder and pairing, as flow
    records (text addresses, as `scan --flows` writes them); the listed addresses beside."""
    import pyarrow as pa

    from flows import datagrams, make_records
    from minewatch import _engine
    from minewatch.model.schema import FLOW_SCHEMA, MINING_TYPE
    from minewatch.sources.flowexport import pair_records

    records, listed = make_records(unique, 1)
    decoder = _engine.FlowDecoder()
    for gram in datagrams(records):
        decoder.feed("127.0.0.1", 2055, gram, 0)
    flows = pair_records(pa.Table.from_batches([decoder.take()]))
    n = flows.num_rows
    flows = flows.append_column("source", pa.repeat(pa.scalar("carrier"), n))
    flows = flows.append_column("server_name", pa.nulls(n, pa.string()))
    flows = flows.append_column("mining", pa.nulls(n, MINING_TYPE))
    out = folder / "base.parquet"
    pq.write_table(flows.cast(FLOW_SCHEMA), out)
    (folder / "listed.txt").write_text(
        "".join(f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}\n" for a in map(int, listed))
    )
    return out


def _intel(folder: Path) -> list[Path]:
    """The indicator files of this store's kind: the listed pools of a carrier store."""
    listed = folder / "listed.txt"
    return [listed] if listed.is_file() else []


def _duckdb(store: Path) -> tuple[float, int]:
    from minewatch.detect.fusion import fuse
    from minewatch.detect.stored import detect_stored
    from minewatch.intel.indicators import load_default
    from minewatch.store import Store

    files = Store(store).flow_files()
    start = time.perf_counter()
    sessions: dict[tuple[str | None, int], object] = {}
    intel = load_default(_intel(store.parent))
    evidence = list(detect_stored(files, intel, threads=2, sessions=sessions))  # type: ignore[arg-type]
    found = fuse(evidence, sessions)  # type: ignore[arg-type]
    return time.perf_counter() - start, len(found)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spark(store: Path, workers: int) -> tuple[float, float, int]:
    """(session start s, detect s, findings) on a fresh cluster of `workers` workers."""
    from minewatch.detect.context import HomeNetworks
    from minewatch.detect.standing import NameStanding
    from minewatch.intel.indicators import load_default
    from minewatch.store import spark

    folder = tempfile.mkdtemp(prefix="minewatch-bench-spark-")
    script = str(ROOT / "scripts" / "spark")
    env = {**os.environ, "MINEWATCH_PYTHON": sys.executable}
    started = subprocess.run(
        [script, "start", folder, str(_free_port()), str(workers)], env=env, capture_output=True, text=True
    )
    if started.returncode:
        raise SystemExit(started.stderr)
    try:
        begin = time.perf_counter()
        session = spark.session(started.stdout.strip(), app=f"bench-{workers}")
        up = time.perf_counter() - begin
        job = spark.DetectJob(load_default(_intel(store.parent)), HomeNetworks(), NameStanding(), str(store))
        begin = time.perf_counter()
        found = spark.detect(session, store, job)
        took = time.perf_counter() - begin
        session.stop()
    finally:
        subprocess.run([script, "stop", folder], check=False)
        shutil.rmtree(folder, ignore_errors=True)
    return up, took, len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("worst", "carrier"), default="worst")
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--routers", type=int, default=64)
    parser.add_argument("--unique", type=int, default=1_000_000, help="Base records of a carrier store.")
    parser.add_argument("--workers", default="1,2", help="Spark cluster sizes to run, e.g. 1,2.")
    parser.add_argument("--keep", type=Path, help="Keep (or reuse) the store in this folder.")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="minewatch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "store"
    if not (store / "flows").is_dir():
        begin = time.perf_counter()
        base = _base(folder) if args.kind == "worst" else _carrier_base(folder, args.unique)
        written = _fill(store, base, args.records, args.routers)
        size = sum(p.stat().st_size for p in (store / "flows").rglob("*.parquet"))
        print(
            f"store ({args.kind}): {written:,} records, {size / 1e9:.1f} GB in {time.perf_counter() - begin:.0f} s"
        )
    records = sum(pq.read_metadata(p).num_rows for p in (store / "flows").rglob("part-*.parquet"))
    print(
        f"{records:,} records; records/s per core: per core of DuckDB's threads or of Spark's workers",
        flush=True,
    )
    took, found = _duckdb(store)
    _row("duckdb, 2 threads", records, 2, took, found)
    spark_s = []
    for workers in map(int, args.workers.split(",")):
        up, took, found = _spark(store, workers)
        spark_s.append(took)
        _row(f"spark, {workers} worker(s), session {up:.0f} s", records, workers, took, found)
    if len(spark_s) == 2:
        print(f"spark 1 -> 2 workers: x{spark_s[0] / spark_s[1]:.2f} records/s")


def _row(name: str, records: int, cores: int, took: float, found: int) -> None:
    rate = records / took
    print(
        f"{name:36} {took:7.1f} s {rate:10,.0f} records/s {rate / cores:10,.0f} /core {found:6} findings",
        flush=True,
    )


if __name__ == "__main__":
    main()
