"""What every source hands on: flows and messages as Arrow tables, and a report."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.model.findings import InputReport
from minewatch.model.schema import ENGINE_FLOW_SCHEMA, MESSAGE_SCHEMA

__all__ = ["Capture", "EngineOptions", "Source", "tables_from_engine"]


@dataclass(frozen=True)
class EngineOptions:
    """Flow-table settings (seconds and bytes) and the threads one capture may use."""

    idle_timeout_s: float = 300.0
    active_timeout_s: float = 3600.0
    max_message_bytes: int = 64 * 1024
    max_messages_per_flow: int = 50_000
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)

    def to_engine(self) -> _engine.Options:
        return _engine.Options(
            idle_timeout_s=self.idle_timeout_s,
            active_timeout_s=self.active_timeout_s,
            max_message_bytes=self.max_message_bytes,
            max_messages_per_flow=self.max_messages_per_flow,
        )


@dataclass(frozen=True)
class Capture:
    """One input, read: its flows (engine schema), its cut messages, and how it went."""

    source: str
    flows: pa.Table
    messages: pa.Table
    report: InputReport


class Source(Protocol):
    """Anything that yields captures: files, a live interface, a fake in tests."""

    def read(self) -> Capture: ...


def tables_from_engine(
    flow_batches: list[pa.RecordBatch], message_batches: list[pa.RecordBatch]
) -> tuple[pa.Table, pa.Table]:
    flows = pa.Table.from_batches(flow_batches, schema=ENGINE_FLOW_SCHEMA)
    messages = pa.Table.from_batches(message_batches, schema=MESSAGE_SCHEMA)
    return flows, messages


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
    )
