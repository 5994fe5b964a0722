"""Tips from the public: stored with a receipt number for the reporter, placed at the unit
the reporter chose (else the root), then linked to a case or dismissed by an analyst."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from minewatch.cases.models import Case, CaseEvent, Tip, TipStatus, Unit
from minewatch.cases.workflow import WorkflowError

__all__ = ["TipForm", "dismiss_tip", "link_tip", "submit_tip"]

# No 0/O or 1/I/L: a receipt is read out over the phone.
_RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class TipForm:
    """What a reporter wrote, already checked for size by the page or API that took it."""

    location: str
    description: str
    organisation: str = ""
    contact: str = ""


def _receipt(now: datetime) -> str:
    return f"T{now:%Y%m%d}-" + "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(8))


def submit_tip(session: Session, form: TipForm, unit: Unit, now: datetime) -> Tip:
    tip = Tip(
        receipt=_receipt(now),
        received_at=now,
        unit=unit,
        location=form.location,
        organisation=form.organisation,
        description=form.description,
        contact=form.contact,
        status=TipStatus.NEW.value,
    )
    session.add(tip)
    session.flush()
    return tip


def link_tip(session: Session, tip: Tip, case: Case, actor: str, now: datetime) -> None:
    """The tip becomes part of the case's evidence; the case's trail says who linked it."""
    if tip.status != TipStatus.NEW.value:
        raise WorkflowError(f"tip {tip.receipt}", f"is already {tip.status}")
    tip.case, tip.status = case, TipStatus.LINKED.value
    session.add(CaseEvent(case=case, at=now, actor=actor, action="tip linked", detail=tip.receipt))
    case.updated_at = now


def dismiss_tip(tip: Tip) -> None:
    if tip.status != TipStatus.NEW.value:
        raise WorkflowError(f"tip {tip.receipt}", f"is already {tip.status}")
    tip.status = TipStatus.DISMISSED.value
