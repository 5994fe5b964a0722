"""Every headline and breakdown of minewatch, computed once, from host episodes.

`scan --summary`, the bulletin (`report`), the console's dashboard and the API all render
a `Figures`. Each figure is defined here and, for readers, in `NOTES` (the bulletin's
method notes):

- mining hosts: distinct addresses with a mining episode in the period; a host seen in many
  windows is one episode and counts once;
- traffic: the episodes' bytes, each record counted once; `mbit_s` is the miners' rate
  while mining (each host's bytes over the time from its first to its last sight, added
  up), `mbit_s_period` the same bytes spread over the whole period;
- hashrate per algorithm: the sum of the hosts' estimates, never across algorithms, with a
  joint 95% interval (estimate/hashrate.py `joint_hashrate`);
- power, energy per day and CO2: the hosts' low / best / high added (wider than a joint
  interval), each host as if it mined all day at its observed rate;
- breakdowns by place, sector (with the share likely compromised), coin, pool,
  organisation, and by day in the office's time zone (a host counts on each day from its
  first to its last sight).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from minewatch.estimate.hashrate import joint_hashrate
from minewatch.model.document import bounds_to_json, rfc3339
from minewatch.model.findings import Activity, Bounds, Finding
from minewatch.model.sampling import scaled_rate

__all__ = ["AlgorithmFigure", "Change", "Count", "Figures", "compute", "in_region"]


@dataclass(frozen=True)
class Count:
    """Mining hosts under one label, and how many of them are likely compromised."""

    label: str
    hosts: int
    compromised: int = 0
    # The division code of a place (its city's for a city), where the inventory gave one.
    code: str | None = None


@dataclass(frozen=True)
class AlgorithmFigure:
    algorithm: str
    hosts: int
    hosts_measured: int
    hashrate: float | None
    low: float | None
    high: float | None
    unit: str
    method: str | None = None


@dataclass(frozen=True)
class Change:
    """The same figures for the period of the same length just before."""

    since: str | None
    until: str | None
    mining_hosts: int
    mbit_s_period: float | None
    energy_kwh_day: float | None


@dataclass(frozen=True)
class Figures:
    since: str | None
    until: str | None
    region: str | None
    timezone: str
    mining_hosts: int
    first_seen: str | None
    last_seen: str | None
    mining_bytes: int
    mbit_s: float | None
    mbit_s_period: float | None
    algorithms: tuple[AlgorithmFigure, ...]
    power_w: Bounds | None
    energy_kwh_day: Bounds | None
    co2_kg_day: Bounds | None
    hosts_without_estimate: int
    compromised: int
    attributed: int
    by_province: tuple[Count, ...]
    by_city: tuple[Count, ...]
    by_county: tuple[Count, ...]
    by_sector: tuple[Count, ...]
    by_coin: tuple[Count, ...]
    by_pool: tuple[Count, ...]
    top_organisations: tuple[Count, ...]
    trend: tuple[Count, ...]
    notes: tuple[str, ...] = ()
    previous: Change | None = None

    def to_json(self) -> dict[str, Any]:
        def counts(cs: tuple[Count, ...]) -> list[dict[str, Any]]:
            return [
                {"label": c.label, "hosts": c.hosts, "compromised": c.compromised, "code": c.code} for c in cs
            ]

        return {
            "since": self.since,
            "until": self.until,
            "region": self.region,
            "timezone": self.timezone,
            "mining_hosts": self.mining_hosts,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "mining_bytes": self.mining_bytes,
            "mbit_s": self.mbit_s,
            "mbit_s_period": self.mbit_s_period,
            "algorithms": [vars(a) for a in self.algorithms],
            "power_w": bounds_to_json(self.power_w),
            "energy_kwh_day": bounds_to_json(self.energy_kwh_day),
            "co2_kg_day": bounds_to_json(self.co2_kg_day),
            "hosts_without_estimate": self.hosts_without_estimate,
            "compromised": self.compromised,
            "attributed": self.attributed,
            "by_province": counts(self.by_province),
            "by_city": counts(self.by_city),
            "by_county": counts(self.by_county),
            "by_sector": counts(self.by_sector),
            "by_coin": counts(self.by_coin),
            "by_pool": counts(self.by_pool),
            "top_organisations": counts(self.top_organisations),
            "trend": counts(self.trend),
            "notes": list(self.notes),
            "previous": None if self.previous is None else vars(self.previous),
        }


def in_region(episodes: Iterable[Finding], region: str | None) -> list[Finding]:
    """The mining episodes a bulletin counts: with `region`, only hosts whose place path
    mentions it (e.g. 江苏 or 江苏省)."""
    mining = [f for f in episodes if f.activity == Activity.MINING]
    if not region:
        return mining
    return [f for f in mining if f.attribution and any(region in p for p in f.attribution.region)]


def _counted(
    hosts_by_label: dict[str, set[str]],
    compromised: set[str],
    top: int | None = None,
    codes: dict[str, str] | None = None,
) -> tuple[Count, ...]:
    known = codes or {}
    rows = [
        Count(label, len(h), len(h & compromised), known.get(label)) for label, h in hosts_by_label.items()
    ]
    rows.sort(key=lambda c: (-c.hosts, c.label))
    return tuple(rows[:top] if top else rows)


def _sum(bounds: Iterable[Bounds | None]) -> Bounds | None:
    present = [b for b in bounds if b is not None]
    if not present:
        return None
    return Bounds(sum(b.low for b in present), sum(b.best for b in present), sum(b.high for b in present))


def _algorithms(mining: Sequence[Finding]) -> tuple[AlgorithmFigure, ...]:
    by_algo: dict[str, list[Finding]] = defaultdict(list)
    for f in mining:
        by_algo[f.algorithm or "unknown"].append(f)
    out = []
    for algo, fs in sorted(by_algo.items()):
        measured = [f.hashrate for f in fs if f.hashrate is not None]
        units = sorted({h.unit for h in measured}, key=lambda u: -sum(h.unit == u for h in measured))
        unit = units[0] if units else "H/s"
        total = joint_hashrate([h for h in measured if h.unit == unit]) if algo != "unknown" else None
        out.append(
            AlgorithmFigure(
                algorithm=algo,
                hosts=len({f.host for f in fs}),
                hosts_measured=len({f.host for f in fs if f.hashrate is not None}),
                hashrate=total.value if total else None,
                low=total.low if total else None,
                high=total.high if total else None,
                unit=unit,
                method=total.method if total else None,
            )
        )
    return tuple(out)


def _local_days(first: datetime, last: datetime, tz: tzinfo) -> list[str]:
    day, end = first.astimezone(tz).date(), last.astimezone(tz).date()
    days: list[str] = []
    while day <= end and len(days) < 3660:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


_LEVELS = (("province", 2), ("city", 4), ("county", 6))


def _breakdowns(
    mining: Sequence[Finding], tz: tzinfo, codes: dict[str, str]
) -> dict[str, dict[str, set[str]]]:
    """Hosts by label for each breakdown; `codes` gets each place label's division code."""
    parts: dict[str, dict[str, set[str]]] = {
        k: defaultdict(set) for k in ("province", "city", "county", "sector", "org", "coin", "pool", "day")
    }
    for f in mining:
        a = f.attribution
        path = a.region if a else ()
        code = a.region_code if a and a.region_code and len(a.region_code) == 6 else None
        for level, (key, digits) in enumerate(_LEVELS):
            label = " / ".join(path[: level + 1]) if len(path) > level else "unknown"
            parts[key][label].add(f.host)
            if code and label != "unknown":
                codes.setdefault(label, code[:digits].ljust(6, "0"))
        sector = a.sector.value if a else "unknown"
        parts["sector"][sector].add(f.host)
        if a and a.organisation:
            parts["org"][f"{a.organisation} ({sector})"].add(f.host)
        parts["coin"][f.coin or "unknown"].add(f.host)
        for p in f.pools:
            parts["pool"][f"{p.name or p.ip}:{p.port}"].add(f.host)
        for day in _local_days(f.first_seen, f.last_seen, tz):
            parts["day"][day].add(f.host)
    return parts


