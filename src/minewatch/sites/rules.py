"""The signal data files (data/*.csv) read into typed rules, once per process."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from minewatch.datafiles import table_rows
from minewatch.detect.behaviour import USUAL_POOL_PORTS
from minewatch.sites.classes import SiteClass

__all__ = ["Keyword", "Pattern", "Rules", "WalletRule", "rules"]

_PACKAGE = "minewatch.sites"


@dataclass(frozen=True)
class Keyword:
    cls: SiteClass
    lang: str  # en or zh
    kind: str  # keyword or structure
    text: str
    weight: float
    source: str


@dataclass(frozen=True)
class Pattern:
    cls: SiteClass | None  # None: neutral, adds to the leading crypto class only
    kind: str
    where: str  # text, script or link
    regex: re.Pattern[str]
    weight: float
    source: str


@dataclass(frozen=True)
class WalletRule:
    fmt: str
    cls: SiteClass
    weight: float
    source: str


@dataclass(frozen=True)
class Rules:
    keywords: tuple[Keyword, ...]
    patterns: tuple[Pattern, ...]
    wallets: dict[str, WalletRule]
    webminer_domains: tuple[str, ...]


def _pattern(row: dict[str, str]) -> Pattern:
    ports = "|".join(str(p) for p in USUAL_POOL_PORTS)
    regex = re.compile(row["pattern"].replace("{pool_ports}", ports), re.IGNORECASE)
    cls = None if row["class"] == "*" else SiteClass(row["class"])
    return Pattern(cls, row["kind"], row["where"], regex, float(row["weight"]), row["source"])


@cache
def rules() -> Rules:
    """The bundled rules: keywords, patterns, wallet formats, and the web-miner domains of
    the bundled indicator list (minewatch.intel)."""
    keywords = tuple(
        Keyword(SiteClass(r["class"]), r["lang"], r["kind"], r["keyword"], float(r["weight"]), r["source"])
        for r in table_rows(_PACKAGE, "keywords.csv")
    )
    patterns = tuple(_pattern(r) for r in table_rows(_PACKAGE, "patterns.csv"))
    wallets = {
        r["format"]: WalletRule(r["format"], SiteClass(r["class"]), float(r["weight"]), r["source"])
        for r in table_rows(_PACKAGE, "wallets.csv")
    }
    domains = tuple(
        r["indicator"]
        for r in table_rows("minewatch.intel", "indicators.csv")
        if r["category"] == "web-miner" and r["kind"] == "domain"
    )
    return Rules(keywords, patterns, wallets, domains)
