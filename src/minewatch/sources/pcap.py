"""Capture files and directories of them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.errors import CaptureReadError
from minewatch.model.findings import InputReport
from minewatch.model.schema import ENGINE_FLOW_SCHEMA, MESSAGE_SCHEMA
from minewatch.sources.base import EngineBatch, EngineOptions, report_from_stats

__all__ = ["CAPTURE_SUFFIXES", "FileCapture", "expand_paths", "read_tables"]

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".dmp")


def expand_paths(paths: Iterable[Path]) -> tuple[list[Path], list[CaptureReadError]]:
    """The capture files named by `paths` (directories searched recursively, sorted),
    and one error for each path that is missing or holds no capture."""
    files: list[Path] = []
    errors: list[CaptureReadError] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in CAPTURE_SUFFIXES and p.is_file())
            if not found:
                errors.append(CaptureReadError(str(path), "directory holds no .pcap or .pcapng files"))
            files.extend(found)
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            errors.append(CaptureReadError(str(path), "no such file or directory"))
    return files, errors


class FileCapture:
    """A pcap or pcapng file, read by the engine on its own threads while the caller
    consumes batches; nothing is read until `batches` is iterated."""

    def __init__(self, path: Path, options: EngineOptions) -> None:
        self.path = path
        self.options = options
        self._stats: _engine.Stats | None = None

    @property
    def source(self) -> str:
        return str(self.path)

    def batches(self) -> Iterator[EngineBatch]:
        """Raises CaptureReadError if nothing can be read; a file cut short or corrupt
        part-way is read up to the damage and the damage is in the report."""
        try:
            size = self.path.stat().st_size
        except OSError as e:
            raise CaptureReadError(self.source, (e.strerror or str(e)).lower()) from e
        workers = self.options.workers if size >= self.options.parallel_min_bytes else 1
        scan = _engine.Scan(self.source, self.options.to_engine(), workers)
        try:
            yield from scan
        except _engine.CaptureError as e:
            raise CaptureReadError(self.source, str(e)) from e
        self._stats = scan.stats

    def report(self, flows: int) -> InputReport:
        if self._stats is None:
            raise RuntimeError(f"{self.source}: report asked for before the scan ended")
        return report_from_stats(self.source, self._stats, flows)


def read_tables(path: Path, options: EngineOptions) -> tuple[pa.Table, pa.Table, InputReport]:
    """A whole capture as (flows, messages, report): for tests and small files."""
    capture = FileCapture(path, options)
    flows: list[pa.RecordBatch] = []
    messages: list[pa.RecordBatch] = []
    for kind, batch in capture.batches():
        (flows if kind == "flows" else messages).append(batch)
    flow_table = pa.Table.from_batches(flows, schema=ENGINE_FLOW_SCHEMA)
    return (
        flow_table,
        pa.Table.from_batches(messages, schema=MESSAGE_SCHEMA),
        capture.report(flow_table.num_rows),
    )
