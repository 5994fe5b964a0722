"""The power detector on standard load profiles with mining laid on top.

    .venv/bin/python bench/meters.py [--normal 1000] [--mining 300] [--seed 7]

Normal meters follow the BDEW 2025 standard profiles shipped by demandlib, or with
`--profiles simbench` the profiles SimBench derived from measured loads (households,
businesses, farms), with their own sizes, weather, noise, holidays and new appliances;
mining meters add a flat draw of 1-2 ASICs or 1-12 GPUs (households) or 1-40 ASICs
(businesses, farms) from a known day (some in the last weeks of the series) (`minewatch.synth.loads`). Prints the detection rate,
false positives per 1,000 normal meters, and the error of the detected start date.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from typing import Any

import numpy as np

from minewatch.attribute.meters import MeterSite
from minewatch.detect.power import THRESHOLD, assess
from minewatch.synth.loads import STEP_S, make_meters


def evaluate(normal: int, mining: int, seed: int, source: str = "bdew") -> dict[str, Any]:
    t0 = time.perf_counter()
    meters, start = make_meters(normal, mining, seed=seed, source=source)
    made = time.perf_counter() - t0
    # The profiles are local time (UTC+8): the meter's clock in UTC starts 8 h earlier.
    first = int(start.timestamp()) - 8 * 3600
    t0 = time.perf_counter()
    scores, hits, errors = [], defaultdict(lambda: [0, 0]), []
    false_alarms = 0
    late: dict[bool, list[int]] = {True: [0, 0], False: [0, 0]}
    false_by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_by_change: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for m in meters:
        ts = first + np.arange(len(m.kwh), dtype=np.int64) * STEP_S
        site = MeterSite(m.meter_id, m.meter_id, "", m.business_type, (), None, (), None)
        a = assess(m.meter_id, ts, m.kwh, STEP_S, site)
        flagged = a is not None and a.score >= THRESHOLD
        if m.mining_kw:
            key = ("household " if m.business_type == "household" else "business ") + m.rigs.split()[1]
            held = len(m.kwh) // 96 - (m.mining_from_day or 0)
            late[held < 42][1] += 1
            late[held < 42][0] += flagged
            hits[key][1] += 1
            hits[key][0] += flagged
            if flagged and a is not None and a.start is not None and m.mining_from_day is not None:
                local_day = round((a.start - start).total_seconds() / 86400 + 8 / 24)
                errors.append(local_day - m.mining_from_day)
        else:
            false_alarms += flagged
            false_by_kind[m.business_type][0] += flagged
            false_by_kind[m.business_type][1] += 1
            for change in m.changes or ("none",):
                false_by_change[change][0] += flagged
                false_by_change[change][1] += 1
        scores.append(a.score if a else 0.0)
    took = time.perf_counter() - t0
    detected = sum(h[0] for h in hits.values())
    return {
        "normal": normal,
        "mining": mining,
        "detected": detected,
        "false_alarms": false_alarms,
        "by_kind": dict(hits),
        "late": late,
        "false_by_kind": dict(false_by_kind),
        "false_by_change": dict(false_by_change),
        "start_errors": errors,
        "seconds_per_meter": took / len(meters),
        "generate_s": made,
    }


def import_speed(meters: int = 100) -> tuple[int, float]:
    """Readings and seconds for `minewatch meters import`'s reader on a CSV of `meters`
    meter-years (written to a temporary folder)."""
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.csv as pacsv

    from minewatch.sources.meters import read_meters

    made, start = make_meters(meters, 0, seed=1)
    first = int(start.timestamp()) - 8 * 3600
    n = len(made[0].kwh)
    stamps = pa.array(
        np.tile(first + np.arange(n) * STEP_S, meters) * 1_000_000, pa.timestamp("us", tz="UTC")
    )
    table = pa.table(
        {
            "meter_id": np.repeat([m.meter_id for m in made], n),
            "timestamp": stamps.cast(pa.string()),
            "kwh": np.concatenate([m.kwh for m in made]),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "meters.csv"
        pacsv.write_csv(table, path)
        t0 = time.perf_counter()
        read = read_meters(path)
        return read.series.num_rows, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--normal", type=int, default=1000)
    parser.add_argument("--mining", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profiles", choices=["bdew", "simbench"], default="bdew", help="the normal loads")
    args = parser.parse_args(argv)
    r = evaluate(args.normal, args.mining, args.seed, args.profiles)
    errors = np.abs(np.array(r["start_errors"])) if r["start_errors"] else np.array([np.nan])
    print(
        f"meters: {r['normal']} normal, {r['mining']} with mining (a year of 15-minute readings each), "
        f"on {args.profiles} profiles"
    )
    print(f"detected: {r['detected']}/{r['mining']} ({r['detected'] / max(r['mining'], 1):.1%})")
    print(
        f"false positives: {r['false_alarms']}/{r['normal']} = {1000 * r['false_alarms'] / max(r['normal'], 1):.1f} per 1,000"
    )
    for kind, (hit, total) in sorted(r["by_kind"].items()):
        print(f"  found, {kind}: {hit}/{total}")
    for is_late, (hit, total) in sorted(r["late"].items()):
        print(f"  found, mining for {'under' if is_late else 'at least'} six weeks by the end: {hit}/{total}")
    for kind, (hit, total) in sorted(r["false_by_kind"].items()):
        print(f"  flagged, normal {kind}: {hit}/{total}")
    for change, (hit, total) in sorted(r["false_by_change"].items()):
        print(f"  flagged, normal meters with change '{change}': {hit}/{total}")
    print(
        f"start date error, days: median {np.median(errors):.1f}, 90th percentile {np.percentile(errors, 90):.1f}, "
        f"max {errors.max():.0f} (over {len(r['start_errors'])} detections with a start)"
    )
    print(f"{r['seconds_per_meter'] * 1000:.1f} ms per meter-year; generating took {r['generate_s']:.1f} s")
    readings, seconds = import_speed()
    print(
        f"import: {readings:,} readings (100 meter-years, CSV) checked in {seconds:.2f} s, {readings / seconds / 1e6:.2f} M/s"
    )
    return r


if __name__ == "__main__":
    main()
