"""What the API and the console both do: push findings, list and show the cases a user may
see, apply a user's action to a case, and gather the findings behind the dashboard. Each
call checks scope and role itself."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, joinedload

from minewatch.attribute.attributor import Attributor
from minewatch.cases.models import (
    ApiToken,
    Case,
    CaseEvent,
    CaseFinding,
    LoginSession,
    Role,
    Status,
    Tip,
    TipStatus,
    Unit,
    User,
    Verdict,
)
from minewatch.cases.tips import dismiss_tip, link_tip
from minewatch.cases.workflow import (
    CASE_ACTIVITIES,
    WorkflowError,
    close,
    delegate,
    merge,
    move,
    open_from_findings,
    verify,
)
from minewatch.estimate.episodes import consolidate, merge_windows
from minewatch.model._json import attribution_from_json
from minewatch.model.findings import Finding
from minewatch.web.schemas import ActionIn, CaseDetail, CaseSummary, EventOut, FindingIn, PushResult, TipOut
from minewatch.web.scope import Denied, NotFound, may, subtree, subtree_or_all, visible_case, visible_tip

__all__ = [
    "QueueFilter",
    "apply_action",
    "case_detail",
    "case_summary",
    "add_person",
    "people",
    "push_findings",
    "set_active",
    "queue",
    "scoped_findings",
    "status_counts",
    "tip_action",
    "tip_out",
    "tips_queue",
]

_STEPS = {
    "triage": Status.TRIAGED,
    "notify": Status.OWNER_NOTIFIED,
    "rectify": Status.RECTIFICATION_ORDERED,
    "block": Status.BLOCKED,
    "verify": Status.VERIFYING,
}


def push_findings(
    session: Session, token: ApiToken, findings: list[FindingIn], now: datetime, attributor: Attributor | None
) -> PushResult:
    """A sensor's findings: attributed here when the sensor did not and the service can,
    then into cases; a finding with no place goes to the sensor's unit."""
    rows = []
    for body in findings:
        f = body.finding()
        if f.attribution is None and attributor is not None:
            f = dataclasses.replace(f, attribution=attributor.attribute(f.host))
        rows.append(f)
    touched = open_from_findings(session, rows, now, token.unit, actor=f"sensor:{token.name}")
    opened = len({c.id for c in touched if _utc(c.opened_at) == now})
    token.pushed += len(rows)
    return PushResult(
        received=len(rows),
        cases_opened=opened,
        cases_updated=len(touched) - opened,
        not_cases=sum(1 for r in rows if r.activity.value not in CASE_ACTIVITIES),
    )


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None  # a Status, or "open"
    severity: str | None = None
    unit_code: str | None = None
    host: str | None = None
    overdue: bool = False


