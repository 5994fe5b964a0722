"""The case service: what the console, the API and the command line do to cases, in one
vocabulary of actions and with one JSON shape for a case (the API's `CaseSummary` and
`CaseDetail`, which `minewatch cases list --json` and `cases show` print too).

Who may do what (roles, units) is the web's business (`minewatch.web.actions`); this
module says what each action does to a case once someone may do it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from minewatch.cases.models import Case, CaseEvent, CaseFinding, Status, Tip, TipStatus, Unit, User, Verdict
from minewatch.cases.workflow import TRANSITIONS, close, delegate, merge, move, verify
from minewatch.errors import NotFound, UsageError, WorkflowError
from minewatch.estimate.episodes import consolidate
from minewatch.model.findings import Finding
from minewatch.model.subject import SUBJECT_KINDS, SubjectKind
from minewatch.web.schemas import CaseDetail, CaseSummary, EventOut, TipOut

__all__ = [
    "ACTIONS",
    "ALIASES",
    "STEPS",
    "CaseAction",
    "QueueFilter",
    "action_name",
    "apply",
    "case_detail",
    "case_summary",
    "next_actions",
    "queue",
    "status_counts",
    "tip_out",
    "tips_queue",
]

# The actions that move a case along the workflow, and the status each leads to.
STEPS: dict[str, Status] = {
    "triage": Status.TRIAGED,
    "notify": Status.OWNER_NOTIFIED,
    "rectify": Status.RECTIFICATION_ORDERED,
    "block": Status.BLOCKED,
    "verify": Status.VERIFYING,
}
# Every action on a case, in the order a page offers them.
ACTIONS: tuple[str, ...] = (*STEPS, "check", "close", "take", "assign", "delegate", "merge")
# `minewatch cases step` once took the status a step leads to; those names still work.
ALIASES: dict[str, str] = {status.value: action for action, status in STEPS.items()}


def action_name(word: str) -> str:
    """The action `word` names (an action, or the status a step leads to), or UsageError."""
    action = ALIASES.get(word, word)
    if action not in ACTIONS:
        raise UsageError(repr(word), "not an action: expected one of " + ", ".join(ACTIONS))
    return action


def next_actions(status: str) -> list[str]:
    """The actions a case in `status` allows, in workflow order (roles not considered)."""
    if status == Status.CLOSED.value:
        return []
    order = list(Status)
    steps = [a for a, to in STEPS.items() if to in TRANSITIONS.get(Status(status), ())]
    steps.sort(key=lambda a: order.index(STEPS[a]))
    if status == Status.VERIFYING.value:
        steps.insert(0, "check")  # the usual way on; back to rectification if mining goes on
    return [*steps, "close", "take", "assign", "delegate", "merge"]


@dataclass(frozen=True)
class CaseAction:
    """One action on a case with what it needs: a deadline (rectify), a verdict (close),
    a person (assign), a unit (delegate), a case (merge)."""

    action: str
    deadline: datetime | None = None
    verdict: str | None = None
    unit_code: str | None = None
    assignee: str | None = None
    into: int | None = None
    note: str = ""


def apply(
    session: Session,
    case: Case,
    act: CaseAction,
    actor: str,
    now: datetime,
    quiet: timedelta,
    into: Case | None = None,
) -> str:
    """Do `act` to `case` as `actor` (`into`: the case to merge into, found by the caller
    within its scope). Raises WorkflowError or NotFound; returns what happened, in a few words."""
    if act.action in STEPS:
        move(session, case, STEPS[act.action], actor, now, deadline=act.deadline, detail=act.note)
        return STEPS[act.action].value
    if act.action == "check" and case.activity == SubjectKind.SITE.value:
        return _recheck_site(session, case, actor, now, quiet)
    if act.action == "check":
        closed = verify(session, case, now, quiet, actor=actor)
        return "closed: stopped" if closed else f"not yet: the host must be quiet for {quiet}"
    if act.action == "close":
        return _close(session, case, act, actor, now)
    if act.action in ("take", "assign"):
        return _assign(session, case, actor if act.action == "take" else (act.assignee or ""), actor, now)
    if act.action == "delegate":
        unit = session.scalar(select(Unit).where(Unit.code == (act.unit_code or "")))
        if unit is None:
            raise WorkflowError(f"case {case.id}", f"no unit {act.unit_code}")
        delegate(session, case, unit, actor, now)
        return f"delegated to {unit.name}"
    if act.action == "merge":
        if into is None:
            raise WorkflowError(f"case {case.id}", "merging needs the case to merge into")
        merge(session, case, into, actor, now)
        return f"merged into case {into.id}"
    raise NotFound(f"action {act.action}", "unknown")


def _recheck_site(session: Session, case: Case, actor: str, now: datetime, quiet: timedelta) -> str:
    """A site is checked by fetching it again, under the fetch's bounds. The service's
    environment says how: `MINEWATCH_SITES_PROXY` names a proxy outside our own blocking
    (or the re-check would see our RPZ's answer and call every blocked site gone);
    `MINEWATCH_SITES_ALLOW_PRIVATE=1` lets it fetch private addresses (sites in the user's
    own networks), which are refused otherwise."""
    import os

    from minewatch.cases.subjects import recheck
    from minewatch.probe.policy import Policy
    from minewatch.sites.fetch import Fetcher

    proxy = os.environ.get("MINEWATCH_SITES_PROXY") or None
    private = os.environ.get("MINEWATCH_SITES_ALLOW_PRIVATE") == "1"
    fetcher = Fetcher(policy=Policy(allow_private=private), proxy=proxy)
    done = recheck(session, case, fetcher, now, quiet, actor)
    if done.closed:
        return "closed: stopped"
    return f"re-checked: {done.outcome.value}"


def _close(session: Session, case: Case, act: CaseAction, actor: str, now: datetime) -> str:
    try:
        verdict = Verdict(act.verdict or "")
    except ValueError:
        reasons = ", ".join(v.value for v in Verdict if v != Verdict.STOPPED)
        raise WorkflowError(f"case {case.id}", f"closing needs a verdict: {reasons}") from None
    close(session, case, verdict, actor, now, act.note)
    return f"closed: {verdict.value}"


def _assign(session: Session, case: Case, who: str, actor: str, now: datetime) -> str:
    from minewatch.web.scope import subtree

    target = session.scalar(select(User).where(User.name == who))
    if target is None or case.unit_id not in subtree(session, target.unit_id):
        raise WorkflowError(f"case {case.id}", f"{who or 'nobody'} cannot hold this case")
    session.add(CaseEvent(case=case, at=now, actor=actor, action="assigned", detail=who))
    case.updated_at = now
    case.assignee = who
    return f"assigned to {who}"


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None  # a Status, or "open"
    severity: str | None = None
    unit_code: str | None = None
    host: str | None = None
    overdue: bool = False


def queue(
    session: Session,
    units: set[int] | None,
    want: QueueFilter,
    now: datetime,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[tuple[Case, int]]]:
    """A page of the cases of `units` (None: all), most recently changed first, each with
    its number of findings; and how many match in all."""
    from minewatch.web.scope import subtree

    query = select(Case) if units is None else select(Case).where(Case.unit_id.in_(units))
    if want.status == "open":
        query = query.where(Case.status != Status.CLOSED.value)
    elif want.status:
        query = query.where(Case.status == want.status)
    if want.severity:
        query = query.where(Case.severity == want.severity)
    if want.unit_code:
        unit = session.scalar(select(Unit).where(Unit.code == want.unit_code))
        below = subtree(session, unit.id) if unit else set()
        query = query.where(Case.unit_id.in_(below if units is None else below & units))
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
    return total, [found[i] for i in ids if i in found]


def status_counts(session: Session, units: set[int]) -> Counter[str]:
    """Cases of `units` by status."""
    rows = session.execute(
        select(Case.status, func.count(Case.id)).where(Case.unit_id.in_(units)).group_by(Case.status)
    )
    return Counter({status: n for status, n in rows})


def tips_queue(session: Session, units: set[int], only_new: bool = True, limit: int = 50) -> list[Tip]:
    """The newest tips placed in `units`; only those awaiting triage if `only_new`."""
    query = select(Tip).where(Tip.unit_id.in_(units))
    if only_new:
        query = query.where(Tip.status == TipStatus.NEW.value)
    return list(session.scalars(query.order_by(Tip.id.desc()).limit(limit)))


def _attribution(case: Case) -> dict[str, Any] | None:
    return json.loads(case.attribution) if case.attribution else None


def _utc(t: datetime) -> datetime:
    """SQLite hands back naive times; every time here was stored in UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def case_summary(case: Case, findings: int | None = None) -> CaseSummary:
    """The case as one row of a list (`findings`: its count, when the caller has it)."""
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


def _subject_evidence(case: Case) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A site or app case's evidence: the signals of its latest check, each with the data
    row it came from; and that check as its latest finding."""
    from minewatch.sites.finding import SiteFinding

    if not case.findings:
        return [], None
    latest = SiteFinding.from_json(json.loads(case.findings[-1].finding), where=f"case {case.id}")
    evidence = [
        {"kind": s.kind, "detail": f"{s.matched} ({s.source})", "strength": s.weight, "count": 1}
        for s in latest.signals
    ]
    return evidence, latest.to_json()


def case_detail(case: Case) -> CaseDetail:
    """The case with its host's episode (all its findings merged: evidence with counts,
    strongest first, and the estimate from all its shares), its trail and its tips."""
    if case.activity in SUBJECT_KINDS:
        evidence, latest = _subject_evidence(case)
    else:
        findings = [Finding.from_json(json.loads(link.finding)) for link in case.findings]
        # One case is one host and activity: its findings merge into one episode.
        episode = consolidate(findings)[0] if findings else None
        evidence = [
            {"kind": e.kind.value, "detail": e.detail, "strength": e.strength, "count": e.count}
            for e in (episode.evidence if episode else ())
        ]
        latest = episode.to_json() if episode else None
    return CaseDetail(
        **case_summary(case, len(case.findings)).model_dump(),
        attribution=_attribution(case),
        evidence=evidence,
        latest_finding=latest,
        events=[
            EventOut(at=_utc(e.at), actor=e.actor, action=e.action, detail=e.detail) for e in case.events
        ],
        tips=[tip_out(t) for t in case.tips],
        merged_into=case.merged_into,
    )
