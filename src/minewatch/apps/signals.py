"""An app's signals: the site rules over what it shows (label and string resources, as a
page's text), and the app rules over what it is (package, code, libraries, permissions)."""

from __future__ import annotations

from collections.abc import Iterator

from minewatch.apps.read import ApkInfo
from minewatch.apps.rules import AppRule, app_rules
from minewatch.sites.rules import Rules, rules
from minewatch.sites.signals import Signal
from minewatch.sites.signals import extract as site_signals
from minewatch.sites.text import PageText

__all__ = ["extract", "shown_text"]


def shown_text(info: ApkInfo) -> PageText:
    """The app's label and string resources as a page: the text a person sees in it."""
    text = "\n".join([info.label, *info.ui_strings])
    return PageText(title=info.label, text=" ".join(text.split()), links=(), scripts=())


def _haystack(info: ApkInfo, where: str) -> tuple[str, ...]:
    if where == "package":
        return (info.package,)
    if where == "lib":
        return tuple(lib.name for lib in info.native_libs)
    if where == "permission":
        return info.permissions
    return info.code_strings


def _own(info: ApkInfo, rule_set: tuple[AppRule, ...]) -> Iterator[Signal]:
    """Each app rule once, with the first thing it matched."""
    for rule in rule_set:
        for value in _haystack(info, rule.where):
            if rule.regex.search(value):
                yield Signal(rule.kind, rule.cls, value[:120], rule.weight, rule.source)
                break


def extract(
    info: ApkInfo, own: tuple[AppRule, ...] | None = None, site: Rules | None = None
) -> tuple[Signal, ...]:
    """All signals of one app: site rules over its shown text, then the app rules."""
    shown = site_signals(shown_text(info), site or rules())
    return (*shown, *_own(info, own if own is not None else app_rules()))
