"""Capture files and directories of them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.errors import CaptureReadError
from minewatch.sources.base import Capture, EngineOptions, report_from_stats, tables_from_engine

__all__ = ["CAPTURE_SUFFIXES", "expand_paths", "read_capture"]

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".dmp")
# Below this size a second engine thread costs more than it saves.
PARALLEL_MIN_BYTES = 64 * 1024 * 1024


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


def read_capture(path: Path, options: EngineOptions) -> Capture:
    """Read one capture through the engine. Raises CaptureReadError if nothing can be read;
    a file cut short or corrupt part-way is read up to the damage and reported."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise CaptureReadError(str(path), (e.strerror or str(e)).lower()) from e
    workers = options.workers if size >= PARALLEL_MIN_BYTES else 1
    try:
        flow_batches, message_batches, stats = _engine.scan_file(str(path), options.to_engine(), workers)
    except _engine.CaptureError as e:
        raise CaptureReadError(str(path), str(e)) from e
    flows, messages = tables_from_engine(flow_batches, message_batches)
    return Capture(str(path), flows, messages, report_from_stats(str(path), stats, flows.num_rows))
