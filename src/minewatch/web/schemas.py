"""The API's bodies, as pydantic models: what the OpenAPI spec publishes and what every
request is checked against before anything reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from minewatch.web.fields import NO_NUL, Code, Id, Short, Time
from minewatch.web.finding_in import AttributionIn, FindingIn

__all__ = [
    "ActionIn",
    "AttributionIn",
    "CaseDetail",
    "CaseList",
    "CaseSummary",
    "EventOut",
    "FindingIn",
    "FindingsPush",
    "LinkIn",
    "ActiveIn",
    "PersonIn",
    "PersonOut",
    "PushResult",
    "RefusedOut",
    "StatusFilter",
    "TipIn",
    "TipOut",
    "TipReceipt",
]

Action = Literal[
    "triage", "notify", "rectify", "block", "verify", "check", "close", "take", "assign", "delegate", "merge"
]
StatusFilter = Literal[
    "open", "new", "triaged", "owner_notified", "rectification_ordered", "blocked", "verifying", "closed"
]
VerdictName = Literal["false_positive", "duplicate", "not_in_jurisdiction"]


class FindingsPush(BaseModel):
    findings: list[FindingIn] = Field(max_length=1000)
    batch: (
        Annotated[
            str,
            Field(
                pattern=r"^[A-Za-z0-9_-]{8,64}$",
                description="The sensor's id for this batch (derived from its content, so a retry "
                "sends the same): a batch id seen before from this sensor is answered with what "
                "it did then, marked `replayed`.",
            ),
        ]
        | None
    ) = None


class RefusedOut(BaseModel):
    index: int = Field(description="The finding's position in `findings`, from 0.")
    host: str
    reason: str


class PushResult(BaseModel):
    received: int
    cases_opened: int
    cases_updated: int
    not_cases: int = Field(description="Findings of activities that open no case (nodes, exchanges).")
    stored: int = Field(0, description="Findings stored in cases by this push.")
    already_stored: int = Field(0, description="Findings stored before (the same sensor, host and window).")
    refused: list[RefusedOut] = Field(
        default_factory=list, description="Findings placed outside the sensor's units, with why."
    )
    batch: str | None = None
    replayed: bool = Field(False, description="This batch id was pushed before; this is what it did then.")


class CaseSummary(BaseModel):
    id: int
    host: str
    activity: str
    unit: str
    unit_code: str
    severity: str
    status: str
    verdict: str | None
    assignee: str | None
    deadline: datetime | None
    first_seen: datetime
    last_seen: datetime
    updated_at: datetime
    organisation: str | None
    findings: int


class CaseList(BaseModel):
    total: int
    cases: list[CaseSummary]


class EventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: str


class TipOut(BaseModel):
    id: int
    receipt: str
    received_at: datetime
    unit: str
    location: str
    organisation: str
    description: str
    contact: str
    status: str
    case_id: int | None


class CaseDetail(CaseSummary):
    attribution: dict[str, Any] | None
    evidence: list[dict[str, Any]]
    latest_finding: dict[str, Any] | None
    events: list[EventOut]
    tips: list[TipOut]
    merged_into: int | None


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    action: Action
    deadline: Time | None = None
    verdict: VerdictName | None = None
    unit_code: Code | None = None
    assignee: Annotated[str, Field(max_length=64, pattern=NO_NUL)] | None = None
    into: Id | None = None
    note: Annotated[str, Field(max_length=2000, pattern=NO_NUL)] = ""


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    case_id: Id


class TipIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    location: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
    description: Annotated[str, Field(min_length=1, max_length=4000, pattern=NO_NUL)]
    organisation: Short = ""
    contact: Short = ""
    unit_code: Code | None = None


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
    unit_code: Code
    role: Literal["analyst", "supervisor", "admin"]
    password: Annotated[str, Field(min_length=10, max_length=1024, pattern=NO_NUL)]


class PersonOut(BaseModel):
    id: int
    name: str
    role: str
    unit: str
    unit_code: str
    active: bool


class ActiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    active: bool


class TipReceipt(BaseModel):
    receipt: str
    message: str
