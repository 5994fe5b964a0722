"""Shared test helpers: where the shared captures are, and scanning to JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from minewatch.report.jsonl import finding_to_json
from minewatch.scan import ScanOptions, scan_paths

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MINEWATCH_SHARED", ROOT.parent / "shared"))
CAPTURES = SHARED / "captures"
REAL = CAPTURES / "real-miners"
NDPI = CAPTURES / "ndpi" / "pcap"
ZEEK = CAPTURES / "zeek-cryptomining"
INTEL = SHARED / "intel"

if not CAPTURES.is_dir():
    pytest.exit(f"shared captures not found at {CAPTURES} (set MINEWATCH_SHARED)", returncode=1)


def manifest() -> list[dict[str, Any]]:
    return json.loads((REAL / "manifest.json").read_text())["captures"]  # type: ignore[no-any-return]


def scan_json(*paths: Path, options: ScanOptions | None = None) -> list[dict[str, Any]]:
    result = scan_paths(list(paths), options or ScanOptions())
    return [finding_to_json(f) for f in result.findings]
