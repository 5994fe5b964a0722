"""A place from an organisation's name, when the inventory gives none: province / city /
county and the administrative division code, by cpca (Chinese place names to codes)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["RegionGuess", "from_name"]


@dataclass(frozen=True)
class RegionGuess:
    path: tuple[str, ...]
    code: str | None
    basis: str


@lru_cache(maxsize=65_536)
def from_name(name: str | None) -> RegionGuess | None:
    """The place a name mentions (南京大学 -> 江苏省 / 南京市, 320100); None if none."""
    if not name or name.isascii():
        return None
    import cpca  # pandas and a place table: loaded only when a name must be read

    row = cpca.transform([name]).iloc[0]
    path = tuple(str(row[k]) for k in ("省", "市", "区") if isinstance(row[k], str) and row[k])
    if not path:
        return None
    code = row["adcode"] if isinstance(row["adcode"], str) else None
    return RegionGuess(path, code, f"place name in '{name}'")
