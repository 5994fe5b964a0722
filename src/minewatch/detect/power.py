"""Mining in meter data. Mining draws the same power day and night, weekday and weekend,
from the day the machines arrive: so a meter whose baseload (its quietest hour of the
day) steps up and stays, and which runs flatter than its declared business's standard
profile, is suspect. Every score comes with the figures that made it:

- load factor (mean over 99th-percentile hourly power), night/day and weekend/weekday
  ratios, day-to-day variability of energy, baseload share;
- the largest lasting rise of the daily baseload (date and size), found by change-point
  search (ruptures: PELT on the l2 cost);
- phase imbalance, when phase currents are given;
- correlation of the meter's mean week with its declared business's standard profile.

Days and hours are the site's local time (UTC+8 unless told). Missing readings stay out:
an hour needs all its intervals, a day 20 of its hours."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from minewatch.attribute.meters import MeterRegistry, MeterSite
from minewatch.detect.profiles import week_shape
from minewatch.model.findings import Activity, Evidence, EvidenceKind

__all__ = ["THRESHOLD", "PowerAssessment", "Reason", "assess", "assess_all", "power_evidence"]

THRESHOLD = 0.6  # a score from here on is evidence
_MIN_DAYS = 14


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float | None
    part: float  # 0..1: how much this feature points to mining
    sentence: str


@dataclass(frozen=True)
class PowerAssessment:
    meter: str
    site: MeterSite | None
    period_start: datetime
    period_end: datetime
    score: float
    reasons: tuple[Reason, ...]
    start: datetime | None  # when the suspect load began (the baseload step)
    mining_kw: float | None  # its size: the step, or the excess baseload
    daily_kwh: tuple[float, ...]  # the load curve, one value per day (NaN: not enough readings)
    first_day: datetime | None

    @property
    def features(self) -> dict[str, float | None]:
        return {r.feature: r.value for r in self.reasons}


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def _hourly(ts: np.ndarray, kwh: np.ndarray, step: int, offset_s: int) -> tuple[np.ndarray, int]:
    """Mean power (kW) per local hour from the first to the last, NaN where an hour lacks
    a reading; and the first hour (seconds since 1970, local)."""
    local = ts + offset_s
    hours = local // 3600
    first = int(hours.min())
    n = int(hours.max()) - first + 1
    energy = np.zeros(n)
    counted = np.zeros(n)
    ok = np.isfinite(kwh)
    np.add.at(energy, hours[ok] - first, kwh[ok])
    np.add.at(counted, hours[ok] - first, 1)
    need = max(1, 3600 // step)
    # The hour's energy over the time its readings cover, as kW.
    with np.errstate(divide="ignore", invalid="ignore"):
        power = np.where(counted >= need, energy / (counted * step / 3600), np.nan)
    return power, first * 3600


def _baseload_step(base: np.ndarray) -> tuple[int, float, float] | None:
    """The change point across which the daily baseload rises most, all before against
    all after: (day index, kW, relative)."""
    import ruptures

    days = np.flatnonzero(np.isfinite(base))
    if len(days) < 2 * _MIN_DAYS:
        return None
    values = base[days]
    noise = float(np.median(np.abs(np.diff(values)))) / 0.6745 / math.sqrt(2) if len(values) > 2 else 0.0
    noise = max(noise, 0.02 * float(np.median(values)), 1e-6)
    # PELT over the l2 cost, as KernelCPD's linear kernel computes it (in C).
    search = ruptures.KernelCPD(kernel="linear", min_size=_MIN_DAYS).fit(values)
    breaks = search.predict(pen=8 * noise**2 * math.log(len(values)))
    edges = [0, *breaks]
    best = None
    for i in range(1, len(edges) - 1):
        # Everything before against everything after, not neighbouring segments: coming
        # back from a holiday is no rise, and a later seasonal swing does not move the date.
        before = values[: edges[i]]
        after = values[edges[i] :]
        # Means, as a step's contrast: a split past the true start puts raised days on the
        # "before" side and shrinks it.
        rise = float(np.mean(after) - np.mean(before))
        level = max(float(np.median(before)), 1e-3)
        if rise > 0 and (best is None or rise > best[1]):
            best = (int(days[edges[i]]), rise, rise / level)
    return best


def _added_unsteadiness(days: np.ndarray, i: int, rise: float) -> float:
    """How unsteady the load added at day `i` is: the growth of the night hours' spread
    (00-05 local, four weeks each side), over the size of the rise. A rig draws the same
    all night; a compressor or a person does not."""
    before = days[max(0, i - 28) : i, 0:6]
    after = days[i : i + 28, 0:6]
    b, a = before[np.isfinite(before)], after[np.isfinite(after)]
    if len(b) < 24 or len(a) < 24 or rise <= 0:
        return 1.0
    added = max(float(np.var(a)) - float(np.var(b)), 0.0)
    return math.sqrt(added) / rise


def _added_evenness(days: np.ndarray, i: int) -> float:
    """How evenly the load added at day `i` spreads over the hours of the day: the 10th
    percentile of the hourly rise (four weeks each side) over its mean."""
    before = days[max(0, i - 28) : i]
    after = days[i : i + 28]
    if np.isfinite(before).sum() < 24 * 7 or np.isfinite(after).sum() < 24 * 7:
        return 0.0
    with np.errstate(all="ignore"):
        added = np.nanmean(after, axis=0) - np.nanmean(before, axis=0)
    mean = float(np.nanmean(added))
    if not mean > 0:
        return 0.0
    return float(np.nanpercentile(added, 10)) / mean


def assess(
    meter: str,
    ts: np.ndarray,
    kwh: np.ndarray,
    step: int,
    site: MeterSite | None = None,
    phases: np.ndarray | None = None,
    utc_offset_h: float = 8.0,
) -> PowerAssessment | None:
    """One meter's score over its whole series, or None with under two weeks of data."""
    offset = int(utc_offset_h * 3600)
    power, first_hour = _hourly(ts, kwh, step, offset)
    # Days start at local midnight.
    lead = (first_hour // 3600) % 24
    padded = np.r_[np.full(lead, np.nan), power]
    padded = np.r_[padded, np.full((-len(padded)) % 24, np.nan)]
    days = padded.reshape(-1, 24)
    enough = np.isfinite(days).sum(axis=1) >= 20
    if enough.sum() < _MIN_DAYS:
        return None
    with np.errstate(all="ignore"):
        daily = np.where(enough, np.nanmean(days, axis=1) * 24, np.nan)
        base = np.where(enough, np.nanmin(days, axis=1), np.nan)
    first_day = datetime.fromtimestamp(first_hour - lead * 3600 - offset, UTC)
    reasons: list[Reason] = []
    step_found = _baseload_step(base)
    start_i = 0
    start = None
    mining_kw = None
    if step_found is not None:
        i, rise, rel = step_found
        when = first_day + timedelta(days=i)
        unsteadiness = _added_unsteadiness(days, i, rise)
        steady_part = _sig((0.25 - unsteadiness) / 0.06)
        evenness = _added_evenness(days, i)
        even_part = _sig((evenness - 0.6) / 0.1)
        # A season (heating switched on in winter) also steps up evenly; it has to have
        # held about six weeks to count fully.
        held = int(np.isfinite(base[i:]).sum())
        held_part = _sig((held - 35) / 5)
        part = _sig((rel - 0.5) / 0.12) * _sig((rise - 0.4) / 0.1) * steady_part * even_part * held_part
        reasons.append(
            Reason(
                "baseload_step_kw",
                round(rise, 3),
                part,
                f"baseload rose by {rise:,.2f} kW (+{rel:.0%}) from {when:%Y-%m-%d} and stayed",
            )
        )
        reasons.append(
            Reason(
                "step_held_days",
                float(held),
                held_part,
                f"the rise has held for {held} days (six weeks count fully)",
            )
        )
        reasons.append(
            Reason(
                "step_evenness",
                round(evenness, 3),
                even_part,
                f"the added load is {evenness:.0%} as large in its lowest hours as on average over the day "
                "(a mining rig: the same at every hour; heating or a season: not)",
            )
        )
        reasons.append(
            Reason(
                "step_unsteadiness",
                round(unsteadiness, 3),
                steady_part,
                f"the added load varies by {unsteadiness:.0%} of its size at night (a mining rig: a few %)",
            )
        )
        if part > 0.5:
            start_i, start, mining_kw = i, when, rise
    else:
        reasons.append(Reason("baseload_step_kw", None, 0.0, "no lasting rise of the baseload"))
    # Flatness, over the time since the suspect load began (else the whole series).
    after = days[start_i:][enough[start_i:]]
    hourly = after[np.isfinite(after)]
    # A site declared to run round the clock (no standard profile) is expected to be flat.
    flat_expected = site is not None and site.profile is None
    if len(hourly) >= 24 * 7:
        mean = float(hourly.mean())
        load_factor = mean / max(float(np.percentile(hourly, 99)), 1e-9)
        night = np.nanmean(after[:, 0:6])
        day = np.nanmean(after[:, 9:18])
        night_day = float(night / day) if day > 0 else 1.0
        daily_after = np.nansum(after, axis=1)
        cv = float(np.std(daily_after) / max(np.mean(daily_after), 1e-9))
        baseload_share = float(np.percentile(hourly, 5)) / max(mean, 1e-9)
        weekday = ((np.arange(len(days)) + first_day.weekday()) % 7)[start_i:][enough[start_i:]]
        we, wd = daily_after[weekday >= 5], daily_after[weekday < 5]
        weekend_ratio = float(we.mean() / wd.mean()) if len(we) and len(wd) and wd.mean() > 0 else 1.0
        parts = [
            _sig((load_factor - 0.7) / 0.05),
            _sig((night_day - 0.8) / 0.05),
            _sig((0.12 - cv) / 0.03),
            _sig((0.12 - abs(weekend_ratio - 1)) / 0.04),
        ]
        # Households and farms run seven days a week: the weekend says nothing there.
        weekly = site is None or site.profile == "G25"
        if not weekly:
            parts[3] = 0.0
        if flat_expected:
            parts = [0.0] * 4
        flat = float(np.mean(parts if weekly else parts[:3]))
        why = f" (expected of a {site.business_type})" if flat_expected and site else ""
        reasons += [
            Reason("load_factor", round(load_factor, 3), parts[0], f"load factor {load_factor:.2f}{why}"),
            Reason("night_day", round(night_day, 3), parts[1], f"night/day power {night_day:.2f}"),
            Reason("daily_cv", round(cv, 3), parts[2], f"day-to-day variation {cv:.0%}"),
            Reason(
                "weekend_weekday",
                round(weekend_ratio, 3),
                parts[3],
                f"weekend/weekday energy {weekend_ratio:.2f}",
            ),
            Reason(
                "baseload_share", round(baseload_share, 3), 0.0, f"baseload {baseload_share:.0%} of the mean"
            ),
        ]
        if mining_kw is None and flat > 0.5 and not flat_expected:
            mining_kw = float(np.percentile(hourly, 5))
    else:
        flat = 0.0
    # Against the declared business's standard profile.
    profile_part = 0.0
    if site is not None and site.profile is not None and len(hourly) >= 24 * 7:
        weekday = (np.arange(len(days)) + first_day.weekday()) % 7
        sel = slice(start_i, None)
        week = np.full(168, np.nan)
        for d in range(7):
            rows = days[sel][(weekday[sel] == d) & enough[sel]]
            if len(rows):
                week[d * 24 : d * 24 + 24] = np.nanmean(rows, axis=0)
        shape = week_shape(site.profile, first_day.year)
        ok = np.isfinite(week)
        if ok.sum() > 24 and np.nanstd(week) > 0:
            # The week as (flat part) + (scale x the declared business's profile): a site
            # that follows its profile has no flat part; mining is all flat part. (A
            # correlation would not see it: adding a constant leaves it unchanged.)
            design = np.column_stack([np.ones(int(ok.sum())), shape[ok]])
            (flat_kw, scale), *_ = np.linalg.lstsq(design, week[ok], rcond=None)
            flat_share = float(flat_kw) / max(float(np.nanmean(week)), 1e-9)
            corr = float(np.corrcoef(week[ok], shape[ok])[0, 1])
        else:
            flat_kw, flat_share, corr = 0.0, 0.0, 0.0
        profile_part = _sig((flat_share - 0.6) / 0.08)
        reasons.append(
            Reason(
                "profile_flat_share",
                round(flat_share, 3),
                profile_part,
                f"{max(flat_share, 0):.0%} of the load ({max(float(flat_kw), 0):,.2f} kW) is flat beyond the "
                f"standard {site.profile} profile of a {site.business_type} (shape correlation {corr:.2f})",
            )
        )
    phase_part = 0.0
    if phases is not None and np.isfinite(phases).any():
        with np.errstate(all="ignore"):
            spread = (np.nanmax(phases, axis=1) - np.nanmin(phases, axis=1)) / np.nanmean(phases, axis=1)
        imbalance = float(np.nanmedian(spread))
        phase_part = _sig((imbalance - 0.3) / 0.08)
        reasons.append(
            Reason("phase_imbalance", round(imbalance, 3), phase_part, f"phase imbalance {imbalance:.0%}")
        )
    shift_part = reasons[0].part
    # Noisy-OR: each kind of sign can carry the score alone; the profile and phases weigh less.
    score = 1 - (1 - 0.85 * shift_part) * (1 - 0.7 * flat) * (1 - 0.35 * profile_part) * (
        1 - 0.25 * phase_part
    )
    last = datetime.fromtimestamp(int(ts.max()) + step, UTC)
    return PowerAssessment(
        meter=meter,
        site=site,
        period_start=datetime.fromtimestamp(int(ts.min()), UTC),
        period_end=last,
        score=round(float(score), 4),
        reasons=tuple(reasons),
        start=start,
        mining_kw=round(mining_kw, 3) if mining_kw is not None else None,
        daily_kwh=tuple(float(x) for x in daily),
        first_day=first_day,
    )


def assess_all(
    series: pa.Table,
    intervals: dict[str, int],
    registry: MeterRegistry | None = None,
    utc_offset_h: float = 8.0,
) -> list[PowerAssessment]:
    """Every meter of a series table, highest score first."""
    out: list[PowerAssessment] = []
    if series.num_rows == 0:
        return out
    ids = series["meter_id"].to_numpy(zero_copy_only=False)
    # Parquet keeps times in ms: back to seconds, whatever the file held.
    ts = series["ts"].cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).to_numpy()
    kwh = series["kwh"].to_numpy(zero_copy_only=False)
    phases = np.column_stack(
        [series[p].to_numpy(zero_copy_only=False) for p in ("phase_a", "phase_b", "phase_c")]
    )
    order = np.argsort(ids, kind="stable")
    bounds = np.flatnonzero(np.r_[True, ids[order][1:] != ids[order][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[a:b]
        meter = str(ids[rows[0]])
        site = registry.sites.get(meter) if registry else None
        found = assess(
            meter, ts[rows], kwh[rows], intervals.get(meter, 900), site, phases[rows], utc_offset_h
        )
        if found is not None:
            out.append(found)
    return sorted(out, key=lambda a: -a.score)


def power_evidence(a: PowerAssessment, host: str) -> Evidence:
    """The meter's case as evidence about a host on its site: the weakest kind, since a
    meter cannot say what the power runs."""
    told = "; ".join(r.sentence for r in sorted(a.reasons, key=lambda r: -r.part)[:4])
    where = f"meter {a.meter}" + (f" ({a.site.site}, {a.site.organisation})" if a.site else "")
    return Evidence(
        host=host,
        activity=Activity.MINING,
        kind=EvidenceKind.POWER,
        strength=round(0.25 + 0.35 * a.score, 3),
        detail=f"{where} scores {a.score:.2f} for mining load: {told}",
        first_seen=a.start or a.period_start,
        last_seen=a.period_end,
    )
