"""Which coin an algorithm serves (data/algorithms.csv)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Algorithm", "algorithm_info"]


@dataclass(frozen=True)
class Algorithm:
    name: str
    coin: str
    family: str


@cache
def _table() -> dict[str, Algorithm]:
    text = (resources.files("minewatch.estimate") / "data" / "algorithms.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(ln for ln in text.splitlines() if not ln.startswith("#"))
    return {r["algorithm"]: Algorithm(r["algorithm"], r["coin"], r["family"]) for r in rows}


def algorithm_info(name: str | None) -> Algorithm | None:
    """The table row for an algorithm name as seen on the wire (case-insensitive)."""
    return _table().get(name.lower()) if name else None
