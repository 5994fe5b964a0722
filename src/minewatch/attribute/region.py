"""A place from an organisation's name, when the inventory gives none: province / city /
county and the administrative division code, by cpca (Chinese place names to codes)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RegionGuess", "from_name", "learn"]


@dataclass(frozen=True)
class RegionGuess:
    path: tuple[str, ...]
    code: str | None
    basis: str


_known: dict[str, RegionGuess | None] = {}


def learn(names: list[str | None]) -> None:
    """Read many names at once (one pass of cpca over all of them is far cheaper than one
    per name); `from_name` then answers from memory."""
    todo = sorted({n for n in names if n and not n.isascii() and n not in _known})
    if not todo:
        return
    import cpca  # pandas and a place table: loaded only when a name must be read

    table = cpca.transform(todo)
    for name, (_, row) in zip(todo, table.iterrows(), strict=True):
        path = tuple(str(row[k]) for k in ("省", "市", "区") if isinstance(row[k], str) and row[k])
        code = row["adcode"] if isinstance(row["adcode"], str) else None
        _known[name] = RegionGuess(path, code, f"place name in '{name}'") if path else None


def from_name(name: str | None) -> RegionGuess | None:
    """The place a name mentions (南京大学 -> 江苏省 / 南京市, 320100); None if none."""
    if not name or name.isascii():
        return None
    if name not in _known:
        learn([name])
    return _known.get(name)
