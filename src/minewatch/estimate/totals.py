"""The bulletin figures for a whole input: hosts, traffic, hashrate per algorithm with its
interval, power, energy and CO2 with bounds. Hashrates are never added across
algorithms; bounds of power, energy and CO2 add (the sum of the hosts' floors and
ceilings, which is wider than a joint interval)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from minewatch.estimate.hashrate import garwood
from minewatch.model.findings import Activity, Bounds, Finding, Hashrate, InputReport

__all__ = ["AlgorithmTotal", "Summary", "summarise"]


@dataclass(frozen=True)
class AlgorithmTotal:
    algorithm: str
    hosts: int
    hosts_measured: int
    hashrate: Hashrate | None


@dataclass(frozen=True)
class Summary:
    mining_hosts: int
    first_seen: datetime | None
    last_seen: datetime | None
    mining_bytes: int
    mining_mbit_s: float | None
    algorithms: tuple[AlgorithmTotal, ...]
    power_w: Bounds | None
    energy_kwh_day: Bounds | None
    co2_kg_day: Bounds | None
    hosts_without_estimate: int
    notes: tuple[str, ...]


def _total(rates: list[Hashrate]) -> Hashrate | None:
    if not rates:
        return None
    value = sum(r.value for r in rates)
    # Each host's estimate has relative variance 1/shares; the sum is read as a Poisson
    # count with the same relative variance. Hosts with no share add only to the ceiling.
    variance = sum(r.value**2 / r.shares for r in rates if r.shares > 0)
    ceiling_only = sum(r.high for r in rates if r.shares == 0)
    if value <= 0 or variance <= 0:
        return Hashrate(0.0, 0.0, ceiling_only, "H/s", "no accepted share: upper bound only", 0, 0.0)
    n_eff = value**2 / variance
    low, high = garwood(n_eff)
    shares = sum(r.shares for r in rates)
    method = (
        f"sum over {len(rates)} hosts of accepted-share estimates ({shares} shares); "
        f"95% interval from the Poisson count with the same relative variance ({n_eff:.1f})"
    )
    return Hashrate(value, value * low / n_eff, value * high / n_eff + ceiling_only, "H/s", method, shares)


def _sum(bounds: list[Bounds]) -> Bounds | None:
    if not bounds:
        return None
    total = bounds[0]
    for b in bounds[1:]:
        total = total + b
    return total


def summarise(findings: Sequence[Finding], inputs: Sequence[InputReport]) -> Summary:
    mining = [f for f in findings if f.activity == Activity.MINING]
    firsts = [i.first_seen for i in inputs if i.first_seen is not None]
    lasts = [i.last_seen for i in inputs if i.last_seen is not None]
    first, last = (min(firsts), max(lasts)) if firsts and lasts else (None, None)
    window = (last - first).total_seconds() if first and last else 0.0
    mining_bytes = sum(f.bytes_total for f in mining)
    by_algo: dict[str, list[Finding]] = defaultdict(list)
    for f in mining:
        by_algo[f.algorithm or "unknown"].append(f)
    algorithms = tuple(
        AlgorithmTotal(
            algo,
            len(hosts),
            sum(1 for h in hosts if h.hashrate is not None),
            _total([h.hashrate for h in hosts if h.hashrate is not None]) if algo != "unknown" else None,
        )
        for algo, hosts in sorted(by_algo.items())
    )
    notes = []
    unmeasured = sum(1 for f in mining if f.hashrate is None)
    if unmeasured:
        notes.append(
            f"{unmeasured} of {len(mining)} mining hosts have no hashrate (encrypted, flow-only or unknown "
            "algorithm): the totals are lower bounds of what they describe"
        )
    if any(f.energy_kwh_day_bounds is not None for f in mining):
        notes.append("energy assumes each host mines all day at its observed rate; machine power only")
    return Summary(
        mining_hosts=len({f.host for f in mining}),
        first_seen=first,
        last_seen=last,
        mining_bytes=mining_bytes,
        mining_mbit_s=mining_bytes * 8 / window / 1e6 if window > 0 else None,
        algorithms=algorithms,
        power_w=_sum([f.power_w for f in mining if f.power_w is not None]),
        energy_kwh_day=_sum([f.energy_kwh_day_bounds for f in mining if f.energy_kwh_day_bounds is not None]),
        co2_kg_day=_sum([f.co2_kg_day for f in mining if f.co2_kg_day is not None]),
        hosts_without_estimate=unmeasured,
        notes=tuple(notes),
    )
