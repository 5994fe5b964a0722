"""Probe results kept with the time they were measured, reused until their TTL runs out:
in memory, or in a JSON Lines file (the store's `probe-cache.jsonl`, or `--probe-cache`)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from minewatch.probe.result import ProbeResult, Target

__all__ = ["CACHE_FILE", "ProbeCache"]

CACHE_FILE = "probe-cache.jsonl"
log = logging.getLogger("minewatch.probe")


def _now() -> datetime:
    return datetime.now(UTC)


class ProbeCache:
    """Results by target; a file-backed cache reads its file once and `save` rewrites it."""

    def __init__(
        self, path: Path | None = None, ttl: timedelta = timedelta(days=1), now: Callable[[], datetime] = _now
    ) -> None:
        self.path, self.ttl, self.now = path, ttl, now
        self.results: dict[Target, ProbeResult] = {}
        if path is not None and path.is_file():
            self._load(path)

    def _load(self, path: Path) -> None:
        # A bad line (a torn write, an edit, bytes that are not UTF-8) costs that line only.
        for n, raw in enumerate(path.read_bytes().splitlines(), 1):
            try:
                doc = json.loads(raw.decode("utf-8"))
                if not isinstance(doc, dict):
                    raise TypeError("not an object")
                r = ProbeResult.from_json(doc)
                if r.measured.tzinfo is None:
                    raise ValueError("a time without its zone")
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                log.warning("%s:%d: not a probe result, ignored", path, n)
                continue
            self.results[r.target] = r

    def get(self, target: Target) -> ProbeResult | None:
        """The result for `target` measured within the TTL, marked as cached; else None."""
        r = self.results.get(target)
        if r is None or self.now() - r.measured > self.ttl:
            return None
        return dataclasses.replace(r, cached=True)

    def put(self, result: ProbeResult) -> None:
        self.results[result.target] = dataclasses.replace(result, cached=False)

    def save(self) -> None:
        """Write the unexpired results to the file (atomically), if there is one."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fresh = [r for r in self.results.values() if self.now() - r.measured <= self.ttl]
        with tmp.open("w", encoding="utf-8") as f:
            for r in sorted(fresh, key=lambda r: r.target.sort_key):
                f.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
        tmp.replace(self.path)