def _sampling_notes(mining: Sequence[Finding]) -> tuple[str, ...]:
    """A note for the hosts whose bytes and Mbit/s are scaled from sampled flow records."""
    rates = {f.host: rate for f in mining for e in f.evidence if (rate := scaled_rate(e.detail)) is not None}
    if not rates:
        return ()
    span = f"1-in-{min(rates.values()):g}" + (
        f" to 1-in-{max(rates.values()):g}" if max(rates.values()) > min(rates.values()) else ""
    )
    return (
        f"Bytes and Mbit/s of {len(rates)} of {len({f.host for f in mining})} mining hosts are scaled "
        f"from {span} sampled flow records: estimates, not counts.",
    )


def compute(
    episodes: Iterable[Finding],
    since: datetime | None = None,
    until: datetime | None = None,
    region: str | None = None,
    tz: tzinfo = UTC,
    notes: Sequence[str] = (),
) -> Figures:
    """The figures of the mining episodes in `region` over [since, until) (the episodes'
    own span where a bound is not given)."""
    mining = in_region(episodes, region)
    hosts = {f.host for f in mining}
    compromised = {f.host for f in mining if f.attribution and f.attribution.likely_compromised is True}
    first = min((f.first_seen for f in mining), default=None)
    last = max((f.last_seen for f in mining), default=None)
    start, end = since or first, until or last
    period_s = (end - start).total_seconds() if start and end else 0.0
    mining_bytes = sum(f.bytes_total for f in mining)
    notes = (*notes, *_sampling_notes(mining))
    # Each host's rate while it was seen, added up: the traffic of the miners at work.
    rate = sum(f.bytes_total * 8 / max((f.last_seen - f.first_seen).total_seconds(), 1.0) for f in mining)
    codes: dict[str, str] = {}
    parts = _breakdowns(mining, tz, codes)
    return Figures(
        since=rfc3339(since) if since else None,
        until=rfc3339(until) if until else None,
        region=region,
        timezone=str(tz),
        mining_hosts=len(hosts),
        first_seen=rfc3339(first) if first else None,
        last_seen=rfc3339(last) if last else None,
        mining_bytes=mining_bytes,
        mbit_s=rate / 1e6 if mining else None,
        mbit_s_period=mining_bytes * 8 / period_s / 1e6 if mining and period_s > 0 else None,
        algorithms=_algorithms(mining),
        power_w=_sum(f.power_w for f in mining),
        energy_kwh_day=_sum(f.energy_kwh_day_bounds for f in mining),
        co2_kg_day=_sum(f.co2_kg_day for f in mining),
        hosts_without_estimate=len({f.host for f in mining if f.hashrate is None}),
        compromised=len(compromised),
        attributed=len({f.host for f in mining if f.attribution is not None}),
        by_province=_counted(parts["province"], compromised, codes=codes),
        by_city=_counted(parts["city"], compromised, codes=codes),
        by_county=_counted(parts["county"], compromised, codes=codes),
        by_sector=_counted(parts["sector"], compromised),
        by_coin=_counted(parts["coin"], compromised),
        by_pool=_counted(parts["pool"], compromised, top=20),
        top_organisations=_counted(parts["org"], compromised, top=20),
        trend=tuple(sorted(_counted(parts["day"], compromised), key=lambda c: c.label)),
        notes=tuple(notes),
    )


def change(previous: Figures) -> Change:
    """The comparison row of a bulletin, from the previous period's figures."""
    return Change(
        previous.since,
        previous.until,
        previous.mining_hosts,
        previous.mbit_s_period,
        previous.energy_kwh_day.best if previous.energy_kwh_day else None,
    )
