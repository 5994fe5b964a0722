"""A server name's standing: the names of well-known services (a bundled list of the push,
chat and platform services that hold phones' and PCs' long-lived connections, a popular
list such as Tranco's, and the names the user allows) weigh against mining.

Standing is evidence, not a verdict: it divides the behavioural model's odds by
`ODDS_AGAINST`, so timing alone never names such a server a pool, while a blocklist match
or a dissected stratum session still does (a miner may send any SNI it likes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from minewatch.errors import IntelFileError

__all__ = ["ODDS_AGAINST", "NameStanding", "bundled_names", "read_names"]

# A well-known name makes mining this many times less likely than its timing says.
ODDS_AGAINST = 1000.0


def _clean(name: str) -> str:
    return name.strip().strip(".").lower()


def read_names(path: Path) -> frozenset[str]:
    """Names from a file: one per line (# comments), or a ranked list as Tranco and
    Cisco Umbrella publish it ("rank,domain" per line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IntelFileError(str(path), f"cannot read the name list ({exc})") from exc
    names = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name = _clean(line.rsplit(",", 1)[-1])
        if not name or " " in name or len(name) > 253:
            raise IntelFileError(str(path), f"not a domain name: {raw.strip()[:80]!r}", number)
        names.add(name)
    return frozenset(names)


@cache
def bundled_names() -> frozenset[str]:
    """The bundled list (data/popular_names.txt, with its sources)."""
    ref = resources.files("minewatch.detect").joinpath("data/popular_names.txt")
    with resources.as_file(ref) as path:
        return read_names(path)


@dataclass(frozen=True)
class NameStanding:
    """Names of standing: a name matches itself and every name below it."""

    names: frozenset[str] = field(default_factory=bundled_names)

    def with_names(self, extra: Iterable[str]) -> NameStanding:
        return NameStanding(self.names | {_clean(n) for n in extra if _clean(n)})

    def known(self, name: str | None) -> bool:
        if not name:
            return False
        labels = _clean(name).split(".")
        return any(".".join(labels[i:]) in self.names for i in range(len(labels)))

    def mask(self, names: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
        """Per row: whether the server name has standing (each distinct name looked up once)."""
        values = names.to_pylist()
        verdict = {n: self.known(n) for n in set(values)}
        return np.fromiter((verdict[n] for n in values), dtype=bool, count=len(values))
