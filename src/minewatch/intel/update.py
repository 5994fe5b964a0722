"""`minewatch intel update`: fetch public mining blocklists and keep them beside the
bundled set. Offline, it fails with a clear message and changes nothing."""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from minewatch.csvsafe import safe_writer
from minewatch.errors import IntelFileError
from minewatch.intel.indicators import Category, Indicator, intel_home, parse_indicator_file

__all__ = ["DEFAULT_FEEDS", "Feed", "UpdateReport", "update"]

MAX_FEED_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Feed:
    name: str
    url: str
    category: Category


DEFAULT_FEEDS = (
    Feed("coinblockerlists", "https://zerodot1.gitlab.io/CoinBlockerLists/list.txt", Category.POOL),
    Feed(
        "coinblockerlists-browser",
        "https://zerodot1.gitlab.io/CoinBlockerLists/list_browser.txt",
        Category.WEB_MINER,
    ),
    Feed(
        "coinblockerlists-ips",
        "https://zerodot1.gitlab.io/CoinBlockerLists/MiningServerIPList.txt",
        Category.POOL,
    ),
    Feed(
        "nocoin",
        "https://raw.githubusercontent.com/hoshsadiq/adblock-nocoin-list/master/hosts.txt",
        Category.WEB_MINER,
    ),
)


@dataclass(frozen=True)
class UpdateReport:
    path: Path
    counts: tuple[tuple[str, int], ...]


def _fetch(feed: Feed, timeout_s: float) -> bytes:
    try:
        with urllib.request.urlopen(feed.url, timeout=timeout_s) as resp:  # noqa: S310 - URLs are ours or the user's
            data: bytes = resp.read(MAX_FEED_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise IntelFileError(
            feed.url, f"cannot download ({reason}); the bundled indicators are still used"
        ) from e
    if len(data) > MAX_FEED_BYTES:
        raise IntelFileError(feed.url, f"larger than {MAX_FEED_BYTES} bytes; refused")
    return data


def update(
    feeds: tuple[Feed, ...] = DEFAULT_FEEDS, home: Path | None = None, timeout_s: float = 20.0
) -> UpdateReport:
    """Download every feed, parse it, and replace the cached set only if all succeeded."""
    merged: list[Indicator] = []
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for feed in feeds:
            raw = Path(tmp) / f"{feed.name}.txt"
            raw.write_bytes(_fetch(feed, timeout_s))
            parsed = parse_indicator_file(raw, feed.category, source=feed.url)
            items = list(parsed)
            merged.extend(items)
            counts.append((feed.name, len(items)))
    target = (home or intel_home()) / "intel" / "indicators.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as f:
        w = safe_writer(f)  # the feeds are downloaded: a cell may not be a formula
        w.writerow(["indicator", "kind", "category", "coin", "source", "date"])
        for ind in merged:
            w.writerow([ind.value, ind.kind, ind.category.value, ind.coin or "", ind.source, ind.date])
    partial.replace(target)
    return UpdateReport(target, tuple(counts))
