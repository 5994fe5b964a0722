"""`minewatch detect --follow`: detection decoupled from collection. Collectors write flow
files into the store (store-first, each file whole once it has its final name); this
follows the store, and every `window_s` runs the detectors over the files closed since
(the same `detect_stored` that `detect` runs), fuses their evidence into window findings
and writes them, as the in-line collector would have.

What has been read is kept in the store (`DIR/follow/<name>/date=D.done`, one file path
per line, appended after the findings are written), so a follower restarted, or killed,
goes on where it stopped: a window whose files were marked is not read twice, one whose
files were not is read again (if its findings were written just before a kill, they are
stored twice, and every episode counts a window stored twice once). The first pass lists
every partition (a follower started late, or down for long, catches up, `max_files` a
window, oldest first); later passes list only hour partitions changed within `horizon`
(a file renamed into a folder changes the folder), and hold only their days' lists, so a
store of months costs no more to follow than one of a day.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from minewatch.detect import fuse
from minewatch.detect.context import HomeNetworks
from minewatch.detect.standing import NameStanding
from minewatch.detect.stored import detect_stored
from minewatch.intel.indicators import IndicatorSet
from minewatch.model.findings import Finding
from minewatch.protocols.base import MiningSession
from minewatch.store import Store

__all__ = ["FollowOptions", "FollowStatus", "Follower"]


@dataclass(frozen=True)
class FollowOptions:
    intel: IndicatorSet
    window_s: float = 60.0
    poll_s: float = 2.0
    name: str = "detect"
    # Hour partitions not changed for this long are done with (collectors write the hour
    # they receive, so an hour stays open a little past its end).
    horizon_s: float = 6 * 3600.0
    # Files read in one window at most: a backlog is caught up window by window.
    max_files: int = 2000
    home: HomeNetworks = field(default_factory=HomeNetworks)
    standing: NameStanding = field(default_factory=NameStanding)
    # Applied to each window's findings before they are written (the probe's `--confirm`).
    confirm: Callable[[tuple[Finding, ...]], tuple[Finding, ...]] | None = None


@dataclass(frozen=True)
class FollowStatus:
    files: int
    records: int
    findings: int
    busy_s: float  # time spent detecting
    elapsed_s: float

    def line(self) -> str:
        rate = self.records / self.busy_s if self.busy_s > 0 else 0.0
        return (
            f"files {self.files:,} · records {self.records:,} ({rate:,.0f}/s while detecting, "
            f"busy {self.busy_s / self.elapsed_s:.0%} of the time) · findings {self.findings:,}"
            if self.elapsed_s > 0
            else "starting"
        )


class Follower:
    def __init__(self, store: Store, options: FollowOptions) -> None:
        self.store, self.options = store, options
        self.done_folder = store.root / "follow" / options.name
        self.done: dict[str, set[str]] = {}  # by day partition: the files read
        self.caught_up = False  # until then every partition is listed
        self.stop = threading.Event()
        self.files = self.records = self.findings = 0
        self.busy_s = 0.0
        self.started = time.monotonic()

    def status(self) -> FollowStatus:
        elapsed = time.monotonic() - self.started
        return FollowStatus(self.files, self.records, self.findings, self.busy_s, elapsed)

    def closed_files(self) -> list[Path]:
        """Flow files with their final name that this follower has not read, oldest first."""
        flows = self.store.root / "flows"
        recent = time.time() - self.options.horizon_s if self.caught_up else float("-inf")
        new: list[Path] = []
        days: set[str] = set()
        for folder in flows.glob("date=*/hour=*"):
            try:
                if folder.stat().st_mtime < recent:
                    continue
            except OSError:  # removed meanwhile
                continue
            day = folder.parent.name
            days.add(day)
            done = self._done(day)
            new.extend(p for p in folder.glob("part-*.parquet") if f"{folder.name}/{p.name}" not in done)
        for day in set(self.done) - days:  # a day no longer written: its list is let go
            del self.done[day]
        return sorted(new, key=_written_at)

    def _done(self, day: str) -> set[str]:
        if day not in self.done:
            self.done[day] = set(_lines(self.done_folder / f"{day}.done"))
        return self.done[day]

    def step(self) -> int:
        """One window: detect over the files closed since the last, write the findings,
        then note the files as read. Returns how many findings were written."""
        waiting = self.closed_files()
        paths = waiting[: self.options.max_files]
        self.caught_up = len(waiting) <= self.options.max_files
        if not paths:
            return 0
        began = time.monotonic()
        sessions: dict[tuple[str | None, int], MiningSession] = {}
        evidence = detect_stored(
            paths,
            self.options.intel,
            self.options.home,
            source=str(self.store.root),
            sessions=sessions,
            standing=self.options.standing,
        )
        found = tuple(fuse(list(evidence), sessions))
        if self.options.confirm is not None:
            found = self.options.confirm(found)
        written = self.store.write_findings(found)
        self.done_folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            day, entry = path.parent.parent.name, f"{path.parent.name}/{path.name}"
            with (self.done_folder / f"{day}.done").open("a", encoding="utf-8") as f:
                f.write(entry + "\n")
            self._done(day).add(entry)
        self.files += len(paths)
        self.records += _rows(paths)
        self.findings += written
        self.busy_s += time.monotonic() - began
        return written

    def run(
        self, duration_s: float | None = None, on_status: Callable[[FollowStatus], None] | None = None
    ) -> None:
        deadline = None if duration_s is None else time.monotonic() + duration_s
        next_window = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if now >= next_window:
                self.step()
                next_window = now + self.options.window_s
                if on_status is not None:
                    on_status(self.status())
            self.stop.wait(min(self.options.poll_s, max(0.0, next_window - time.monotonic())))
        self.step()  # what closed before the stop is read
        if on_status is not None:
            on_status(self.status())


def _written_at(path: Path) -> tuple[float, str]:
    try:
        return path.stat().st_mtime, path.name
    except OSError:
        return 0.0, path.name


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    except OSError:
        return []


def _rows(paths: list[Path]) -> int:
    import pyarrow.parquet as pq

    total = 0
    for path in paths:
        try:
            total += pq.read_metadata(path).num_rows
        except OSError:
            continue
    return total
