"""One `apps check` file: read and classified, or the reason it could not be read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from minewatch.apps.limits import Limits
from minewatch.apps.read import ApkInfo, read_apk
from minewatch.apps.signals import extract
from minewatch.errors import ApkError
from minewatch.sites.classify import Verdict, decide

__all__ = ["AppCheck", "check", "classify_app"]


@dataclass(frozen=True)
class AppCheck:
    file: str
    app: ApkInfo | None  # None when the file could not be read
    verdict: Verdict | None
    error: ApkError | None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"file": self.file}
        if self.error is not None:
            out["error"] = self.error.reason
        if self.app is not None:
            out["app"] = self.app.to_json()
        if self.verdict is not None:
            out.update(self.verdict.to_json())
        return out


def classify_app(info: ApkInfo) -> Verdict:
    """The verdict on one read app, by the same bar as a site's."""
    return decide(extract(info))


def check(path: Path, limits: Limits | None = None) -> AppCheck:
    """Read and classify `path`; an unreadable file comes back with its error, so a batch
    goes on past it."""
    try:
        info = read_apk(path, limits)
    except ApkError as e:
        return AppCheck(str(path), None, None, e)
    except OSError as e:  # missing, unreadable, a directory
        reason = (e.strerror or str(e)).lower()
        return AppCheck(str(path), None, None, ApkError(str(path), reason))
    return AppCheck(str(path), info, classify_app(info), None)
