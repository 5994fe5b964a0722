"""The blind page corpus (tests/sites_blind.py) keeps its promises, and bench/sites.py runs
it through the loopback server and the real fetcher. Accuracy is not asserted: only floors
the classifier holds on every blind page (no bank called an exchange since app links count
only for a class over the bar on its own evidence)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from bench.sites import Outcome, error_lines, run, table_lines

from minewatch.sites import SiteClass
from tests.sites_blind import HALVES, LANGS, LAYOUTS, UNRELATED, BlindPage, corpus, half

# The hard negatives the brief names, by their kind in the corpus.
HARD_NEGATIVES = ("news", "bank", "lab", "gpu-shop", "tracker", "forum", "course", "payments", "game",
                  "equipment", "gov-notice", "security-blog", "colocation")  # fmt: skip


@pytest.fixture(scope="module")
def pages() -> list[BlindPage]:
    return corpus()


def test_size_classes_and_languages(pages: list[BlindPage]) -> None:
    assert len(pages) >= 320
    counts = Counter((p.expected, p.lang) for p in pages)
    assert {c for c, _ in counts} == {c.value for c in SiteClass}
    assert all(counts[(c.value, lang)] >= 12 for c in SiteClass for lang in LANGS)
    assert sum(p.expected == "unrelated" for p in pages) / len(pages) >= 0.35


@pytest.mark.parametrize("kind", HARD_NEGATIVES)
def test_hard_negative_in_both_languages_and_halves(pages: list[BlindPage], kind: str) -> None:
    mine = [p for p in pages if p.kind == f"unrelated/{kind}"]
    assert {(p.lang, p.half) for p in mine} == {(lang, h) for lang in LANGS for h in HALVES}


def test_halves_split_by_the_fixed_rule(pages: list[BlindPage]) -> None:
    tune, test = half("blind-tune"), half("blind-test")
    assert len(tune) == len(test) == len(pages) // 2 >= 200
    assert not {p.name for p in tune} & {p.name for p in test}
    # every layout of every class, in both languages, is in both halves
    for cls, layouts in LAYOUTS.items():
        for layout in layouts:
            for h in (tune, test):
                langs = {p.lang for p in h if p.kind == f"{cls}/{layout.__name__}"}
                assert langs == set(LANGS), (cls, layout.__name__)
    with pytest.raises(ValueError, match="unknown half"):
        half("tuning")


def test_deterministic_and_seeded(pages: list[BlindPage]) -> None:
    assert corpus() == pages
    assert [p.html for p in corpus(seed=7)] != [p.html for p in pages]


def test_paths_do_not_name_the_class(pages: list[BlindPage]) -> None:
    assert all(re.fullmatch(r"/blind/\d{4}\.html", p.name) for p in pages)
    assert len({p.name for p in pages}) == len(pages)


_SKELETONS = {
    "div soup": 'class="navbar',
    "semantic": "<main>",
    "table": '<table width="100%"',
    "app": 'id="__next"',
}


@pytest.mark.parametrize("cls", [c.value for c in SiteClass])
def test_pages_differ_in_structure(pages: list[BlindPage], cls: str) -> None:
    mine = [p for p in pages if p.expected == cls]
    kinds = {p.kind for p in mine}
    assert len(kinds) >= (len(UNRELATED) if cls == "unrelated" else 4)
    used = {name for name, mark in _SKELETONS.items() for p in mine if mark in p.html}
    assert used == set(_SKELETONS)
    assert any(len(p.html) > 20_000 for p in mine)  # some long pages, as real ones are


def _outcomes(pages: list[BlindPage]) -> list[Outcome]:
    out = run(pages)
    assert not [o for o in out if o.signals.startswith("FETCH FAILED")]
    return out


def test_bench_runs_a_blind_sample() -> None:
    tune = half("blind-tune")
    sample = [
        next(p for p in tune if (p.expected, p.lang) == (c.value, lang)) for c in SiteClass for lang in LANGS
    ]
    out = _outcomes(sample)
    assert [o.expected for o in out] == [p.expected for p in sample]
    lines = table_lines(out)
    assert lines[0].startswith("| expected \\ got | exchange") and len(lines) == 2 + len(SiteClass) + 2
    assert lines[-1].startswith("\naccuracy ") and f"/{len(sample)} = " in lines[-1]
    assert [ln.split(":")[0] for ln in error_lines(out)[-2:]] == list(LANGS)


def test_no_government_notice_is_called_a_crypto_site(pages: list[BlindPage]) -> None:
    notices = [p for p in pages if p.kind == "unrelated/gov-notice"]
    assert {o.got for o in _outcomes(notices)} == {"unrelated"}


def test_no_unrelated_page_is_called_web_miner_wallet_or_promotion(pages: list[BlindPage]) -> None:
    unrelated = [p for p in pages if p.expected == "unrelated"]
    called = Counter(o.got for o in _outcomes(unrelated))
    assert not {"web-miner", "wallet", "promotion"} & set(called)


def test_no_bank_is_called_an_exchange(pages: list[BlindPage]) -> None:
    banks = [p for p in pages if p.kind == "unrelated/bank"]
    assert "exchange" not in {o.got for o in _outcomes(banks)}
