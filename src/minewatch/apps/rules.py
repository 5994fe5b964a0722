"""The app signal data file (data/signals.csv) read into typed rules, once per process."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from minewatch.datafiles import table_rows
from minewatch.sites.classes import SiteClass

__all__ = ["AppRule", "app_rules"]

WHERE = ("package", "code", "lib", "permission")


@dataclass(frozen=True)
class AppRule:
    cls: SiteClass
    kind: str  # package, sdk, api-host, native-lib, miner-option, stratum, algorithm, permission, ...
    where: str  # one of WHERE
    regex: re.Pattern[str]
    weight: float
    source: str


def _rule(row: dict[str, str]) -> AppRule:
    if row["where"] not in WHERE:
        raise ValueError(f"apps/data/signals.csv: where {row['where']!r} is not one of {WHERE}")
    regex = re.compile(row["pattern"], re.IGNORECASE)
    return AppRule(
        SiteClass(row["class"]), row["kind"], row["where"], regex, float(row["weight"]), row["source"]
    )


@cache
def app_rules() -> tuple[AppRule, ...]:
    """The bundled app rules, in file order."""
    return tuple(_rule(r) for r in table_rows("minewatch.apps", "signals.csv"))
