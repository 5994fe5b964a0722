"""From signals to a verdict: the class with the most weight, if it has enough and
leads the next class clearly; otherwise unrelated."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from minewatch.sites.classes import SiteClass
from minewatch.sites.rules import Rules, rules
from minewatch.sites.signals import Signal, extract
from minewatch.sites.text import PageText, parse_html

__all__ = ["MIN_SCORE", "Verdict", "classify", "classify_html", "decide"]

# Tuned on the tuning pages only (bench/sites.py --set tuning): a class needs this much
# weight, about two distinct strong terms, before the page is called anything but unrelated.
MIN_SCORE = 2.0
# Words of news, research, banks and shops count against every crypto class: such pages
# talk about the same things (a reporter writes "airdrop scam") without being the thing.
UNRELATED_DISCOUNT = 1.5  # tuning pages: 10 errors at 0.5, 3 at 1.0, 0 at 1.5
# Neutral signals (app links) count only for a class over the bar on its own evidence:
# blind-tune pages gave the same result at 1.0 and 2.0; the bar is the principled value
# (a bank's "deposit" plus two store badges must not make an exchange).
NEUTRAL_FLOOR = MIN_SCORE


@dataclass(frozen=True)
class Verdict:
    cls: SiteClass
    confidence: float  # 0..1
    scores: dict[SiteClass, float]
    decided_by: tuple[Signal, ...]  # the signals of the chosen class (and neutral ones it took)
    signals: tuple[Signal, ...]  # all signals seen

    def to_json(self) -> dict[str, object]:
        return {
            "class": self.cls.value,
            "confidence": round(self.confidence, 3),
            "scores": {c.value: round(s, 3) for c, s in sorted(self.scores.items())},
            "decided_by": [s.to_json() for s in self.decided_by],
            "signals": [s.to_json() for s in self.signals],
        }


def _scores(signals: tuple[Signal, ...]) -> dict[SiteClass, float]:
    scores: dict[SiteClass, float] = defaultdict(float)
    for s in signals:
        if s.cls is not None:
            scores[s.cls] += s.weight
    crypto = {c: v for c, v in scores.items() if c is not SiteClass.UNRELATED}
    if crypto:  # neutral signals (app links) back the leading crypto class, never start one
        lead = max(crypto, key=crypto.__getitem__)
        # ... and only one already over the bar on its own (see NEUTRAL_FLOOR).
        if crypto[lead] - UNRELATED_DISCOUNT * scores.get(SiteClass.UNRELATED, 0.0) >= NEUTRAL_FLOOR:
            scores[lead] += sum(s.weight for s in signals if s.cls is None)
    return dict(scores)


def classify(page: PageText, rule_set: Rules | None = None) -> Verdict:
    """The verdict on one parsed page, with the signals that decided it."""
    return decide(extract(page, rule_set or rules()))


def decide(signals: tuple[Signal, ...]) -> Verdict:
    """The verdict on `signals` from any source (a page, an app), by the same bar."""
    scores = _scores(signals)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best, top = ranked[0] if ranked else (SiteClass.UNRELATED, 0.0)
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    against = UNRELATED_DISCOUNT * scores.get(SiteClass.UNRELATED, 0.0)
    if best is SiteClass.UNRELATED or top - against < MIN_SCORE:
        cls = SiteClass.UNRELATED
        # Sure of "unrelated" as far as no crypto class came near the bar.
        crypto_top = max((v for c, v in scores.items() if c is not SiteClass.UNRELATED), default=0.0)
        confidence = max(0.0, 1.0 - crypto_top / (2 * MIN_SCORE))
        decided = tuple(s for s in signals if s.cls is SiteClass.UNRELATED)
    else:
        cls = best
        # Saturating in the weight, scaled by how far the winner leads the runner-up.
        confidence = (1.0 - math.exp(-top / MIN_SCORE)) * top / (top + second)
        decided = tuple(s for s in signals if s.cls is best or s.cls is None)
    return Verdict(cls, confidence, scores, decided, signals)


def classify_html(html: str, rule_set: Rules | None = None) -> Verdict:
    """The verdict on a page's HTML."""
    return classify(parse_html(html), rule_set)
