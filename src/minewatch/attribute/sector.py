"""An organisation's sector from its name and domain, by keyword tables in Chinese and
English (data/sector_keywords.csv), with the confidence and the keyword that decided."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from minewatch.datafiles import table_rows
from minewatch.model.attribution import Sector

__all__ = ["SectorGuess", "classify"]


@dataclass(frozen=True)
class SectorGuess:
    sector: Sector
    confidence: float
    basis: str


@dataclass(frozen=True)
class _Keyword:
    text: str
    sector: Sector
    weight: float
    pattern: re.Pattern[str]


def _pattern(keyword: str) -> re.Pattern[str]:
    """CJK keywords match anywhere; Latin ones as whole words; '.gov.cn' at a name's end."""
    if keyword.startswith("."):
        return re.compile(re.escape(keyword) + r"\.?$", re.IGNORECASE)
    if keyword.isascii():
        return re.compile(r"(?<![a-z0-9])" + re.escape(keyword) + r"(?![a-z0-9])", re.IGNORECASE)
    return re.compile(re.escape(keyword))


@cache
def _keywords() -> tuple[_Keyword, ...]:
    rows = table_rows("minewatch.attribute", "sector_keywords.csv")
    return tuple(
        _Keyword(r["keyword"], Sector(r["sector"]), float(r["weight"]), _pattern(r["keyword"])) for r in rows
    )


def classify(*names: str | None) -> SectorGuess:
    """The sector the strongest keyword in any of `names` (organisation, domain) says."""
    best: SectorGuess | None = None
    for name in names:
        if not name:
            continue
        for kw in _keywords():
            if kw.pattern.search(name) and (best is None or kw.weight > best.confidence):
                best = SectorGuess(kw.sector, kw.weight, f"'{kw.text}' in '{name}'")
    return best or SectorGuess(Sector.UNKNOWN, 0.0, "no sector keyword in the name")
