"""bench/serve.py in small: a real server on loopback takes findings from a sensor and
serves the queue to concurrent people without an error, on SQLite and PostgreSQL (the
full run, 10,000 findings, is the benchmark)."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_bounded_load_on_loopback(db: str) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import serve

    [result] = serve.main(
        ["--findings", "400", "--requests", "120", "--concurrency", "8", "--seconds", "30", "--db", db]
    )
    assert result["push_errors"] == 0
    assert result["totals"] == {"province": 400, "county": 50}
    for load in result["loads"]:
        assert load.errors == 0 and load.requests == 120, load.label
