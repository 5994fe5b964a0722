"""How hard probing may push: per destination (one probe of a target per interval) and in
total (a token bucket of connections per second, and a bound on probes at once), so a scan
that suspects 10,000 servers cannot flood anyone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LimitSettings", "Limiter"]


@dataclass(frozen=True)
class LimitSettings:
    """`rate_per_s` connections a second on average, `burst` at once after a pause;
    `concurrency` targets probed at the same time; `interval_s` between two probes of one
    target; `max_connections` per probe of a target; `max_targets` probed in one run (the
    rest are reported not probed)."""

    rate_per_s: float = 2.0
    burst: int = 4
    concurrency: int = 8
    interval_s: float = 600.0
    max_connections: int = 6
    max_targets: int = 256


class Limiter:
    """The token bucket and the per-target clock. Used from one event loop at a time."""

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.tokens = float(settings.burst)
        self.refilled = clock()
        self.last_probe: dict[object, float] = {}
        self.probes = 0

    async def connection(self) -> None:
        """Wait for the bucket to allow one more connection."""
        rate, burst = self.settings.rate_per_s, self.settings.burst
        while True:
            now = self.clock()
            self.tokens = min(float(burst), self.tokens + (now - self.refilled) * rate)
            self.refilled = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            await asyncio.sleep((1.0 - self.tokens) / rate)

    def start_run(self) -> None:
        """A new run (a command, or a collector's window) with its own budget of targets."""
        self.probes = 0

    def too_soon(self, key: object) -> float | None:
        """Seconds since `key` was last probed, if that is within the interval."""
        last = self.last_probe.get(key)
        if last is None:
            return None
        ago = self.clock() - last
        return ago if ago < self.settings.interval_s else None

    def begin(self, key: object) -> bool:
        """Count a probe of `key`; False when the run's budget of targets is spent."""
        if self.probes >= self.settings.max_targets:
            return False
        self.probes += 1
        self.last_probe[key] = self.clock()
        return True
