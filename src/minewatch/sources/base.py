"""What every source hands on: the engine's Arrow batches as they come, then a report."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pyarrow as pa

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.model.findings import InputReport
from minewatch.options import ACTIVE_TIMEOUT, IDLE_TIMEOUT

__all__ = ["BatchCapture", "Capture", "EngineBatch", "EngineOptions", "report_from_stats"]

# ("flows" | "messages", batch). A connection's messages come before its flow record.
EngineBatch = tuple[str, pa.RecordBatch]


@dataclass(frozen=True)
class EngineOptions:
    """Flow-table settings (seconds and bytes) and the threads one capture may use."""

    idle_timeout_s: float = IDLE_TIMEOUT.default
    active_timeout_s: float = ACTIVE_TIMEOUT.default
    max_message_bytes: int = 64 * 1024
    max_messages_per_flow: int = 50_000
    batch_rows: int = 65_536
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Below this size a second engine thread costs more than it saves.
    parallel_min_bytes: int = 64 * 1024 * 1024

    def to_engine(self) -> _engine.Options:
        return _engine.Options(
            idle_timeout_s=self.idle_timeout_s,
            active_timeout_s=self.active_timeout_s,
            max_message_bytes=self.max_message_bytes,
            max_messages_per_flow=self.max_messages_per_flow,
            batch_rows=self.batch_rows,
        )


class Capture(Protocol):
    """One input as the engine reads it. `batches` may raise CaptureReadError before the
    first batch; `report` is valid once the batches are exhausted."""

    @property
    def source(self) -> str: ...

    def batches(self) -> Iterator[EngineBatch]: ...

    def report(self, flows: int) -> InputReport: ...


@dataclass(frozen=True)
class BatchCapture:
    """A capture already read whole (a live interface, for its bounded duration)."""

    source: str
    held: tuple[EngineBatch, ...]
    stats: _engine.Stats

    def batches(self) -> Iterator[EngineBatch]:
        yield from self.held

    def report(self, flows: int) -> InputReport:
        return report_from_stats(self.source, self.stats, flows)


def report_from_stats(source: str, stats: _engine.Stats, flows: int) -> InputReport:
    notes = []
    if stats.warning:
        notes.append(stats.warning)
    for linktype, count in stats.unknown_linktypes:
        notes.append(f"link type {linktype} is not supported: {count} packets skipped")
    return InputReport(
        source=source,
        packets=stats.packets,
        bytes=stats.wire_bytes,
        flows=flows,
        warning="; ".join(notes) or None,
        first_seen=_time(stats.first_us),
        last_seen=_time(stats.last_us),
    )


def _time(us: int | None) -> datetime | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, UTC)
