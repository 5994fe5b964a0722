"""Consolidation and the bulletin at province scale: 10,000,000 window findings of
100,000 hosts (100 windows each, as a collector writes a host's minutes).

    .venv/bin/python bench/consolidate.py [--hosts 100000] [--windows 100] [--keep DIR] [--memory-limit 3GB]

Writes the windows into a store (findings Parquet, as `collect` does), then measures, each
with its time and the process's peak memory: `Store.episodes()` (read, merge each host's
windows: bytes once, evidence with counts, pools, the hashrate re-estimated from all the
exposures of the hosts that have shares), and the figures of the bulletin over the
episodes. The peer, measured in the same run over the same files, is DuckDB's GROUP BY of
host and activity summing bytes and counting windows: the least any consolidation must do.
Both must agree on hosts, windows and bytes, which is checked.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _templates() -> list[dict[str, object]]:
    """A flow-only window (intel and flow counters) and a dissected one with shares, from
    real findings' shapes."""
    from minewatch.scan import ScanOptions, scan_paths

    shared = Path(__file__).resolve().parents[2] / "shared" / "captures"
    result = scan_paths([shared / "real-miners" / "sv1_cpuminer_sha256d_t1.pcap"], ScanOptions())
    [measured] = [f.to_json() for f in result.findings if f.activity.value == "mining"]
    flow_only = {
        **measured,
        "protocol": None,
        "shares": None,
        "hashrate": None,
        "exposures": [],
        "power_w": None,
        "energy_kwh_day": None,
        "energy_kwh_day_bounds": None,
        "co2_kg_day": None,
        "difficulty": None,
        "difficulty_timeline": [],
        "evidence": [
            {**measured["evidence"][0], "kind": "intel", "detail": "connects to listed address 198.51.100.7"},
            {**measured["evidence"][0], "kind": "behaviour", "detail": "flow record like a mining session's"},
        ],
    }
    return [flow_only, measured]


