"""Cases of sites and apps: a `sites check` (or `apps check`) finding of any class but
unrelated opens a case of kind "site" or "app" on its subject (the domain name, the
package), one open case per subject and kind, in the same workflow as mining cases.

Its unit is, in order: the unit of the hosting address when that address is in the user's
own inventory (they run it, they can act on it); else the registrant's province when the
page shows an ICP filing; else the registrant's place when the user gave it; else the
unit of the hosting address by the other attribution sources; else the root unit.
What settles a site case is a re-check (`recheck`), not quiet
traffic: it closes as stopped when the site is gone or no longer serves what it was found
serving, and goes back to rectification when it still does."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from minewatch.attribute.attributor import Attributor
from minewatch.cases.models import Case, CaseFinding, Status, Unit, Verdict
from minewatch.cases.workflow import add_event, as_utc, open_case_of, reopen, unit_for_code
from minewatch.model.attribution import Attribution
from minewatch.model.document import attribution_to_json, rfc3339
from minewatch.model.subject import SUBJECT_KINDS, SubjectKind
from minewatch.sites.check import check
from minewatch.sites.classes import SiteClass
from minewatch.sites.fetch import Failure, Fetcher
from minewatch.sites.finding import SiteFinding, site_finding

__all__ = [
    "SUBJECT_KINDS",
    "Placed",
    "Recheck",
    "RecheckOutcome",
    "open_from_site_findings",
    "place_of",
    "recheck",
    "recheck_all",
    "site_finding_key",
]

# A wallet page offers software, not trading or mining: its case starts low.
_LOW_CLASSES = frozenset({SiteClass.WALLET})


@dataclass(frozen=True)
class Placed:
    unit: Unit
    basis: str  # why this unit: inventory, ICP filing, hosting address, default
    attribution: Attribution | None


def site_finding_key(f: SiteFinding) -> str:
    """The same check result pushed or synced twice is stored once."""
    text = f"{f.kind.value}|{f.subject}|{rfc3339(f.checked_at)}|{f.digest or f.file_sha256 or ''}"
    return hashlib.sha256(text.encode()).hexdigest()


def place_of(session: Session, f: SiteFinding, attributor: Attributor | None, default: Unit) -> Placed:
    """The unit that acts on the subject, and why (see the module's order)."""
    hosted = attributor.attribute(f.address) if attributor is not None and f.address else None
    if hosted is not None and hosted.source == "inventory":
        unit = unit_for_code(session, hosted.region_code)
        if unit is not None:
            return Placed(unit, f"hosted in our address space ({hosted.prefix})", hosted)
    if f.icp is not None:
        unit = unit_for_code(session, f.icp.province_code)
        if unit is not None:
            return Placed(unit, f"registrant's province by ICP filing {f.icp.number}", hosted)
    if f.place_code is not None:
        unit = unit_for_code(session, f.place_code)
        if unit is not None:
            return Placed(unit, f"registrant's place {f.place_code}, as given", hosted)
    if hosted is not None:
        unit = unit_for_code(session, hosted.region_code)
        if unit is not None:
            return Placed(unit, f"hosting address {f.address} ({hosted.source})", hosted)
    return Placed(default, "no place known: the root unit", hosted)


def _severity(f: SiteFinding) -> str:
    if f.cls in _LOW_CLASSES:
        return "low"
    return "high" if f.confidence >= 0.8 else "medium" if f.confidence >= 0.5 else "low"


def _stored(session: Session, key: str) -> bool:
    return session.scalar(select(CaseFinding.id).where(CaseFinding.finding_key == key)) is not None


def _attach(session: Session, case: Case, f: SiteFinding, key: str) -> None:
    case.first_seen = min(as_utc(case.first_seen), f.checked_at)
    case.last_seen = max(as_utc(case.last_seen), f.checked_at)
    session.add(
        CaseFinding(
            case=case,
            first_seen=f.checked_at,
            last_seen=f.checked_at,
            finding=json.dumps(f.to_json(), ensure_ascii=False),
            finding_key=key,
        )
    )


def open_from_site_findings(
    session: Session,
    findings: Iterable[SiteFinding],
    now: datetime,
    default_unit: Unit,
    attributor: Attributor | None = None,
    actor: str = "minewatch",
) -> list[Case]:
    """Open a case per subject and kind for each finding of a class other than unrelated,
    or add the finding to the open one; a finding already stored (same key) is skipped.
    Returns the cases touched."""
    touched: list[Case] = []
    for f in findings:
        if f.cls is SiteClass.UNRELATED:
            continue
        key = site_finding_key(f)
        if _stored(session, key):
            continue
        case = open_case_of(session, f.subject, f.kind.value)
        if case is None:
            placed = place_of(session, f, attributor, default_unit)
            a = placed.attribution
            case = Case(
                host=f.subject,
                activity=f.kind.value,
                unit=placed.unit,
                severity=_severity(f),
                status=Status.NEW.value,
                opened_at=now,
                updated_at=now,
                first_seen=f.checked_at,
                last_seen=f.checked_at,
                attribution=json.dumps(attribution_to_json(a), ensure_ascii=False) if a else None,
            )
            session.add(case)
            detail = f"{f.kind.value} {f.subject}: {f.cls.value} ({f.confidence:.2f}), for {placed.unit.name}"
            add_event(session, case, now, actor, "opened", f"{detail}; {placed.basis}")
        else:
            linked = f"{f.cls.value} at {rfc3339(f.checked_at)}"
            add_event(session, case, now, actor, "finding linked", linked)
            if case.status == Status.VERIFYING.value:
                reopen(session, case, now, actor, f"{f.subject} still serves {f.cls.value}")
        _attach(session, case, f, key)
        touched.append(case)
        session.flush()
    return touched


class RecheckOutcome(StrEnum):
    GONE = "gone"  # no such name, nothing listening, or 404/410/451
    CHANGED = "changed"  # the page now classifies as unrelated
    SERVING = "serving"  # still what it was found to be (or another crypto class)
    INCONCLUSIVE = "inconclusive"  # timeout, proxy error, robots: says nothing


@dataclass(frozen=True)
class Recheck:
    case_id: int
    subject: str
    outcome: RecheckOutcome
    detail: str
    closed: bool


def _target(case: Case) -> str | None:
    """The URL the site case's latest finding checked (the site's own name otherwise)."""
    for link in reversed(case.findings):
        f = SiteFinding.from_json(json.loads(link.finding), where=f"case {case.id}")
        return f.target or f"https://{f.subject}/"
    return None


def recheck(
    session: Session, case: Case, fetcher: Fetcher, now: datetime, quiet: timedelta, actor: str = "minewatch"
) -> Recheck:
    """Fetch a site case's subject again and act on what came back. In verification: gone
    or changed, and `quiet` passed since verification began, closes it as stopped; still
    serving sends it back to rectification. Every re-check is an audit event."""
    target = _target(case) if case.activity == SubjectKind.SITE.value else None
    if target is None:
        return Recheck(case.id, case.host, RecheckOutcome.INCONCLUSIVE, "nothing to fetch", False)
    result = check(target, fetcher)
    found = site_finding(result, now)
    if isinstance(result.fetched, Failure):
        gone = result.fetched.gone
        outcome = RecheckOutcome.GONE if gone else RecheckOutcome.INCONCLUSIVE
        detail = f"{target}: {result.fetched.kind}: {result.fetched.reason}"
    elif found is None or found.cls is SiteClass.UNRELATED:
        outcome, detail = RecheckOutcome.CHANGED, f"{target}: now unrelated"
    else:
        outcome = RecheckOutcome.SERVING
        detail = f"{target}: still {found.cls.value} ({found.confidence:.2f})"
    closed = False
    add_event(session, case, now, actor, "re-checked", f"{outcome.value}: {detail}")
    if found is not None and found.cls is not SiteClass.UNRELATED:
        key = site_finding_key(found)
        if not _stored(session, key):
            _attach(session, case, found, key)
    if case.status == Status.VERIFYING.value and case.verifying_since is not None:
        if outcome is RecheckOutcome.SERVING:
            reopen(session, case, now, actor, detail)
        elif outcome in (RecheckOutcome.GONE, RecheckOutcome.CHANGED):
            since = as_utc(case.verifying_since)
            if now - since >= quiet:
                case.status, case.verdict = Status.CLOSED.value, Verdict.STOPPED.value
                add_event(session, case, now, actor, "closed", f"stopped: {outcome.value} ({detail})")
                closed = True
    session.flush()
    return Recheck(case.id, case.host, outcome, detail, closed)


def recheck_all(
    session: Session,
    fetcher: Fetcher,
    now: datetime,
    quiet: timedelta,
    statuses: Iterable[str] = (Status.VERIFYING.value,),
    limit: int = 1000,
    on_each: Callable[[Recheck], None] | None = None,
) -> list[Recheck]:
    """Re-check the site cases in `statuses` (verifying by default), oldest update first."""
    query = (
        select(Case)
        .where(Case.activity == SubjectKind.SITE.value, Case.status.in_(list(statuses)))
        .order_by(Case.updated_at, Case.id)
        .limit(limit)
    )
    done = []
    for case in session.scalars(query).all():
        r = recheck(session, case, fetcher, now, quiet)
        done.append(r)
        if on_each is not None:
            on_each(r)
    return done
