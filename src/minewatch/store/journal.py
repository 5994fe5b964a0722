"""What each writer into a store (a collector) has done, kept beside the data so that the
next start can say what a run that ended without stopping (kill -9, power loss) left
unfinished. One small JSON file per writer, replaced atomically at every flush:

    DIR/writers/<tag>.json   {"tag", "host", "pid", "listen", "started", "state",
                              "flushed_at", "written", "flows", "noted_at", "received",
                              "assumed_rate"}

`written` counts the records in files at the last flush (`flows` the flows they made);
`received` the records taken in by the last note, made at every poll (a few seconds). A
run killed after its last note lost at least `received - written` records, and whatever
came after the note: at most `flush_s` seconds of records in all, plus the socket's poll.
`assumed_rate` is the sampling rate the run assumed for exporters that announce none
(`collect --sampling-rate`; 1 unless told): the stored flows say N, this says N was
assumed by whoever started the run, not announced by a router."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Journal", "RunRecord", "unfinished_runs"]

FOLDER = "writers"


@dataclass(frozen=True)
class RunRecord:
    tag: str
    host: str
    pid: int
    listen: str
    started: str
    state: str  # running | stopped | unfinished (found so by a later start)
    flushed_at: str | None = None
    written: int = 0
    flows: int = 0
    noted_at: str | None = None
    received: int = 0
    assumed_rate: int = 1

    def line(self) -> str:
        """What a person reads about a run that did not stop."""
        last = f"its last flush at {self.flushed_at}" if self.flushed_at else "it never flushed"
        lost = max(0, self.received - self.written)
        return (
            f"writer {self.tag} (pid {self.pid} on {self.host}, {self.listen}, started {self.started}) "
            f"ended without stopping; {last} had {self.flows:,} flows in files from {self.written:,} "
            f"records; it had received {self.received:,} by {self.noted_at or 'then'}: at least {lost:,} "
            "records were lost, and any received after that"
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write(path: Path, record: RunRecord) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(asdict(record)) + "\n")
    temporary.replace(path)


def _read(path: Path) -> RunRecord | None:
    try:
        data = json.loads(path.read_text())
        return RunRecord(**data)
    except (OSError, ValueError, TypeError):  # a hand-edited or foreign file: not ours to judge
        return None


def _alive(record: RunRecord) -> bool:
    """Whether the run's process still runs (only knowable on its own host)."""
    if record.host != socket.gethostname():
        return True
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Journal:
    """One writer's journal in a store (noted from the receiving thread, flushed from the
    writing one)."""

    def __init__(self, root: Path, tag: str, listen: str, assumed_rate: int = 1) -> None:
        self.path = root / FOLDER / f"{tag}.json"
        self.lock = threading.Lock()
        self.last_note = 0.0
        self.record = RunRecord(
            tag, socket.gethostname(), os.getpid(), listen, _now(), "running", assumed_rate=assumed_rate
        )
        _write(self.path, self.record)

    def _update(self, **changes: object) -> None:
        with self.lock:
            self.record = replace(self.record, **changes)  # type: ignore[arg-type]
            _write(self.path, self.record)

    def noted(self, received: int) -> None:
        """The records received so far (written at most once a second)."""
        now = time.monotonic()
        if received != self.record.received and now - self.last_note >= 1.0:
            self.last_note = now
            self._update(noted_at=_now(), received=received)

    def flushed(self, written: int, flows: int) -> None:
        self._update(flushed_at=_now(), written=written, flows=flows)

    def stopped(self) -> None:
        self._update(state="stopped")


def unfinished_runs(root: Path) -> list[RunRecord]:
    """Runs that ended without stopping and whose process is gone; each is marked
    `unfinished` so it is reported once, and its half-written files are removed."""
    found = []
    for path in sorted((root / FOLDER).glob("*.json")):
        record = _read(path)
        if record is None or record.state != "running" or _alive(record):
            continue
        found.append(record)
        _write(path, replace(record, state="unfinished"))
        # Its own half-written files only: matched whole, so that a tag which begins
        # another's (`vm` and `vm-1234`) never takes the other's file mid-write.
        own = re.compile(rf"\.part-{re.escape(record.tag)}-[0-9a-f]{{16}}\.parquet\.tmp")
        temporary = [*(root / "flows").glob("*/*/.part-*.tmp"), *(root / "findings").glob("*/.part-*.tmp")]
        for leftover in temporary:
            if own.fullmatch(leftover.name):
                leftover.unlink(missing_ok=True)
    return found
