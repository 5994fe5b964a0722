"""Taking a public tip: one rate limit per client address for the page and the API alike,
the unit the reporter chose if it is one (else the root), and a receipt number back."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from minewatch.cases.db import root_unit
from minewatch.cases.models import Unit
from minewatch.cases.tips import TipForm, submit_tip
from minewatch.errors import TipRefused
from minewatch.web.deps import now

__all__ = ["TipRefused", "receive_tip"]


def receive_tip(request: Request, session: Session, form: TipForm, unit_code: str | None) -> str:
    address = request.client.host if request.client else "?"
    if not request.app.state.tip_limiter.allow(address):
        raise TipRefused("tip", "too many tips from this address; try again later")
    unit = session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
    tip = submit_tip(session, _clean(form), unit or root_unit(session), now())
    session.commit()
    return tip.receipt


def _clean(form: TipForm) -> TipForm:
    """Surrounding blanks go; the text itself is kept exactly as written (it is shown
    escaped, never interpreted)."""
    return TipForm(
        form.location.strip(), form.description.strip(), form.organisation.strip(), form.contact.strip()
    )
