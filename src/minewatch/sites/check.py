"""One `sites check` target: a name or URL, fetched and classified."""

from __future__ import annotations

from dataclasses import dataclass

from minewatch.sites.classify import Verdict, classify_html
from minewatch.sites.fetch import Failure, Fetcher, Page

__all__ = ["CheckResult", "check", "target_url"]


@dataclass(frozen=True)
class CheckResult:
    target: str
    fetched: Page | Failure
    verdict: Verdict | None  # None when nothing was fetched

    def to_json(self) -> dict[str, object]:
        hops = [{"status": r.status, "from": r.source, "to": r.target} for r in self.fetched.redirects]
        out: dict[str, object] = {"target": self.target, "url": self.fetched.url, "redirects": hops}
        if isinstance(self.fetched, Failure):
            failed = self.fetched
            out["error"] = {"kind": failed.kind, "reason": failed.reason, "gone": failed.gone}
        else:
            out["address"] = self.fetched.address
            out["status"] = self.fetched.status
            out["truncated"] = self.fetched.truncated
        if self.verdict is not None:
            out.update(self.verdict.to_json())
        return out


def target_url(target: str) -> str:
    """`target` as a URL: a bare name or host:port gets https://."""
    text = target.strip()
    return text if "://" in text else f"https://{text}/"


def check(target: str, fetcher: Fetcher) -> CheckResult:
    """Fetch `target` and classify what came back (a truncated page is classified as cut)."""
    fetched = fetcher.fetch(target_url(target))
    verdict = classify_html(fetched.text) if isinstance(fetched, Page) else None
    return CheckResult(target, fetched, verdict)
