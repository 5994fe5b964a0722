"""A site or app finding: what `sites check` (or `apps check`) decided about one subject
(a domain name, an app package), as the case workflow keeps it. Unlike a mining finding it
has no host address or window: its subject is a name, and what settles its case is a
re-check, not quiet traffic."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minewatch.errors import InputError
from minewatch.model.document import parse_time, rfc3339
from minewatch.model.subject import SubjectKind
from minewatch.sites.check import CheckResult, target_url
from minewatch.sites.classes import SiteClass
from minewatch.sites.fetch import Page
from minewatch.sites.registrant import IcpFiling, icp_filing

__all__ = [
    "MAX_SIGNALS",
    "SignalNote",
    "SiteFinding",
    "dns_name",
    "page_digest",
    "site_finding",
    "subject_of",
]

MAX_SUBJECT = 253  # a DNS name's longest text form; app package names fit too
# A finding keeps the strongest signals that decided it, not every keyword on the page.
MAX_SIGNALS = 12


@dataclass(frozen=True)
class SignalNote:
    """One signal as the case keeps it: what matched and the data row it came from."""

    kind: str
    matched: str
    weight: float
    source: str


@dataclass(frozen=True)
class SiteFinding:
    kind: SubjectKind
    subject: str  # the domain name (lower case, no trailing dot) or the app's package name
    cls: SiteClass
    confidence: float
    checked_at: datetime
    signals: tuple[SignalNote, ...] = ()
    target: str | None = None  # the URL checked (a re-check fetches it again)
    url: str | None = None  # the page the check ended on, after redirects
    address: str | None = None  # the address the page came from: where it is hosted
    status: int | None = None
    digest: str | None = None  # of the page's text: a re-check tells "changed" by it
    icp: IcpFiling | None = None  # the registrant's filing, when the page shows it
    file_sha256: str | None = None  # apps: the package file
    cert_sha256: str | None = None  # apps: the signing certificate
    download_url: str | None = None  # apps: where it is offered, if known
    place_code: str | None = None  # the registrant's place as the user knows it (division code)

    def __post_init__(self) -> None:
        # What the case keeps as its subject: a DNS name's length at most, printable.
        if not 0 < len(self.subject) <= MAX_SUBJECT or not self.subject.isprintable():
            raise ValueError(f"a subject is 1 to {MAX_SUBJECT} printable characters: {self.subject[:40]!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} is not within 0 to 1")

    @property
    def names(self) -> tuple[str, ...]:
        """The domain names to block: the subject and, after a redirect elsewhere, the
        name that serves the page (an exchange behind a front name is both)."""
        hosts = [self.subject] if self.kind is SubjectKind.SITE else []
        hosts += [urllib.parse.urlsplit(u).hostname or "" for u in (self.url, self.download_url) if u]
        names = (dns_name(h) for h in hosts if h and not _is_address(h))
        return tuple(dict.fromkeys(n for n in names if n))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "class": self.cls.value,
            "confidence": round(self.confidence, 3),
            "checked_at": rfc3339(self.checked_at),
            "signals": [dataclasses.asdict(s) for s in self.signals],
            "target": self.target,
            "url": self.url,
            "address": self.address,
            "status": self.status,
            "digest": self.digest,
            "icp": None if self.icp is None else dataclasses.asdict(self.icp),
            "file_sha256": self.file_sha256,
            "cert_sha256": self.cert_sha256,
            "download_url": self.download_url,
            "place_code": self.place_code,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any], where: str = "site finding") -> SiteFinding:
        try:
            icp = d.get("icp")
            return cls(
                kind=SubjectKind(d["kind"]),
                subject=str(d["subject"]),
                cls=SiteClass(d["class"]),
                confidence=float(d["confidence"]),
                checked_at=parse_time(d["checked_at"]),
                signals=tuple(
                    SignalNote(str(s["kind"]), str(s["matched"]), float(s["weight"]), str(s["source"]))
                    for s in d.get("signals") or ()
                ),
                target=d.get("target"),
                url=d.get("url"),
                address=d.get("address"),
                status=d.get("status"),
                digest=d.get("digest"),
                icp=None if not icp else IcpFiling(str(icp["number"]), str(icp["province_code"])),
                file_sha256=d.get("file_sha256"),
                cert_sha256=d.get("cert_sha256"),
                download_url=d.get("download_url"),
                place_code=d.get("place_code"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(where, f"not a site or app finding: {e}") from None


def _is_address(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def dns_name(host: str) -> str | None:
    """`host` as an ASCII DNS name (IDNA for Unicode names, lower case, no trailing dot),
    or None if it is not one: only such names go into a zone or a hosts file."""
    try:
        name = host.strip().rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    return name


def page_digest(page: Page) -> str:
    """The page's text with whitespace folded, hashed: equal for the same content served
    again, different once the site is changed."""
    return hashlib.sha256(" ".join(page.text.split()).encode()).hexdigest()


def subject_of(target: str) -> str:
    """The domain name a `sites check` target names."""
    host = urllib.parse.urlsplit(target_url(target)).hostname or target
    return dns_name(host) or "".join(c for c in host.rstrip(".").lower() if c.isprintable())[:MAX_SUBJECT]


def site_finding(result: CheckResult, checked_at: datetime) -> SiteFinding | None:
    """The finding of one check; None when nothing was fetched (nothing was decided)."""
    page, verdict = result.fetched, result.verdict
    if not isinstance(page, Page) or verdict is None:
        return None
    top = sorted(verdict.decided_by, key=lambda s: -s.weight)[:MAX_SIGNALS]
    return SiteFinding(
        kind=SubjectKind.SITE,
        subject=subject_of(result.target),
        cls=verdict.cls,
        confidence=verdict.confidence,
        checked_at=checked_at,
        signals=tuple(SignalNote(s.kind, s.matched, s.weight, s.source) for s in top),
        target=target_url(result.target),
        url=page.url,
        address=page.address,
        status=page.status,
        digest=page_digest(page),
        icp=icp_filing(page.text),
    )
