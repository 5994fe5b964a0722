"""An `apps check` result as a case keeps it: a `SiteFinding` of kind app, on the app's
package name, with the package file's and the signing certificate's SHA-256 (what a STIX
indicator and the next check of a repackaged copy match on)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from minewatch.apps.check import AppCheck
from minewatch.errors import ApkError
from minewatch.model.subject import SubjectKind
from minewatch.sites.finding import MAX_SIGNALS, SignalNote, SiteFinding

__all__ = ["app_finding", "file_sha256"]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def app_finding(
    result: AppCheck, checked_at: datetime, download_url: str | None = None, place_code: str | None = None
) -> SiteFinding | None:
    """The finding of one app check; None when the file could not be read. ApkError when
    what it declares cannot be a case's subject (a hostile package name)."""
    app, verdict = result.app, result.verdict
    if app is None or verdict is None:
        return None
    top = sorted(verdict.decided_by, key=lambda s: -s.weight)[:MAX_SIGNALS]
    try:
        return SiteFinding(
            kind=SubjectKind.APP,
            subject=app.package,
            cls=verdict.cls,
            confidence=verdict.confidence,
            checked_at=checked_at,
            signals=tuple(SignalNote(s.kind, s.matched, s.weight, s.source) for s in top),
            file_sha256=file_sha256(Path(result.file)),
            cert_sha256=app.certificates[0].sha256 if app.certificates else None,
            download_url=download_url,
            place_code=place_code,
        )
    except ValueError as e:
        raise ApkError(result.file, f"cannot open a case on it: {e}") from None
