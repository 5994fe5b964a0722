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

from scipy.stats import chi2

from minewatch.model.findings import Hashrate
from minewatch.protocols.base import MiningSession
from minewatch.protocols.session import DifficultyUnit

__all__ = ["SessionRate", "garwood", "host_hashrate", "session_rate"]

LEVEL = 0.95


def garwood(n: float, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Garwood) two-sided interval for a Poisson mean after observing n events.
    Takes non-integer n for the equivalent count of a combined estimate."""
    alpha = 1.0 - level
    low = 0.0 if n <= 0 else float(chi2.ppf(alpha / 2, 2 * n)) / 2
    high = float(chi2.ppf(1 - alpha / 2, 2 * n + 2)) / 2
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


def _overlap(a: SessionRate, b: SessionRate) -> bool:
    return a.start < b.end and b.start < a.end


def host_hashrate(rates: Sequence[SessionRate], unit_note: str = "") -> Hashrate | None:
    """A host's hashrate over the union of its sessions' windows."""
    if not rates:
        return None
    if len(rates) == 1:
        r = rates[0]
        low, high = garwood(r.accepted)
        return Hashrate(
            value=r.rate,
            low=low / r.exposure,
            high=high / r.exposure,
            unit="H/s",
            method=_method(r.accepted, r.end - r.start, 1, unit_note),
            shares=r.accepted,
            window_s=r.end - r.start,
        )
    ordered = sorted(rates, key=lambda r: r.start)
    span = _union_length([(r.start, r.end) for r in ordered])
    if span <= 0:
        return None
    # Each connection contributes its rate for the share of the window it covered.
    value = sum(r.rate * (r.end - r.start) / span for r in ordered)
    variance = sum(r.variance * ((r.end - r.start) / span) ** 2 for r in ordered)
    accepted = sum(r.accepted for r in ordered)
    if value <= 0 or variance <= 0:
        # No shares: the upper bound of the pooled exposure is the honest statement.
        pooled = sum(r.exposure for r in ordered if not any(_overlap(r, o) for o in ordered if o is not r))
        exposure = pooled or max(r.exposure for r in ordered)
        return Hashrate(
            0.0, 0.0, garwood(0)[1] / exposure, "H/s", _method(0, span, len(ordered), unit_note), 0, span
        )
    n_eff = value**2 / variance
    low, high = garwood(n_eff)
    return Hashrate(
        value=value,
        low=value * low / n_eff,
        high=value * high / n_eff,
        unit="H/s",
        method=_method(accepted, span, len(ordered), unit_note),
        shares=accepted,
        window_s=span,
    )


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(spans):
        if cur_end is None or start > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total


def _method(accepted: int, window_s: float, sessions: int, note: str) -> str:
    conns = "1 connection" if sessions == 1 else f"{sessions} connections"
    if accepted == 0:
        spread = "no accepted share: only an upper bound is known"
    else:
        low, high = garwood(accepted)
        spread = f"95% interval {low / accepted:.2f}-{high / accepted:.2f} x the estimate at this count"
        if accepted < 100:
            spread += f"; standard error about {100 / math.sqrt(accepted):.0f}%"
    text = (
        f"accepted shares x difficulty in force / time mined: {accepted} shares over {window_s:.0f} s "
        f"on {conns}; {spread}; exact Poisson (Garwood) interval"
    )
    return f"{text}; {note}" if note else text
