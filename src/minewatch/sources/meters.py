"""Meter series from CSV or Parquet: meter id, time, energy (kWh or Wh per interval) or
power (kW or W), optional phase currents. Each meter's readings are checked and what is
wrong is reported per meter and kept out of the series, never averaged away:

- duplicate times (the same value twice is dropped; different values keep the first),
- clock jumps (a time that goes backwards in the file, or lands off the meter's interval),
- gaps (missing intervals stay missing),
- negative values and values no meter of that size could read (left out),
- a whole file that reads like Wh under a kWh heading (refused, with the figure).

The result is one Arrow table, `meter_id, ts, kwh, phase_a, phase_b, phase_c`, with the
energy of the interval that starts at `ts`, and the meter's interval in seconds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from minewatch.errors import MeterFileError

__all__ = ["MeterFileError", "MeterIssue", "MeterRead", "read_meters"]

_ID = ("meter_id", "meter", "meter_no", "id")
_TIME = ("timestamp", "ts", "time", "datetime", "start")
_VALUES = {"kwh": 1.0, "wh": 1e-3, "kw": None, "w": None}
_PHASES = ("phase_a", "phase_b", "phase_c")
# An interval's energy above this (kWh per hour of interval) is more than a 20 MW site draws.
ABSURD_KW = 20_000.0


@dataclass(frozen=True)
class MeterIssue:
    meter: str
    kind: str  # duplicate, clock_jump, gap, negative, absurd
    count: int
    first: datetime | None
    detail: str


@dataclass
class MeterRead:
    source: str
    series: pa.Table
    interval_s: dict[str, int]
    issues: list[MeterIssue] = field(default_factory=list)


def _column(names: list[str], wanted: tuple[str, ...], path: Path, what: str) -> str:
    lowered = {n.lower().strip(): n for n in names}
    for w in wanted:
        if w in lowered:
            return lowered[w]
    raise MeterFileError(str(path), f"no {what} column (one of {', '.join(wanted)}); columns are {names}")


def _load(path: Path) -> pa.Table:
    try:
        if path.suffix.lower() == ".parquet":
            return pq.read_table(path)
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    except (OSError, pa.ArrowInvalid) as e:
        raise MeterFileError(str(path), f"cannot be read: {e}") from e


def _times(column: pa.ChunkedArray, path: Path) -> np.ndarray:
    """Times as int64 seconds since 1970 (UTC when the file gives no zone)."""
    if pa.types.is_timestamp(column.type):
        unit_s = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[column.type.unit]
        values = column.cast(pa.int64()).to_numpy(zero_copy_only=False)
        return values // unit_s  # type: ignore[no-any-return]
    text = column.cast(pa.string())
    # Arrow parses ISO times in C, with a zone or (taken as UTC) without; the row loop is
    # only for what it cannot read, to name the row.
    for target in (pa.timestamp("s", tz="UTC"), pa.timestamp("s")):
        try:
            return text.cast(target).cast(pa.int64()).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    texts = text.to_pylist()
    out = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        try:
            t = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        except ValueError:
            raise MeterFileError(f"{path}, row {i + 2}", f"time {text!r} is not a date and time") from None
        out[i] = int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp())
    return out


def read_meters(
    path: Path, unit: str | None = None, capacity_kw: dict[str, float] | None = None
) -> MeterRead:
    """Read and check one meter file. `unit` overrides the value column's heading (kwh,
    wh, kw, w); `capacity_kw` (from the registry) bounds what each meter can read."""
    table = _load(path)
    names = table.column_names
    id_col = _column(names, _ID, path, "meter id")
    time_col = _column(names, _TIME, path, "time")
    value_col = _column(names, tuple(_VALUES), path, "value (kwh, wh, kw or w)")
    kind = (unit or value_col.lower().strip()).lower()
    if kind not in _VALUES:
        raise MeterFileError(str(path), f"unit {kind!r}: expected kwh, wh, kw or w")
    meters = pc.cast(table[id_col], pa.string()).to_numpy(zero_copy_only=False)
    if any(m is None or m == "" for m in meters):
        raise MeterFileError(str(path), "a row has no meter id")
    ts = _times(table[time_col], path)
    try:
        raw = pc.cast(table[value_col], pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid as e:
        raise MeterFileError(str(path), f"column {value_col!r} is not numeric: {e}") from e
    phases = {}
    for p in _PHASES:
        found = [n for n in names if n.lower() == p]
        phases[p] = pc.cast(table[found[0]], pa.float64()).to_numpy(zero_copy_only=False) if found else None

    parts: list[pa.Table] = []
    typical_kw: dict[str, float] = {}
    intervals: dict[str, int] = {}
    issues: list[MeterIssue] = []
    order = np.argsort(meters, kind="stable")
    bounds = np.flatnonzero(np.r_[True, meters[order][1:] != meters[order][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[a:b]  # this meter's rows, in file order
        meter = str(meters[rows[0]])
        part, step, typical, found = _one_meter(
            meter,
            ts[rows],
            raw[rows],
            {p: v[rows] if v is not None else None for p, v in phases.items()},
            kind,
            (capacity_kw or {}).get(meter),
        )
        parts.append(part)
        intervals[meter] = step
        typical_kw[meter] = typical
        issues += found
    if kind == "kwh" and unit is None:
        _refuse_wh_as_kwh(path, typical_kw, capacity_kw or {})
    series = pa.concat_tables(parts) if parts else _empty()
    return MeterRead(str(path), series, intervals, issues)


def _empty() -> pa.Table:
    return pa.table(
        {
            "meter_id": pa.array([], pa.string()),
            "ts": pa.array([], pa.timestamp("s", tz="UTC")),
            "kwh": pa.array([], pa.float64()),
            **{p: pa.array([], pa.float64()) for p in _PHASES},
        }
    )


def _when(t: int) -> datetime:
    return datetime.fromtimestamp(int(t), UTC)


def _one_meter(
    meter: str,
    ts: np.ndarray,
    raw: np.ndarray,
    phases: dict[str, np.ndarray | None],
    kind: str,
    capacity_kw: float | None,
) -> tuple[pa.Table, int, float, list[MeterIssue]]:
    issues: list[MeterIssue] = []
    # Clock jumps: in the order the meter wrote them, times never go back.
    back = np.flatnonzero(np.diff(ts) < 0)
    diffs = np.diff(np.sort(ts))
    positive = diffs[diffs > 0]
    step = int(Counter(positive.tolist()).most_common(1)[0][0]) if len(positive) else 900
    if len(back):
        i = int(back[0])
        issues.append(
            MeterIssue(
                meter,
                "clock_jump",
                len(back),
                _when(ts[i + 1]),
                f"time goes back {int(ts[i] - ts[i + 1])} s after {_when(ts[i]).isoformat()} "
                f"({len(back)} times); readings put back in time order",
            )
        )
    off_grid = (ts - ts.min()) % step != 0
    if off_grid.any():
        first = int(np.flatnonzero(off_grid)[0])
        issues.append(
            MeterIssue(
                meter,
                "clock_jump",
                int(off_grid.sum()),
                _when(ts[first]),
                f"{int(off_grid.sum())} readings off the {step} s interval, first at "
                f"{_when(ts[first]).isoformat()}; left out",
            )
        )
    keep = ~off_grid
    # Energy per interval, in kWh.
    factor = _VALUES[kind]
    energy = raw * factor if factor is not None else raw * (1e-3 if kind == "w" else 1.0) * step / 3600
    # Duplicates: the first reading of a time is kept.
    order = np.argsort(ts, kind="stable")
    ts_sorted, e_sorted = ts[order], energy[order]
    keep_sorted = keep[order]
    same = np.r_[False, ts_sorted[1:] == ts_sorted[:-1]]
    if same.any():
        prev_equal = np.r_[False, e_sorted[1:] == e_sorted[:-1]]
        conflicting = int((same & ~prev_equal).sum())
        i = int(np.flatnonzero(same)[0])
        detail = f"{int(same.sum())} repeated times, first {_when(ts_sorted[i]).isoformat()}"
        detail += f"; {conflicting} with a different value: the first reading kept" if conflicting else ""
        issues.append(MeterIssue(meter, "duplicate", int(same.sum()), _when(ts_sorted[i]), detail))
    keep_sorted &= ~same
    ts_k, e_k = ts_sorted[keep_sorted], e_sorted[keep_sorted].astype(float)
    typical_kw = float(np.nanmedian(e_k)) * 3600 / step if np.isfinite(e_k).any() else 0.0
    kept_phases = {
        p: (v[order][keep_sorted].astype(float) if v is not None else None) for p, v in phases.items()
    }
    # Values no meter could read.
    negative = e_k < 0
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        issues.append(
            MeterIssue(
                meter,
                "negative",
                int(negative.sum()),
                _when(ts_k[i]),
                f"{int(negative.sum())} negative readings (first {e_k[i]:g} kWh); left out",
            )
        )
    limit_kw = capacity_kw * 1.5 if capacity_kw else ABSURD_KW
    absurd = e_k * 3600 / step > limit_kw
    if absurd.any():
        i = int(np.flatnonzero(absurd)[0])
        issues.append(
            MeterIssue(
                meter,
                "absurd",
                int(absurd.sum()),
                _when(ts_k[i]),
                f"{int(absurd.sum())} readings above {limit_kw:,.0f} kW "
                f"(first {e_k[i] * 3600 / step:,.0f} kW); left out",
            )
        )
    bad = negative | absurd | np.isnan(e_k)
    e_k[bad] = np.nan
    # Gaps: intervals with no reading stay missing.
    expected = (ts_k[-1] - ts_k[0]) // step + 1 if len(ts_k) else 0
    missing = int(expected - len(ts_k))
    if missing > 0:
        holes = np.diff(ts_k) // step - 1
        worst = int(np.argmax(holes))
        issues.append(
            MeterIssue(
                meter,
                "gap",
                missing,
                _when(ts_k[worst] + step),
                f"{missing} intervals missing; longest {int(holes[worst]) * step / 3600:g} h "
                f"from {_when(ts_k[worst] + step).isoformat()}; left missing",
            )
        )
    part = pa.table(
        {
            "meter_id": pa.array([meter] * len(ts_k), pa.string()),
            "ts": pa.array(ts_k, pa.int64()).cast(pa.timestamp("s", tz="UTC")),
            "kwh": pa.array(e_k, pa.float64(), from_pandas=True),
            **{
                p: pa.array(
                    v if v is not None else np.full(len(ts_k), np.nan), pa.float64(), from_pandas=True
                )
                for p, v in kept_phases.items()
            },
        }
    )
    return part, step, typical_kw, issues


def _refuse_wh_as_kwh(path: Path, typical_kw: dict[str, float], capacity_kw: dict[str, float]) -> None:
    """A kWh column that reads like Wh: most meters of known size would draw more than
    twice their capacity, or (size unknown) the typical meter over 5 MW."""
    known = [(m, kw, capacity_kw[m]) for m, kw in typical_kw.items() if m in capacity_kw]
    if known:
        over = [(m, kw, cap) for m, kw, cap in known if kw > 2 * cap]
        if len(over) * 2 > len(known):
            m, kw, cap = over[0]
            raise MeterFileError(
                str(path),
                f"the kwh column reads like Wh: {len(over)} of {len(known)} meters would draw more than "
                f"twice their capacity (meter {m}: typically {kw:,.0f} kW on a {cap:,.0f} kW connection). "
                "If it is Wh, name the column wh or give --unit wh.",
            )
        return
    typical = float(np.median(list(typical_kw.values()))) if typical_kw else 0.0
    if typical > 5_000:
        raise MeterFileError(
            str(path),
            f"the kwh column reads like Wh: its typical meter would average {typical:,.0f} kW. "
            "If it is Wh, name the column wh or give --unit wh.",
        )
