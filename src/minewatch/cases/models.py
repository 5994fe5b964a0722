"""The tables of the disposal workflow (SQLAlchemy; SQLite by default, PostgreSQL by URL):
units, cases with their findings and audit trail, public tips, and the people and sensors
that act on them. The audit trail is append-only: nothing in minewatch updates or deletes
an event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ApiToken",
    "Base",
    "Case",
    "CaseEvent",
    "CaseFinding",
    "Level",
    "LoginSession",
    "PushBatch",
    "Role",
    "Status",
    "Tip",
    "TipStatus",
    "Unit",
    "User",
    "Verdict",
]


class Level(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


class Status(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    OWNER_NOTIFIED = "owner_notified"
    RECTIFICATION_ORDERED = "rectification_ordered"
    BLOCKED = "blocked"
    VERIFYING = "verifying"
    CLOSED = "closed"


class Verdict(StrEnum):
    STOPPED = "stopped"
    FALSE_POSITIVE = "false_positive"
    DUPLICATE = "duplicate"
    NOT_IN_JURISDICTION = "not_in_jurisdiction"


class Role(StrEnum):
    """What a user may do, each including the one before: an analyst works cases, a
    supervisor also hands them down, merges and assigns, an admin also manages people."""

    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class TipStatus(StrEnum):
    NEW = "new"
    LINKED = "linked"
    DISMISSED = "dismissed"


class Base(DeclarativeBase):
    pass


class Unit(Base):
    """An office of the region tree: province, city or county, by division code."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    parent: Mapped[Unit | None] = relationship(remote_side=[id])


# One open case per host and activity, held by the database itself: two pushes racing for
# a new host cannot both open one (the loser's transaction fails and is retried).
_OPEN = text("status != 'closed'")
ONE_OPEN_CASE = "ux_cases_one_open"
ONE_FINDING_KEY = "ux_case_findings_key"
HOST_LENGTH = 255


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    # A host's address, or for a site or app case its domain (up to 253) or package name.
    host: Mapped[str] = mapped_column(String(HOST_LENGTH))
    activity: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), default=Status.NEW.value)
    verdict: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(200))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When verification began: the host must stay quiet from here.
    verifying_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attribution: Mapped[str | None] = mapped_column(Text)  # JSON, as findings give it
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    findings: Mapped[list[CaseFinding]] = relationship(back_populates="case", order_by="CaseFinding.id")
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")
    tips: Mapped[list[Tip]] = relationship(back_populates="case", order_by="Tip.id")

    __table_args__ = (
        Index("ix_cases_open", "host", "activity", "status"),
        Index("ix_cases_queue", "unit_id", "status"),
        Index("ix_cases_updated", "updated_at", "id"),
        Index(ONE_OPEN_CASE, "host", "activity", unique=True, sqlite_where=_OPEN, postgresql_where=_OPEN),
    )


class CaseFinding(Base):
    __tablename__ = "case_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    case: Mapped[Case] = relationship(back_populates="findings")
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finding: Mapped[str] = mapped_column(Text)  # the finding's JSON
    # `minewatch.cases.push.finding_key`: a finding pushed again is found, not stored twice.
    # Empty for findings stored before keys existed (and for those `cases open` files).
    finding_key: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index(ONE_FINDING_KEY, "finding_key", unique=True),)


class CaseEvent(Base):
    """One line of a case's audit trail: who did what, when."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    case: Mapped[Case] = relationship(back_populates="events")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")


class Tip(Base):
    """A report from the public. It holds what the reporter wrote and nothing about them
    beyond an optional contact; the reporter's address is not stored."""

    __tablename__ = "tips"
    id: Mapped[int] = mapped_column(primary_key=True)
    receipt: Mapped[str] = mapped_column(String(32), unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    location: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=TipStatus.NEW.value)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    case: Mapped[Case | None] = relationship(back_populates="tips")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class LoginSession(Base):
    """A signed-in browser: the cookie carries `token`; `csrf` must come back with every
    change the browser asks for."""

    __tablename__ = "login_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user: Mapped[User] = relationship()
    csrf: Mapped[str] = mapped_column(String(64))
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A sensor's key for pushing findings; only its hash is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pushed: Mapped[int] = mapped_column(Integer, default=0)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class PushBatch(Base):
    """A sensor's batch, by the id the sensor gave it, with what the push did: the same
    batch sent again (a retry after a lost answer) is answered from here."""

    __tablename__ = "push_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    batch: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    result: Mapped[str] = mapped_column(Text)  # JSON of `minewatch.cases.push.PushOutcome`

    __table_args__ = (UniqueConstraint("token_id", "batch", name="ux_push_batches"),)