def write_windows(root: Path, hosts: int, windows: int) -> int:
    """`hosts` x `windows` one-minute window findings into the store at `root`; one in
    ten hosts has readable sessions with shares. Rows are the two templates' window rows
    (model/windows.py) with host, times, bytes, JSON and exposures set per window, made
    column-wise so that writing 10 M rows takes minutes, not hours. Returns the bytes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from minewatch.model.findings import Finding
    from minewatch.model.windows import windows_table

    start = datetime(2026, 11, 24, tzinfo=UTC)
    templates = _templates()
    base = windows_table([Finding.from_json(t) for t in templates], start)
    texts = [json.dumps(t) for t in templates]
    folder = root / "findings" / "day=2026-11-24"
    folder.mkdir(parents=True)
    total = 0
    per_file = max(1, 500_000 // windows)
    us = 60_000_000
    for first_host in range(0, hosts, per_file):
        ids = range(first_host, min(hosts, first_host + per_file))
        shape = [1 if h % 10 == 0 else 0 for h in ids for _ in range(windows)]
        host = [f"10.{h >> 16 & 255}.{h >> 8 & 255}.{h & 255}" for h in ids for _ in range(windows)]
        minute = [w for _ in ids for w in range(windows)]
        nbytes = [1000 + (h * 7 + w) % 500 for h in ids for w in range(windows)]
        total += sum(nbytes)
        t0 = int(start.timestamp() * 1e6)
        first = [t0 + m * us for m in minute]
        last = [f + 59_000_000 for f in first]
        stamp = [datetime.fromtimestamp(f / 1e6, UTC).isoformat().replace("+00:00", "Z") for f in first]
        table = base.take(pa.array(shape))
        text = [
            texts[k]
            .replace(templates[k]["host"], h)
            .replace(templates[k]["first_seen"], s, 1)  # type: ignore[arg-type]
            .replace('"bytes": ' + str(templates[k]["bytes"]) + ', "windows"', f'"bytes": {b}, "windows"')
            for k, h, s, b in zip(shape, host, stamp, nbytes, strict=True)
        ]
        exposures = base["exposures"][1].as_py()
        ts = pa.timestamp("us", tz="UTC")
        columns = {
            "host": pa.array(host),
            "first_seen": pa.array(first, pa.int64()).cast(ts),
            "last_seen": pa.array(last, pa.int64()).cast(ts),
            "bytes": pa.array(nbytes, pa.int64()),
            "json": pa.array(text),
            "exposures": pa.array(
                [
                    [
                        dict(
                            exposures[0],
                            start=datetime.fromtimestamp(f / 1e6, UTC),
                            end=datetime.fromtimestamp(e / 1e6, UTC),
                        )
                    ]
                    if k
                    else []
                    for k, f, e in zip(shape, first, last, strict=True)
                ],
                base.schema.field("exposures").type,
            ),
        }
        for name, column in columns.items():
            table = table.set_column(table.schema.get_field_index(name), name, column)
        assert pc.all(pc.equal(table["activity"], "mining")).as_py()
        pq.write_table(table, folder / f"part-{first_host:08d}.parquet")
    return total


def measure(root: str, hosts: int, windows: int, total: int | None, memory_limit: str | None) -> None:
    """Consolidation and figures over the store at `root`, in a process of its own so that
    its peak memory is its own (writing the store is not counted)."""
    from minewatch.report.figures import compute
    from minewatch.store import Store

    store = Store(Path(root), memory_limit)
    t = time.perf_counter()
    with store.connect() as db:
        peer = db.execute(
            "SELECT count(*), sum(n), sum(b) FROM (SELECT host, activity, count(*) n, sum(bytes) b "
            "FROM findings GROUP BY host, activity)"
        ).fetchone()
    peer_s = time.perf_counter() - t
    t = time.perf_counter()
    episodes = store.episodes()
    merge_s = time.perf_counter() - t
    t = time.perf_counter()
    figures = compute(episodes)
    figures_s = time.perf_counter() - t
    assert peer is not None
    n = hosts * windows
    assert len(episodes) == peer[0] == hosts, (len(episodes), peer[0])
    assert sum(e.windows for e in episodes) == peer[1] == n
    assert figures.mining_bytes == peer[2] and (total is None or total == peer[2])
    print(f"windows            {n:>14,}")
    print(f"hosts (episodes)   {len(episodes):>14,}")
    print(f"consolidation      {merge_s:>12.1f} s  {n / merge_s:>12,.0f} windows/s")
    print(f"figures            {figures_s:>12.2f} s")
    limit = f", DuckDB memory limit {memory_limit}" if memory_limit else ""
    print(f"peak memory        {_peak_mib():>12,.0f} MiB (consolidation and figures, this process{limit})")
    print(f"peer: DuckDB GROUP BY host, activity (count, sum bytes): {peer_s:.2f} s")
    print(f"ratio minewatch / peer: {merge_s / peer_s:.1f}x the time")
    for a in figures.algorithms:
        if a.hashrate:
            print(
                f"hashrate {a.algorithm}: {a.hashrate:.4g} {a.unit} ({a.low:.4g}-{a.high:.4g}), {a.hosts_measured} hosts"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=100_000)
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="Use (or fill) this store instead of a temporary one.")
    parser.add_argument("--memory-limit", help="DuckDB's memory limit for the store's queries, e.g. 3GB.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "store"
        total = None
        if not (root / "findings").is_dir():
            t = time.perf_counter()
            total = write_windows(root, args.hosts, args.windows)
            print(
                f"wrote {args.hosts * args.windows:,} windows of {args.hosts:,} hosts in {time.perf_counter() - t:.1f} s"
            )
        child = multiprocessing.get_context("spawn").Process(
            target=measure, args=(str(root), args.hosts, args.windows, total, args.memory_limit)
        )
        child.start()
        child.join()
        return child.exitcode or 0


if __name__ == "__main__":
    sys.exit(main())
