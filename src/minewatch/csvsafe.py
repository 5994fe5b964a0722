"""CSV a person may open in a spreadsheet: a cell that starts with = + - @ (or tab, CR)
is run there as a formula (CSV injection), and names in our CSVs come from pushed
findings, inventories and downloaded feeds. Such text is written with a leading quote,
which spreadsheets show as text; numbers are written as they are."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_writer"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])


def safe_writer(out: TextIO) -> _SafeWriter:
    """A `csv.writer` whose every text cell goes through `safe_cell`."""
    return _SafeWriter(out)
