"""What a case is about, beyond a host that mines: a site (by domain name) or an app (by
package name). Their findings are `minewatch.sites.finding.SiteFinding`."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SUBJECT_KINDS", "SubjectKind"]


class SubjectKind(StrEnum):
    SITE = "site"
    APP = "app"


# Case activities whose findings are site or app findings, not mining findings.
SUBJECT_KINDS = frozenset(k.value for k in SubjectKind)
