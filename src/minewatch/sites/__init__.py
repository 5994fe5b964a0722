"""What a website is: `minewatch sites check` fetches a page under bounds and classifies
it (exchange, OTC, pool, cloud mining, web miner, wallet, promotion, unrelated) from
signals that are data files (data/*.csv), each with its source.

    fetch.py     bounded fetch (size, time, redirects, robots.txt, proxy, address policy)
    text.py      HTML -> visible text, links, scripts; Chinese segmentation (rjieba)
    rules.py     data/*.csv -> typed rules
    wallets.py   wallet addresses with their checksums
    signals.py   the extractors: page -> Signal values
    classify.py  signals -> Verdict
    check.py     one name/URL -> CheckResult (fetch + classify)
"""

from minewatch.sites.classes import SiteClass
from minewatch.sites.classify import Verdict, classify, classify_html
from minewatch.sites.fetch import Failure, Fetcher, FetchLimits, Page, Redirect
from minewatch.sites.signals import Signal

__all__ = [
    "Failure",
    "FetchLimits",
    "Fetcher",
    "Page",
    "Redirect",
    "Signal",
    "SiteClass",
    "Verdict",
    "classify",
    "classify_html",
]
