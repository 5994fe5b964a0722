"""The CSV tables shipped inside the package (sources and comments on `#` lines)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from importlib import resources

__all__ = ["table_rows"]


def table_rows(package: str, name: str) -> Iterator[dict[str, str]]:
    """Rows of `package`/data/`name`, comment and blank lines left out."""
    text = resources.files(package).joinpath("data", name).read_text(encoding="utf-8")
    yield from csv.DictReader(ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
