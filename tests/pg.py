"""A real PostgreSQL for the tests: the server .ci/run started (MINEWATCH_TEST_POSTGRES),
else one started here for this test process; each test gets a database of its own."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import psycopg

from tests.conftest import ROOT
from tests.ports import free_port

__all__ = ["fresh_database", "server_url"]


def server_url() -> Iterator[str]:
    given = os.environ.get("MINEWATCH_TEST_POSTGRES")
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="minewatch-pg-")
    script = str(ROOT / "scripts" / "postgres")
    url = subprocess.run(
        [script, "start", folder, str(free_port())], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([script, "stop", folder], check=False, capture_output=True)


def fresh_database(server: str) -> str:
    """A new, empty database on the server; its SQLAlchemy URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name
