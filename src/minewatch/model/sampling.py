"""How a figure from sampled flow records says it is an estimate.

A 1-in-N sampling exporter's packets and bytes are scaled by N where they are decoded
(engine/src/sampling.rs); the flow record keeps N in `sampling_rate`. Evidence on such a
record ends its detail with `scaled_counts(N)`, and the bulletin's notes say which hosts'
bytes and Mbit/s are scaled (`scaled_rate` reads N back from the detail).
"""

from __future__ import annotations

import re

__all__ = ["MAX_RATE", "scaled_counts", "scaled_rate"]

# The largest rate N believed or assumed (engine/src/sampling.rs MAX_RATE).
MAX_RATE = 1_000_000

_CLAUSE = "; packets, bytes and Mbit/s scaled from 1-in-{rate} sampled flow records (estimates)"
_RATE = re.compile(r"scaled from 1-in-([0-9.]+) sampled flow records")


def scaled_counts(rate: float | None) -> str:
    """The clause an evidence detail ends with when its counts are scaled from sampled
    records; empty for unsampled ones (rate None or 1)."""
    if rate is None or rate <= 1.0:
        return ""
    return _CLAUSE.format(rate=f"{rate:g}")


def scaled_rate(detail: str) -> float | None:
    """The sampling rate an evidence detail says its counts were scaled by, or None."""
    found = _RATE.search(detail)
    return float(found.group(1)) if found else None
