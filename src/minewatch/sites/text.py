"""A page's HTML as the parts the signals read: visible text, link targets, scripts, and
its words (English lower-cased words; Chinese segmented by rjieba)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser

import rjieba

__all__ = ["PageText", "parse_html", "segmenter"]

_HIDDEN = frozenset({"script", "style", "noscript", "template"})
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class PageText:
    title: str
    text: str  # visible text, whitespace collapsed
    links: tuple[str, ...]  # href values of a and link elements
    scripts: tuple[str, ...]  # script src values and inline script code


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.links: list[str] = []
        self.scripts: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag in ("a", "link") and values.get("href"):
            self.links.append(values["href"])
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"])
        if tag not in ("br", "img", "meta", "link", "input", "hr"):
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        inside = self._stack[-1] if self._stack else ""
        if inside == "script":
            if data.strip():
                self.scripts.append(data)
        elif inside == "title":
            self.title.append(data)
        elif not _HIDDEN.intersection(self._stack):
            self.parts.append(data)


def parse_html(html: str) -> PageText:
    """The parts of `html` the signals look at; tolerant of any markup."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    title = " ".join("".join(collector.title).split())
    text = " ".join(" ".join([title, *collector.parts]).split())
    return PageText(title, text, tuple(collector.links), tuple(collector.scripts))


class Segmenter:
    """Chinese words by rjieba (jieba-rs), with the Chinese keywords added to its
    dictionary so each is one token; search mode also yields the words inside long ones."""

    def __init__(self, words: tuple[str, ...]) -> None:
        self._jieba = rjieba.Jieba()
        for word in words:
            self._jieba.add_word(word, 100000, None)

    def tokens(self, text: str) -> frozenset[str]:
        """The distinct tokens of the Han-script runs of `text`."""
        runs = "\n".join(re.findall(r"[\u3400-\u9fffA-Za-z0-9]+", text)) if _HAN.search(text) else ""
        return frozenset(t for t in self._jieba.cut_for_search(runs, True) if t.strip())


@cache
def segmenter(words: tuple[str, ...]) -> Segmenter:
    """One segmenter per keyword set (building the dictionary takes a moment)."""
    return Segmenter(words)
