"""The disposal workflow: findings open cases (one per host and activity, later findings
merged in) at the unit responsible for the host's place; a case moves new -> triaged ->
owner notified -> rectification ordered (deadline) -> blocked -> verifying -> closed;
past its deadline it goes up a level; a unit can hand it down to one of its own; it closes
as stopped only when the host has been quiet long enough. Every step is an audit event."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from minewatch.cases.models import Case, CaseEvent, CaseFinding, Status, Unit, Verdict
from minewatch.errors import WorkflowError
from minewatch.model.document import attribution_to_json, rfc3339
from minewatch.model.findings import Finding
from minewatch.model.subject import SubjectKind

__all__ = [
    "TRANSITIONS",
    "add_event",
    "as_utc",
    "WorkflowError",
    "close",
    "delegate",
    "escalate_overdue",
    "merge",
    "move",
    "join_case",
    "open_case",
    "open_case_of",
    "open_from_findings",
    "reopen",
    "tick",
    "unit_for_code",
    "verify",
]

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.TRIAGED}),
    Status.TRIAGED: frozenset({Status.OWNER_NOTIFIED}),
    Status.OWNER_NOTIFIED: frozenset({Status.RECTIFICATION_ORDERED}),
    Status.RECTIFICATION_ORDERED: frozenset({Status.BLOCKED, Status.VERIFYING}),
    Status.BLOCKED: frozenset({Status.VERIFYING}),
    Status.VERIFYING: frozenset({Status.RECTIFICATION_ORDERED}),
}
# Activities that become cases: a node or an exchange is not, by itself, to be disposed of.
CASE_ACTIVITIES = ("mining", "web-miner", "pool-server")


def add_event(session: Session, case: Case, now: datetime, actor: str, action: str, detail: str = "") -> None:
    session.add(CaseEvent(case=case, at=now, actor=actor, action=action, detail=detail))
    case.updated_at = now


def unit_for_code(session: Session, code: str | None) -> Unit | None:
    """The unit for a division code, else its city's, else its province's."""
    if not code:
        return None
    for candidate in (code, code[:4] + "00", code[:2] + "0000"):
        unit = session.scalar(select(Unit).where(Unit.code == candidate))
        if unit is not None:
            return unit
    return None


def _severity(finding: Finding) -> str:
    a = finding.attribution
    if (a is not None and a.likely_compromised) or finding.confidence >= 0.9:
        return "high"
    return "medium" if finding.confidence >= 0.6 else "low"


def open_from_findings(
    session: Session,
    findings: Iterable[Finding],
    now: datetime,
    default_unit: Unit,
    actor: str = "minewatch",
) -> list[Case]:
    """Open a case per host and activity, or add the finding (best a host's episode) to
    the open one. Mining seen again while a case is being verified sends it back to
    rectification."""
    touched: list[Case] = []
    for f in findings:
        if f.activity.value not in CASE_ACTIVITIES:
            continue
        case = open_case_of(session, f.host, f.activity.value)
        if case is None:
            a = f.attribution
            unit = unit_for_code(session, a.region_code if a else None) or default_unit
            case = open_case(session, f, unit, now, actor)
        else:
            join_case(session, case, f, now, actor)
        touched.append(case)
    session.flush()
    return touched


def open_case_of(session: Session, host: str, activity: str, lock: bool = False) -> Case | None:
    """The host's open case of this activity (the database holds at most one); with `lock`,
    its row is locked until the transaction ends (PostgreSQL), so two pushes joining it
    take turns and each reads the other's first and last seen."""
    query = select(Case).where(Case.host == host, Case.activity == activity, Case.status != Status.CLOSED)
    return session.scalar(query.with_for_update() if lock else query)


def open_case(
    session: Session, f: Finding, unit: Unit, now: datetime, actor: str, key: str | None = None
) -> Case:
    """A new case at `unit` for the finding's host and activity, with the finding."""
    a = f.attribution
    case = Case(
        host=f.host,
        activity=f.activity.value,
        unit=unit,
        severity=_severity(f),
        status=Status.NEW.value,
        opened_at=now,
        updated_at=now,
        first_seen=f.first_seen,
        last_seen=f.last_seen,
        attribution=json.dumps(attribution_to_json(a), ensure_ascii=False) if a else None,
    )
    session.add(case)
    add_event(session, case, now, actor, "opened", f"{f.activity.value} by {f.host}, for {unit.name}")
    _attach(session, case, f, key)
    return case


def join_case(
    session: Session, case: Case, f: Finding, now: datetime, actor: str, key: str | None = None
) -> None:
    """Add the finding to its host's open case; seen again during verification, the case
    goes back to rectification."""
    first, last = f.first_seen, f.last_seen
    case.first_seen = min(as_utc(case.first_seen), first)
    case.last_seen = max(as_utc(case.last_seen), last)
    add_event(session, case, now, actor, "finding linked", f"seen {rfc3339(first)} to {rfc3339(last)}")
    since = case.verifying_since
    if case.status == Status.VERIFYING.value and since is not None and last > as_utc(since):
        reopen(session, case, now, actor, "mining seen again during verification")
    _attach(session, case, f, key)


def _attach(session: Session, case: Case, f: Finding, key: str | None) -> None:
    session.add(
        CaseFinding(
            case=case,
            first_seen=f.first_seen,
            last_seen=f.last_seen,
            finding=json.dumps(f.to_json(), ensure_ascii=False),
            finding_key=key,
        )
    )


def reopen(session: Session, case: Case, now: datetime, actor: str, why: str) -> None:
    """Back from verification to rectification: what was to stop goes on."""
    case.status = Status.RECTIFICATION_ORDERED.value
    case.verifying_since = None
    add_event(session, case, now, actor, "reopened", why)


def as_utc(t: datetime) -> datetime:
    """SQLite hands back naive times; they were stored in UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def move(
    session: Session,
    case: Case,
    to: Status,
    actor: str,
    now: datetime,
    deadline: datetime | None = None,
    detail: str = "",
) -> None:
    """One step along the workflow; rectification needs a deadline."""
    current = Status(case.status)
    if to not in TRANSITIONS.get(current, frozenset()):
        raise WorkflowError(f"case {case.id}", f"cannot go from {current.value} to {to.value}")
    if to == Status.RECTIFICATION_ORDERED and deadline is None:
        raise WorkflowError(f"case {case.id}", "ordering rectification needs a deadline")
    if to == Status.RECTIFICATION_ORDERED and deadline is not None and deadline <= now:
        raise WorkflowError(f"case {case.id}", f"the deadline {deadline.isoformat()} has already passed")
    case.status = to.value
    case.deadline = deadline if to == Status.RECTIFICATION_ORDERED else case.deadline
    case.verifying_since = now if to == Status.VERIFYING else None
    when = f" by {deadline.isoformat()}" if deadline is not None else ""
    add_event(session, case, now, actor, to.value, (detail + when).strip())


def close(
    session: Session, case: Case, verdict: Verdict, actor: str, now: datetime, detail: str = ""
) -> None:
    """Close with a verdict other than 'stopped' (which only verification gives)."""
    if case.status == Status.CLOSED.value:
        raise WorkflowError(f"case {case.id}", "is already closed")
    if verdict == Verdict.STOPPED:
        raise WorkflowError(f"case {case.id}", "'stopped' is decided by verification, not by hand")
    case.status, case.verdict = Status.CLOSED.value, verdict.value
    add_event(session, case, now, actor, "closed", f"{verdict.value}: {detail}".rstrip(": "))


def verify(session: Session, case: Case, now: datetime, quiet: timedelta, actor: str = "minewatch") -> bool:
    """Close a case being verified as stopped once its host has been quiet for `quiet`
    since verification began and since it was last seen. Returns whether it closed."""
    if case.status != Status.VERIFYING.value or case.verifying_since is None:
        return False
    if case.activity == SubjectKind.SITE.value:
        return False  # a site is settled by a re-check of it (cases/subjects.py), not by quiet
    quiet_since = max(as_utc(case.verifying_since), as_utc(case.last_seen))
    if now - quiet_since < quiet:
        return False
    case.status, case.verdict = Status.CLOSED.value, Verdict.STOPPED.value
    add_event(
        session,
        case,
        now,
        actor,
        "closed",
        f"stopped: no mining seen for {quiet} since {quiet_since.isoformat()}",
    )
    return True


def escalate_overdue(session: Session, now: datetime, actor: str = "minewatch") -> list[Case]:
    """Cases past their deadline, still open, go up a level (once per deadline)."""
    moved = []
    for case in session.scalars(select(Case).where(Case.status != Status.CLOSED, Case.deadline.is_not(None))):
        above = case.unit.parent
        if case.deadline is None or as_utc(case.deadline) > now or above is None:
            continue
        below = case.unit
        case.unit = above
        case.deadline = None
        add_event(
            session, case, now, actor, "escalated", f"deadline passed at {below.name}: to {case.unit.name}"
        )
        moved.append(case)
    session.flush()
    return moved


def delegate(session: Session, case: Case, to: Unit, actor: str, now: datetime) -> None:
    """Hand a case down to a unit directly below the one that holds it."""
    if to.parent_id != case.unit_id:
        raise WorkflowError(f"case {case.id}", f"{to.name} is not a unit under {case.unit.name}")
    case.unit = to
    add_event(session, case, now, actor, "delegated", f"to {to.name}")


def merge(session: Session, duplicate: Case, into: Case, actor: str, now: datetime) -> None:
    """Merge a duplicate into another case: its findings move over, it closes."""
    if duplicate.id == into.id:
        raise WorkflowError(f"case {duplicate.id}", "cannot be merged into itself")
    for link in list(duplicate.findings):
        link.case = into
    into.first_seen = min(as_utc(into.first_seen), as_utc(duplicate.first_seen))
    into.last_seen = max(as_utc(into.last_seen), as_utc(duplicate.last_seen))
    duplicate.merged_into = into.id
    close(session, duplicate, Verdict.DUPLICATE, actor, now, f"merged into case {into.id}")
    add_event(session, into, now, actor, "merged", f"case {duplicate.id} merged in")


def tick(session: Session, now: datetime, quiet: timedelta, actor: str = "minewatch") -> tuple[int, int]:
    """What time alone decides: overdue cases go up a level, verified ones close as stopped.
    Returns how many of each."""
    escalated = escalate_overdue(session, now, actor)
    verifying = session.scalars(select(Case).where(Case.status == Status.VERIFYING.value)).all()
    closed = sum(verify(session, c, now, quiet, actor) for c in verifying)
    return len(escalated), closed
