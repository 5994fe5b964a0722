"""A blind page corpus for `minewatch sites check`, written independently of the classifier
(issue 18, item 2's check): neither this generator nor its vocabulary was written from the
classifier's rules, signals or data, nor from tests/sites_pages.py.

    corpus()      every page (420): 7 classes x 2 languages x 18 pages, and 14 kinds of
                  unrelated page (hard negatives and everyday sites) x 2 languages x 6 pages
    blind_tune()  the half a later tuner may look at
    blind_test()  the half nobody tunes on

The split is a fixed rule, not a draw: within each group (a class's pages, or an unrelated
kind's pages, in one language) the page with an even index is `blind-tune` and the page
with an odd index is `blind-test`. Layouts rotate every two pages, so both halves hold
every layout of every class in both languages. Page text is deterministic from `SEED`.
Page paths (`/blind/0001.html`) say nothing about the class.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests import (
    sites_blind_exchange,
    sites_blind_neg,
    sites_blind_neg2,
    sites_blind_otc,
    sites_blind_pool,
    sites_blind_wallet,
)
from tests.sites_blind_kit import Builder, render

__all__ = ["HALVES", "LANGS", "SEED", "BlindPage", "blind_test", "blind_tune", "corpus", "half"]

SEED = 2018
LANGS = ("en", "zh")
PER_CLASS_LANG = 18
PER_KIND_LANG = 6
HALVES = ("blind-tune", "blind-test")
LAYOUTS: dict[str, tuple[Builder, ...]] = {
    **sites_blind_exchange.LAYOUTS,
    **sites_blind_otc.LAYOUTS,
    **sites_blind_pool.LAYOUTS,
    **sites_blind_wallet.LAYOUTS,
}
UNRELATED = {**sites_blind_neg.KINDS, **sites_blind_neg2.KINDS}


@dataclass(frozen=True)
class BlindPage:
    """One served page: its path on the test server, its HTML, its true class, language,
    kind (`class/layout` or `unrelated/kind`) and half."""

    name: str
    html: str
    expected: str
    lang: str
    kind: str
    half: str


def _half(index: int) -> str:
    return HALVES[index % 2]


def corpus(seed: int = SEED) -> list[BlindPage]:
    """All pages, in a fixed order (classes, then unrelated kinds)."""
    specs: list[tuple[str, str, str, int]] = []  # (class, kind, lang, index in its group)
    for cls, layouts in LAYOUTS.items():
        for lang in LANGS:
            for i in range(PER_CLASS_LANG):
                layout = layouts[(i // 2) % len(layouts)]
                specs.append((cls, f"{cls}/{layout.__name__}", lang, i))
    for kind in UNRELATED:
        for lang in LANGS:
            specs += [("unrelated", f"unrelated/{kind}", lang, i) for i in range(PER_KIND_LANG)]
    pages = []
    for n, (cls, kind, lang, i) in enumerate(specs):
        rng = random.Random(f"{seed}/{kind}/{lang}/{i}")
        builder = UNRELATED[kind.split("/")[1]] if cls == "unrelated" else _layout(cls, kind)
        html = render(rng, lang, builder(rng, lang))
        pages.append(BlindPage(f"/blind/{n:04d}.html", html, cls, lang, kind, _half(i)))
    return pages


def _layout(cls: str, kind: str) -> Builder:
    name = kind.split("/")[1]
    return next(b for b in LAYOUTS[cls] if b.__name__ == name)


def half(name: str, seed: int = SEED) -> list[BlindPage]:
    """The pages of one half, `blind-tune` or `blind-test`."""
    if name not in HALVES:
        raise ValueError(f"unknown half {name!r}: expected one of {', '.join(HALVES)}")
    return [p for p in corpus(seed) if p.half == name]


def blind_tune() -> list[BlindPage]:
    return half("blind-tune")


def blind_test() -> list[BlindPage]:
    return half("blind-test")