def queue(
    session: Session, user: User, want: QueueFilter, now: datetime, limit: int = 50, offset: int = 0
) -> tuple[int, list[tuple[Case, int]]]:
    """A page of the user's cases, most recently changed first, each with its number of
    findings; and how many match in all."""
    scope = subtree_or_all(session, user.unit_id)
    units = scope if scope is not None else subtree(session, user.unit_id)
    query = select(Case) if scope is None else select(Case).where(Case.unit_id.in_(scope))
    if want.status == "open":
        query = query.where(Case.status != Status.CLOSED.value)
    elif want.status:
        query = query.where(Case.status == want.status)
    if want.severity:
        query = query.where(Case.severity == want.severity)
    if want.unit_code:
        unit = session.scalar(select(Unit).where(Unit.code == want.unit_code))
        query = query.where(Case.unit_id.in_(subtree(session, unit.id) & units if unit else set()))
    if want.host:
        query = query.where(Case.host.contains(want.host[:64], autoescape=True))
    if want.overdue:
        query = query.where(Case.status != Status.CLOSED.value, Case.deadline < now)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # The page's ids first (an index walk), then just those cases with their units and
    # their findings counted: never a count per case over the whole subtree.
    ids = list(
        session.scalars(
            query.with_only_columns(Case.id)
            .order_by(Case.updated_at.desc(), Case.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    linked = select(func.count(CaseFinding.id)).where(CaseFinding.case_id == Case.id).scalar_subquery()
    rows = session.execute(select(Case, linked).where(Case.id.in_(ids)).options(joinedload(Case.unit)))
    found = {case.id: (case, n) for case, n in rows}
    page = [found[i] for i in ids if i in found]
    return total, page


def status_counts(session: Session, user: User) -> Counter[str]:
    units = subtree(session, user.unit_id)
    rows = session.execute(
        select(Case.status, func.count(Case.id)).where(Case.unit_id.in_(units)).group_by(Case.status)
    )
    return Counter({status: n for status, n in rows})


def tips_queue(session: Session, user: User, only_new: bool = True, limit: int = 50) -> list[Tip]:
    query = select(Tip).where(Tip.unit_id.in_(subtree(session, user.unit_id)))
    if only_new:
        query = query.where(Tip.status == TipStatus.NEW.value)
    return list(session.scalars(query.order_by(Tip.id.desc()).limit(limit)))


def _attribution(case: Case) -> dict[str, Any] | None:
    return json.loads(case.attribution) if case.attribution else None


def _utc(t: datetime) -> datetime:
    """SQLite hands back naive times; every time here was stored in UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def case_summary(case: Case, findings: int | None = None) -> CaseSummary:
    attribution = _attribution(case) or {}
    return CaseSummary(
        id=case.id,
        host=case.host,
        activity=case.activity,
        unit=case.unit.name,
        unit_code=case.unit.code,
        severity=case.severity,
        status=case.status,
        verdict=case.verdict,
        assignee=case.assignee,
        deadline=_utc(case.deadline) if case.deadline else None,
        first_seen=_utc(case.first_seen),
        last_seen=_utc(case.last_seen),
        updated_at=_utc(case.updated_at),
        organisation=attribution.get("organisation"),
        findings=len(case.findings) if findings is None else findings,
    )


def tip_out(tip: Tip) -> TipOut:
    return TipOut(
        id=tip.id,
        receipt=tip.receipt,
        received_at=_utc(tip.received_at),
        unit=tip.unit.name,
        location=tip.location,
        organisation=tip.organisation,
        description=tip.description,
        contact=tip.contact,
        status=tip.status,
        case_id=tip.case_id,
    )


def case_detail(case: Case) -> CaseDetail:
    """The case with its host's episode (all its findings merged: evidence with counts,
    strongest first, and the estimate from all its shares), its trail and its tips."""
    findings = [Finding.from_json(json.loads(link.finding)) for link in case.findings]
    episode = merge_windows(findings) if findings else None
    return CaseDetail(
        **case_summary(case, len(findings)).model_dump(),
        attribution=_attribution(case),
        evidence=[
            {"kind": e.kind.value, "detail": e.detail, "strength": e.strength, "count": e.count}
            for e in (episode.evidence if episode else ())
        ],
        latest_finding=episode.to_json() if episode else None,
        events=[
            EventOut(at=_utc(e.at), actor=e.actor, action=e.action, detail=e.detail) for e in case.events
        ],
        tips=[tip_out(t) for t in case.tips],
        merged_into=case.merged_into,
    )


def apply_action(
    session: Session, user: User, case: Case, act: ActionIn, now: datetime, quiet: timedelta
) -> str:
    """Do `act` to `case` as `user`, or raise Denied, NotFound or WorkflowError. Returns
    what happened, in a few words."""
    if not may(user, act.action):
        raise Denied(f"case {case.id}", f"a {user.role} may not {act.action}")
    actor = user.name
    if act.action in _STEPS:
        move(session, case, _STEPS[act.action], actor, now, deadline=act.deadline, detail=act.note)
        return _STEPS[act.action].value
    if act.action == "check":
        closed = verify(session, case, now, quiet, actor=actor)
        return "closed: stopped" if closed else f"not yet: the host must be quiet for {quiet}"
    if act.action == "close":
        if act.verdict is None:
            raise WorkflowError(f"case {case.id}", "closing needs a verdict")
        close(session, case, Verdict(act.verdict), actor, now, act.note)
        return f"closed: {act.verdict}"
    if act.action in ("take", "assign"):
        who = actor if act.action == "take" else (act.assignee or "")
        target = session.scalar(select(User).where(User.name == who))
        if target is None or case.unit_id not in subtree(session, target.unit_id):
            raise WorkflowError(f"case {case.id}", f"{who or 'nobody'} cannot hold this case")
        _note(session, case, actor, now, "assigned", who)
        case.assignee = who
        return f"assigned to {who}"
    if act.action == "delegate":
        unit = session.scalar(select(Unit).where(Unit.code == (act.unit_code or "")))
        if unit is None:
            raise WorkflowError(f"case {case.id}", f"no unit {act.unit_code}")
        delegate(session, case, unit, actor, now)
        return f"delegated to {unit.name}"
    if act.action == "merge":
        if act.into is None:
            raise WorkflowError(f"case {case.id}", "merging needs the case to merge into")
        into = visible_case(session, user, act.into)
        merge(session, case, into, actor, now)
        return f"merged into case {into.id}"
    raise NotFound(f"action {act.action}", "unknown")


def _note(session: Session, case: Case, actor: str, now: datetime, action: str, detail: str) -> None:
    session.add(CaseEvent(case=case, at=now, actor=actor, action=action, detail=detail))
    case.updated_at = now


def scoped_findings(session: Session, user: User, since: datetime | None = None) -> list[Finding]:
    """The host episodes of the user's cases (false positives and duplicates left out),
    each with its case's attribution: what the dashboard and the bulletin count."""
    units = subtree(session, user.unit_id)
    query = (
        select(CaseFinding.finding, Case.attribution)
        .join(Case, CaseFinding.case_id == Case.id)
        .where(
            Case.unit_id.in_(units),
            or_(
                Case.verdict.is_(None),
                Case.verdict.not_in([Verdict.DUPLICATE.value, Verdict.FALSE_POSITIVE.value]),
            ),
        )
    )
    if since is not None:
        query = query.where(CaseFinding.last_seen >= since)
    out = []
    for finding, attribution in session.execute(query):
        f = Finding.from_json(json.loads(finding))
        if attribution:
            f = dataclasses.replace(f, attribution=attribution_from_json(json.loads(attribution)))
        out.append(f)
    return consolidate(out)


def people(session: Session, admin: User) -> list[User]:
    """The people of the admin's units, by unit and name."""
    if not may(admin, "manage_users"):
        raise Denied("users", f"a {admin.role} may not manage people")
    units = subtree(session, admin.unit_id)
    return list(
        session.scalars(
            select(User)
            .where(User.unit_id.in_(units))
            .options(joinedload(User.unit))
            .order_by(User.unit_id, User.name)
        )
    )


def add_person(session: Session, admin: User, name: str, unit_code: str, role: Role, password: str) -> User:
    """A new person (or new unit, role and password for one) in the admin's units."""
    from minewatch.web.auth import create_user

    if not may(admin, "manage_users"):
        raise Denied("users", f"a {admin.role} may not manage people")
    unit = session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None or unit.id not in subtree(session, admin.unit_id):
        raise NotFound(f"unit {unit_code}", "not found")
    existing = session.scalar(select(User).where(User.name == name))
    if existing is not None and existing.unit_id not in subtree(session, admin.unit_id):
        raise WorkflowError(f"user {name}", "the name is taken")  # by someone outside: say no more
    return create_user(session, name, unit, role, password)


def set_active(session: Session, admin: User, user_id: int, active: bool) -> User:
    if not may(admin, "manage_users"):
        raise Denied("users", f"a {admin.role} may not manage people")
    user = session.get(User, user_id)
    if user is None or user.unit_id not in subtree(session, admin.unit_id):
        raise NotFound(f"user {user_id}", "not found")
    if user.id == admin.id and not active:
        raise WorkflowError(f"user {user.name}", "cannot switch yourself off")
    user.active = active
    if not active:  # their sessions end now
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return user


def tip_action(
    session: Session, user: User, tip_id: int, action: str, case_id: int | None, now: datetime
) -> Tip:
    """Link a tip of the user's units to one of their cases, or dismiss it; raises
    Denied, NotFound or WorkflowError."""
    if action not in ("link", "dismiss") or not may(user, f"{action}_tip"):
        raise Denied(f"tip {tip_id}", f"a {user.role} may not {action} tips")
    tip = visible_tip(session, user, tip_id)
    if action == "link":
        link_tip(session, tip, visible_case(session, user, case_id or 0), user.name, now)
    else:
        dismiss_tip(tip)
    return tip
