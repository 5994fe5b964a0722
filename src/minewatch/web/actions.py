"""What the API and the console both do, for a signed-in person: push findings, list and
show the cases they may see, apply their action to a case (the case service,
`minewatch.cases.service`, once scope and role allow it), and gather the findings behind
the dashboard. Each call checks scope and role itself."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, joinedload

from minewatch.attribute.attributor import Attributor
from minewatch.cases import service
from minewatch.cases.models import (
    ApiToken,
    Case,
    CaseFinding,
    LoginSession,
    Role,
    Tip,
    Unit,
    User,
    Verdict,
)
from minewatch.cases.push import Sensor, push
from minewatch.cases.service import CaseAction, QueueFilter, case_detail, case_summary, tip_out
from minewatch.cases.tips import dismiss_tip, link_tip
from minewatch.cases.workflow import WorkflowError
from minewatch.estimate.episodes import consolidate
from minewatch.model.document import attribution_from_json
from minewatch.model.findings import Finding
from minewatch.model.subject import SUBJECT_KINDS
from minewatch.web.schemas import ActionIn, FindingsPush, PushResult
from minewatch.web.scope import Denied, NotFound, may, subtree, subtree_or_all, visible_case, visible_tip

__all__ = [
    "QueueFilter",
    "apply_action",
    "case_detail",
    "case_summary",
    "add_person",
    "people",
    "push_findings",
    "sensor_of",
    "set_active",
    "queue",
    "scoped_findings",
    "status_counts",
    "tip_action",
    "tip_out",
    "tips_queue",
]


def sensor_of(session: Session, token: ApiToken) -> Sensor:
    """The token as a push needs it: its unit, the units below it and those above."""
    units = frozenset(subtree(session, token.unit_id))
    above: list[int] = []
    unit = token.unit.parent
    while unit is not None and len(above) < 8:  # a region tree is three or four deep
        above.append(unit.id)
        unit = unit.parent
    return Sensor(token.id, token.name, token.unit_id, token.unit.code, units, frozenset(above))


def push_findings(
    sessions: Callable[[], Session],
    sensor: Sensor,
    body: FindingsPush,
    now: datetime,
    attributor: Attributor | None,
) -> PushResult:
    """A sensor's findings: attributed here when the sensor did not and the service can,
    then into cases (`minewatch.cases.push`); a finding with no place goes to the sensor's
    unit, one placed outside its units is refused. Raises ServiceBusy."""
    rows = []
    for finding in body.findings:
        f = finding.finding()
        if f.attribution is None and attributor is not None:
            f = dataclasses.replace(f, attribution=attributor.attribute(f.host))
        rows.append(f)
    outcome = push(sessions, sensor, rows, body.batch, now)
    return PushResult.model_validate(outcome.to_json())


def queue(
    session: Session, user: User, want: QueueFilter, now: datetime, limit: int = 50, offset: int = 0
) -> tuple[int, list[tuple[Case, int]]]:
    """A page of the user's cases, most recently changed first, each with its number of
    findings; and how many match in all."""
    return service.queue(session, subtree_or_all(session, user.unit_id), want, now, limit, offset)


def status_counts(session: Session, user: User) -> Counter[str]:
    return service.status_counts(session, subtree(session, user.unit_id))


def tips_queue(session: Session, user: User, only_new: bool = True, limit: int = 50) -> list[Tip]:
    return service.tips_queue(session, subtree(session, user.unit_id), only_new, limit)


def _utc(t: datetime) -> datetime:
    """SQLite hands back naive times; every time here was stored in UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def apply_action(
    session: Session, user: User, case: Case, act: ActionIn, now: datetime, quiet: timedelta
) -> str:
    """Do `act` to `case` as `user`, or raise Denied, NotFound or WorkflowError. Returns
    what happened, in a few words."""
    if not may(user, act.action):
        raise Denied(f"case {case.id}", f"a {user.role} may not {act.action}")
    into = visible_case(session, user, act.into) if act.action == "merge" and act.into is not None else None
    return service.apply(session, case, CaseAction(**act.model_dump()), user.name, now, quiet, into)


def scoped_findings(session: Session, user: User, since: datetime | None = None) -> list[Finding]:
    """The host episodes of the user's cases (false positives and duplicates left out),
    each with its case's attribution: what the dashboard and the bulletin count."""
    units = subtree(session, user.unit_id)
    query = (
        select(CaseFinding.finding, Case.attribution)
        .join(Case, CaseFinding.case_id == Case.id)
        .where(
            Case.unit_id.in_(units),
            Case.activity.not_in(SUBJECT_KINDS),  # sites and apps are not mining figures
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
    if existing is not None:
        _not_a_peer(admin, existing)
    return create_user(session, name, unit, role, password)


def _not_a_peer(admin: User, user: User) -> None:
    """An admin does not change another admin of the same unit (neither could then be
    trusted with the other's account); a unit above does."""
    if user.id != admin.id and user.role == Role.ADMIN.value and user.unit_id == admin.unit_id:
        raise Denied(f"user {user.name}", "an admin of your own unit is changed by the unit above")


def set_active(session: Session, admin: User, user_id: int, active: bool) -> User:
    if not may(admin, "manage_users"):
        raise Denied("users", f"a {admin.role} may not manage people")
    user = session.get(User, user_id)
    if user is None or user.unit_id not in subtree(session, admin.unit_id):
        raise NotFound(f"user {user_id}", "not found")
    if user.id == admin.id and not active:
        raise WorkflowError(f"user {user.name}", "cannot switch yourself off")
    _not_a_peer(admin, user)
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
