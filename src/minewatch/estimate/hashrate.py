"""Hashrate from the shares a pool accepted, with an exact 95% interval.

Per connection, each accepted share is one Poisson event whose rate is H / d, d the
expected hashes per share of the difficulty the miner worked at. Over periods j of
length t_j at d_j the exposure is E = sum(t_j / d_j) and the maximum-likelihood rate is
N / E; its 95% interval is Garwood's exact interval on N divided by E (PROTOCOLS.md 2.2,
2.2b). With one difficulty this is N * d / T. Connections of one host add where they
overlap in time and average where they follow each other; for more than one, the
interval uses the Poisson count with the same relative variance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from scipy.special import gammaincinv

from minewatch.model.findings import Exposure, Hashrate
from minewatch.protocols.base import MiningSession
from minewatch.protocols.session import DifficultyUnit

__all__ = [
    "SessionRate",
    "exposure_of",
    "garwood",
    "hashrate_from_exposures",
    "host_hashrate",
    "session_rate",
]

LEVEL = 0.95


def garwood(n: float, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Garwood) two-sided interval for a Poisson mean after observing n events.
    Takes non-integer n for the equivalent count of a combined estimate."""
    alpha = 1.0 - level
    # chi2.ppf(q, 2k) / 2 is the inverse regularised gamma function at (k, q); scipy.special
    # imports in less than half the time of scipy.stats, which every scan would pay.
    low = 0.0 if n <= 0 else float(gammaincinv(n, alpha / 2))
    high = float(gammaincinv(n + 1, 1 - alpha / 2))
    return low, high


@dataclass(frozen=True)
class SessionRate:
    """One connection's estimate: rate (H/s), its variance, accepted shares, window."""

    rate: float
    variance: float
    accepted: int
    start: float
    end: float
    exposure: float  # seconds per expected hash, summed: N / exposure is the rate


def session_rate(s: MiningSession, hashes_per_difficulty: float | None) -> SessionRate | None:
    """None when the session's difficulties cannot be turned into hashes or it never
    received work."""
    if s.difficulty_unit == DifficultyUnit.POOL:
        if hashes_per_difficulty is None:
            return None
        scale = hashes_per_difficulty
    else:
        scale = 1.0
    work = [(t, d * scale) for t, d in s.work if d > 0]
    if not work:
        return None
    end = max(s.last_ts, work[-1][0])
    exposure = 0.0
    for (t, d), nxt in zip(work, [*work[1:], (end, 0.0)], strict=True):
        exposure += max(0.0, nxt[0] - t) / d
    if exposure <= 0:
        return None
    n = s.accepted
    return SessionRate(n / exposure, n / exposure**2, n, work[0][0], end, exposure)


def exposure_of(rate: SessionRate) -> Exposure:
    """The connection's exposure as a finding keeps it (times to the microsecond)."""
    return Exposure(
        datetime.fromtimestamp(rate.start, UTC),
        datetime.fromtimestamp(rate.end, UTC),
        rate.accepted,
        rate.exposure,
    )


def hashrate_from_exposures(exposures: Sequence[Exposure]) -> Hashrate | None:
    """A host's hashrate from the exposures of its connections: the estimate of one scan,
    and of a host's windows merged (the same connection seen twice counts once)."""
    rates = [
        SessionRate(
            x.accepted / x.exposure,
            x.accepted / x.exposure**2,
            x.accepted,
            x.start.timestamp(),
            x.end.timestamp(),
            x.exposure,
        )
        for x in sorted(set(exposures), key=lambda x: (x.start, x.end, x.exposure))
        if x.exposure > 0
    ]
    return host_hashrate(rates)


def host_hashrate(rates: Sequence[SessionRate]) -> Hashrate | None:
    """A host's hashrate over the union of its sessions' windows: each connection
    contributes its rate for the share of the window it covered."""
    if not rates:
        return None
    span = _union_length([(r.start, r.end) for r in rates])
    if span <= 0:
        return None
    weights = [(r.end - r.start) / span for r in rates]
    value = sum(r.rate * w for r, w in zip(rates, weights, strict=True))
    variance = sum(r.variance * w**2 for r, w in zip(rates, weights, strict=True))
    accepted = sum(r.accepted for r in rates)
    method = _method(accepted, span, len(rates))
    if accepted == 0:
        # No share: each connection bounds its own rate; their weighted sum bounds the host.
        ceiling = garwood(0)[1] * sum(w / r.exposure for r, w in zip(rates, weights, strict=True))
        return Hashrate(0.0, 0.0, ceiling, "H/s", method, 0, span)
    # The Poisson count with the same relative variance; for one connection it is N itself.
    n_eff = value**2 / variance
    low, high = garwood(n_eff)
    return Hashrate(value, value * low / n_eff, value * high / n_eff, "H/s", method, accepted, span)


def joint_hashrate(rates: Sequence[Hashrate]) -> Hashrate | None:
    """The sum of several hosts' hashrates (one algorithm) with a joint 95% interval: each
    estimate has relative variance 1/shares, and the sum is read as a Poisson count with the
    same relative variance. Hosts with no share add only to the ceiling."""
    if not rates:
        return None
    value = sum(r.value for r in rates)
    variance = sum(r.value**2 / r.shares for r in rates if r.shares > 0)
    ceiling_only = sum(r.high for r in rates if r.shares == 0)
    if value <= 0 or variance <= 0:
        return Hashrate(0.0, 0.0, ceiling_only, rates[0].unit, "no accepted share: upper bound only", 0, 0.0)
    n_eff = value**2 / variance
    low, high = garwood(n_eff)
    shares = sum(r.shares for r in rates)
    method = (
        f"sum over {len(rates)} hosts of accepted-share estimates ({shares} shares); "
        f"95% interval from the Poisson count with the same relative variance ({n_eff:.1f})"
    )
    return Hashrate(
        value, value * low / n_eff, value * high / n_eff + ceiling_only, rates[0].unit, method, shares
    )


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def _method(accepted: int, window_s: float, sessions: int) -> str:
    conns = "1 connection" if sessions == 1 else f"{sessions} connections"
    if accepted == 0:
        spread = "no accepted share: only an upper bound is known"
    else:
        low, high = garwood(accepted)
        spread = f"95% interval {low / accepted:.2f}-{high / accepted:.2f} x the estimate at this count"
        if accepted < 100:
            spread += f"; standard error about {100 / math.sqrt(accepted):.0f}%"
    return (
        f"accepted shares x difficulty in force / time mined: {accepted} shares over {window_s:.0f} s "
        f"on {conns}; {spread}; exact Poisson (Garwood) interval"
    )
