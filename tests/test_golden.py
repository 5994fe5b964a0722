"""Findings of chosen captures equal their golden files (see tests/golden)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.golden import CASES, golden_path, normalised, render


@pytest.mark.parametrize("capture", CASES, ids=lambda p: p.name)
def test_matches_golden(capture: Path) -> None:
    expected = golden_path(capture).read_text()
    actual = render(normalised(capture))
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "golden", "now")
        )
        pytest.fail(f"findings of {capture.name} changed (regenerate: python -m tests.golden):\n{diff}")
