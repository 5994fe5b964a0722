"""What a user may see and do: the cases and tips of their unit's subtree, and the actions
of their role. Every route asks here; a page hiding a button is only a courtesy."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from minewatch.cases.models import Case, Role, Tip, Unit, User
from minewatch.errors import Denied, NotFound

__all__ = ["ACTIONS", "Denied", "NotFound", "may", "subtree", "subtree_or_all", "visible_case", "visible_tip"]

# The least role for each action.
ACTIONS: dict[str, Role] = {
    "triage": Role.ANALYST,
    "notify": Role.ANALYST,
    "rectify": Role.ANALYST,
    "block": Role.ANALYST,
    "verify": Role.ANALYST,
    "check": Role.ANALYST,
    "close": Role.ANALYST,
    "take": Role.ANALYST,
    "link_tip": Role.ANALYST,
    "dismiss_tip": Role.ANALYST,
    "assign": Role.SUPERVISOR,
    "delegate": Role.SUPERVISOR,
    "merge": Role.SUPERVISOR,
    "manage_users": Role.ADMIN,
}
_RANK = {Role.ANALYST: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}


def may(user: User, action: str) -> bool:
    least = ACTIONS.get(action)
    return least is not None and _RANK[Role(user.role)] >= _RANK[least]


def subtree(session: Session, unit_id: int) -> set[int]:
    """The unit and every unit below it."""
    return _subtree(session, unit_id)[0]


def subtree_or_all(session: Session, unit_id: int) -> set[int] | None:
    """The unit's subtree, or None when it is every unit (no filter is needed)."""
    below, everything = _subtree(session, unit_id)
    return None if below == everything else below


def _subtree(session: Session, unit_id: int) -> tuple[set[int], set[int]]:
    children: dict[int | None, list[int]] = {}
    everything = set()
    for uid, parent in session.execute(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent, []).append(uid)
        everything.add(uid)
    found, todo = {unit_id}, [unit_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found, everything


def visible_case(session: Session, user: User, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None or case.unit_id not in subtree(session, user.unit_id):
        raise NotFound(f"case {case_id}", "not found")
    return case


def visible_tip(session: Session, user: User, tip_id: int) -> Tip:
    tip = session.get(Tip, tip_id)
    if tip is None or tip.unit_id not in subtree(session, user.unit_id):
        raise NotFound(f"tip {tip_id}", "not found")
    return tip
