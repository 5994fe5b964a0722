"""The confusion matrix of `minewatch sites check` over a page set served by a loopback web
server and fetched through the real fetcher.

    PYTHONPATH=src:. python bench/sites.py [--set held-out|tuning|blind-tune|blind-test]

held-out / tuning: the generated pages of tests/sites_pages.py (the classifier's weights
were adjusted on `tuning` only). blind-tune / blind-test: the independent corpus of
tests/sites_blind.py, written without reading the classifier; nothing was tuned on either
half, and `blind-test` is never to be tuned on.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tests.sites_blind import half
from tests.sites_pages import held_out, tuning
from tests.sites_server import serve

from minewatch.probe.policy import Policy
from minewatch.sites import Failure, Fetcher, FetchLimits, SiteClass
from minewatch.sites.check import check

CLASSES = [c.value for c in SiteClass]


class Labelled(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def expected(self) -> str: ...


SETS: dict[str, Callable[[], Sequence[Labelled]]] = {
    "held-out": held_out,
    "tuning": tuning,
    "blind-tune": lambda: half("blind-tune"),
    "blind-test": lambda: half("blind-test"),
}


@dataclass(frozen=True)
class Outcome:
    """One page's result: its true class, the class called, and the top signals."""

    name: str
    expected: str
    got: str
    kind: str  # `class/layout` or `unrelated/kind` for blind pages, else the class
    lang: str
    signals: str


def run(pages: Sequence[Labelled], timeout_s: float = 5) -> list[Outcome]:
    """Serve `pages` on 127.0.0.1 and check each through the real fetcher."""
    fetcher = Fetcher(FetchLimits(timeout_s=timeout_s), Policy(allow_private=True))
    out = []
    with serve({p.name: p.html for p in pages}) as base:
        for p in pages:
            result = check(base + p.name, fetcher)
            v = result.verdict
            top = sorted(v.decided_by, key=lambda s: -s.weight)[:4] if v else []
            said = ", ".join(f"{s.kind}:{s.matched}" for s in top)
            if isinstance(result.fetched, Failure):  # counted as unrelated, and said so
                said = f"FETCH FAILED {result.fetched.kind}: {result.fetched.reason}"
            out.append(
                Outcome(
                    p.name,
                    p.expected,
                    v.cls.value if v else "unrelated",
                    getattr(p, "kind", p.expected),
                    getattr(p, "lang", ""),
                    said,
                )
            )
    return out


def matrix(outcomes: Sequence[Outcome]) -> dict[str, dict[str, int]]:
    """expected -> got -> count, over every class."""
    m = {e: dict.fromkeys(CLASSES, 0) for e in CLASSES}
    for o in outcomes:
        m[o.expected][o.got] += 1
    return m


def table_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """The confusion matrix with recall per row and precision per column, as Markdown."""
    m = matrix(outcomes)
    lines = ["| expected \\ got | " + " | ".join(CLASSES) + " | recall |", "|---" * (len(CLASSES) + 2) + "|"]
    for e in CLASSES:
        total = sum(m[e].values())
        recall = f"{m[e][e] / total:.2f}" if total else "-"
        lines.append(f"| {e} | " + " | ".join(str(m[e][g]) for g in CLASSES) + f" | {recall} |")
    precision = []
    for g in CLASSES:
        called = sum(m[e][g] for e in CLASSES)
        precision.append(f"{m[g][g] / called:.2f}" if called else "-")
    lines.append("| precision | " + " | ".join(precision) + " | |")
    correct = sum(m[c][c] for c in CLASSES)
    lines.append(f"\naccuracy {correct}/{len(outcomes)} = {correct / len(outcomes):.3f}")
    return lines


def error_lines(outcomes: Sequence[Outcome], examples: int = 2) -> list[str]:
    """The confusions, most frequent first, each with its kinds and a few example pages."""
    wrong = [o for o in outcomes if o.got != o.expected]
    pairs = Counter((o.expected, o.got) for o in wrong)
    lines = []
    for (e, g), n in pairs.most_common():
        these = [o for o in wrong if (o.expected, o.got) == (e, g)]
        kinds = Counter(f"{o.kind} {o.lang}".strip() for o in these)
        lines.append(f"- {e} -> {g}: {n} ({', '.join(f'{k} x{c}' for k, c in kinds.most_common())})")
        lines += [f"    {o.name} {o.kind} {o.lang}: {o.signals or 'no signal'}" for o in these[:examples]]
    langs = sorted({o.lang for o in outcomes if o.lang})
    for lang in langs:
        mine = [o for o in outcomes if o.lang == lang]
        ok = sum(o.got == o.expected for o in mine)
        lines.append(f"{lang}: {ok}/{len(mine)} = {ok / len(mine):.3f}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", dest="chosen", choices=sorted(SETS), default="held-out")
    parser.add_argument("legacy", nargs="?", choices=["tuning"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    name = "tuning" if args.legacy else args.chosen
    pages = SETS[name]()
    started = time.monotonic()
    outcomes = run(pages)
    print(f"{len(pages)} pages ({name}), {time.monotonic() - started:.1f} s")
    print("\n".join(table_lines(outcomes)))
    if any(o.expected != o.got for o in outcomes):
        print("\nconfusions:")
        print("\n".join(error_lines(outcomes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
