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


@pytest.fixture(scope="session")
def postgres_server() -> Any:
    from tests.pg import server_url

    yield from server_url()


@pytest.fixture(scope="session")
def spark() -> Any:
    """A Spark session on a real standalone cluster (tests/spark.py); the test is skipped
    only where PySpark is not installed (it is the extra minewatch[spark])."""
    pytest.importorskip("pyspark", reason="PySpark is not installed: pip install -e '.[spark]'")
    from tests.spark import spark_session

    yield from spark_session()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The cases database, on SQLite (the default) and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.sqlite'}"
    from tests.pg import fresh_database

    return fresh_database(request.getfixturevalue("postgres_server"))
