"""Signals: each one thing on a page that says what kind of site it is, with its weight
and the data row it came from. Extractors are small functions in one registry."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from minewatch.sites.classes import SiteClass
from minewatch.sites.rules import Rules
from minewatch.sites.text import PageText, segmenter
from minewatch.sites.wallets import find_addresses

__all__ = ["EXTRACTORS", "Signal", "extract"]


@dataclass(frozen=True)
class Signal:
    kind: str  # keyword, structure, stratum, pool-endpoint, trading-pair, script, app-link, wallet
    cls: SiteClass | None  # None: neutral (counts for the leading crypto class only)
    matched: str
    weight: float
    source: str

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "class": self.cls.value if self.cls else None,
            "matched": self.matched,
            "weight": self.weight,
            "source": self.source,
        }


_INTEL_SOURCE = "minewatch.intel indicators (web-miner domains)"

Extractor = Callable[[PageText, Rules], Iterator[Signal]]


def _keywords(page: PageText, rules: Rules) -> Iterator[Signal]:
    """Each keyword once: Chinese ones as segmented tokens, English ones as whole words."""
    chinese = tuple(k.text for k in rules.keywords if k.lang == "zh")
    tokens = segmenter(chinese).tokens(page.text)
    lower = page.text.lower()
    for k in rules.keywords:
        hit = k.text in tokens if k.lang == "zh" else _word(k.text, lower)
        if hit:
            yield Signal(k.kind, k.cls, k.text, k.weight, k.source)


def _word(phrase: str, text: str) -> bool:
    # Latin-script boundaries only: on Chinese pages English terms sit right against Han
    # characters ("FPPS模式", "IOC见下文"), which \w would count as part of the word.
    # A plain English plural counts as the term ("maker fees", "mortgages", "IOCs").
    plural = "s?" if phrase[-1:].isalpha() and phrase[-1:] != "s" else ""
    return re.search(rf"(?<![A-Za-z0-9_-]){re.escape(phrase)}{plural}(?![A-Za-z0-9_-])", text) is not None


def _patterns(page: PageText, rules: Rules) -> Iterator[Signal]:
    """Each pattern once, with the first text it matched."""
    where = {
        "text": [page.text, *page.links],
        "link": list(page.links),
        "script": list(page.scripts),
    }
    for p in rules.patterns:
        for part in where[p.where]:
            match = p.regex.search(part)
            if match:
                yield Signal(p.kind, p.cls, match.group(0)[:120], p.weight, p.source)
                break


def _webminer_hosts(page: PageText, rules: Rules) -> Iterator[Signal]:
    """Scripts loaded from (or naming) a bundled web-miner domain."""
    for domain in rules.webminer_domains:
        for script in page.scripts:
            host = urllib.parse.urlsplit(script).hostname or ""
            if host == domain or host.endswith("." + domain) or domain in script[:2000]:
                yield Signal("script", SiteClass.WEB_MINER, domain, 3.0, _INTEL_SOURCE)
                break


def _wallets(page: PageText, rules: Rules) -> Iterator[Signal]:
    """Checksum-valid addresses; one signal per format however many addresses it has."""
    seen: set[str] = set()
    for fmt, address in find_addresses(page.text):
        rule = rules.wallets.get(fmt)
        if rule is not None and fmt not in seen:
            seen.add(fmt)
            yield Signal("wallet", rule.cls, f"{fmt}: {address}", rule.weight, rule.source)


EXTRACTORS: tuple[Extractor, ...] = (_keywords, _patterns, _webminer_hosts, _wallets)


def extract(page: PageText, rules: Rules) -> tuple[Signal, ...]:
    """All signals of `page`, in extractor order."""
    return tuple(s for extractor in EXTRACTORS for s in extractor(page, rules))
