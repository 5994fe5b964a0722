"""Consolidation and the bulletin at province scale: 10,000,000 window findings of
100,000 hosts (100 windows each, as a collector writes a host's minutes).

    .venv/bin/python bench/consolidate.py [--hosts 100000] [--windows 100] [--keep DIR]

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
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
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
    ten hosts has readable sessions with shares. Returns the bytes written in all."""
    from minewatch.model.findings import Finding
    from minewatch.model.windows import windows_table

    flow_only, measured = _templates()
    start = datetime(2026, 11, 24, tzinfo=UTC)
    folder = root / "findings" / "day=2026-11-24"
    folder.mkdir(parents=True)
    total = 0
    chunk = max(1, 1_000_000 // windows)
    for first_host in range(0, hosts, chunk):
        rows = []
        for h in range(first_host, min(hosts, first_host + chunk)):
            host = f"10.{h >> 16 & 255}.{h >> 8 & 255}.{h & 255}"
            shape = measured if h % 10 == 0 else flow_only
            for w in range(windows):
                t0 = start + timedelta(minutes=w)
                first = t0.isoformat().replace("+00:00", "Z")
                last = (t0 + timedelta(seconds=59)).isoformat().replace("+00:00", "Z")
                nbytes = 1000 + (h * 7 + w) % 500
                total += nbytes
                row = dict(shape, host=host, first_seen=first, last_seen=last, bytes=nbytes)
                if shape is measured:
                    row["exposures"] = [dict(measured["exposures"][0], start=first, end=last)]  # type: ignore[index]
                rows.append(Finding.from_json(row))
        pq.write_table(windows_table(rows, start), folder / f"part-{first_host:08d}.parquet")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=100_000)
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="Use (or fill) this store instead of a temporary one.")
    args = parser.parse_args()
    from minewatch.report.figures import compute
    from minewatch.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "store"
        n = args.hosts * args.windows
        if not (root / "findings").is_dir():
            t = time.perf_counter()
            total = write_windows(root, args.hosts, args.windows)
            print(f"wrote {n:,} windows of {args.hosts:,} hosts in {time.perf_counter() - t:.1f} s")
        store = Store(root)
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
        merge_peak = _peak_mib()
        t = time.perf_counter()
        figures = compute(episodes)
        figures_s = time.perf_counter() - t
        assert peer is not None
        hosts, windows, nbytes = peer
        assert len(episodes) == hosts == args.hosts, (len(episodes), hosts)
        assert sum(e.windows for e in episodes) == windows == n
        assert figures.mining_bytes == nbytes
        if not args.keep:
            assert nbytes == total
        print(f"windows            {n:>14,}")
        print(f"hosts (episodes)   {len(episodes):>14,}")
        print(f"consolidation      {merge_s:>12.1f} s  {n / merge_s:>12,.0f} windows/s")
        print(f"figures            {figures_s:>12.2f} s")
        print(f"peak memory        {merge_peak:>12,.0f} MiB (after consolidation)")
        print(f"peer: DuckDB GROUP BY host, activity (count, sum bytes): {peer_s:.2f} s")
        print(f"ratio minewatch / peer: {merge_s / peer_s:.1f}x the time")
        measured = [a for a in figures.algorithms if a.hashrate]
        for a in measured:
            print(
                f"hashrate {a.algorithm}: {a.hashrate:.4g} {a.unit} ({a.low:.4g}-{a.high:.4g}), {a.hosts_measured} hosts"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
