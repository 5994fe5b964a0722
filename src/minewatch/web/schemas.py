"""The API's bodies, as pydantic models: what the OpenAPI spec publishes and what every
request is checked against before anything reads it."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from minewatch.errors import FindingFormatError
from minewatch.model.findings import Activity, Finding

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
    "StatusFilter",
    "TipIn",
    "TipOut",
    "TipReceipt",
]

# PostgreSQL stores no NUL in text: refused at the door rather than failing in the database.
NO_NUL = r"^[^\x00]*$"
Short = Annotated[str, Field(max_length=200, pattern=NO_NUL)]
Code = Annotated[str, Field(pattern=r"^[0-9]{2,12}$")]
Action = Literal[
    "triage", "notify", "rectify", "block", "verify", "check", "close", "take", "assign", "delegate", "merge"
]
StatusFilter = Literal[
    "open", "new", "triaged", "owner_notified", "rectification_ordered", "blocked", "verifying", "closed"
]
VerdictName = Literal["false_positive", "duplicate", "not_in_jurisdiction"]


def _text_time(value: object) -> object:
    """JSON gives times as text: a number is not a time here (pydantic would read it as
    seconds since 1970)."""
    if not isinstance(value, str | datetime):
        raise ValueError("a time must be RFC 3339 text, e.g. 2026-11-24T18:00:00Z")
    return value


def _json_number(value: object) -> object:
    """A whole number as JSON may write it (2 or 2.0), never as text or true."""
    if isinstance(value, str | bool):
        raise ValueError("expected a number")
    return value


# Models are strict (no "1" for 1, no "yes" for true); times come as text.
Time = Annotated[datetime, Field(strict=False), BeforeValidator(_text_time)]
Id = Annotated[int, Field(strict=False, ge=1, le=2**31 - 1), BeforeValidator(_json_number)]


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


class AttributionIn(BaseModel):
    """The owner a sensor already knows; `region_code` places the case."""

    model_config = ConfigDict(extra="allow", strict=True)
    organisation: Short | None = None
    sector: Short | None = None
    region: list[Short] | None = Field(default=None, max_length=3)
    region_code: Code | None = None
    likely_compromised: bool | None = None


class FindingIn(BaseModel):
    """A finding as `minewatch scan --json` writes it (any version): the fields below are
    checked here, then the whole object is read as the typed `Finding` (model/findings.py),
    so the API takes every finding the product emits and refuses, naming the field, what
    is not one."""

    model_config = ConfigDict(extra="allow", strict=True)
    host: Annotated[
        str,
        WithJsonSchema(
            {"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]}
        ),
    ]
    activity: Annotated[str, WithJsonSchema({"type": "string", "enum": [a.value for a in Activity]})]
    first_seen: Time
    last_seen: Time
    confidence: Annotated[float, Field(ge=0, le=1)]
    coin: Short | None = None
    algorithm: Short | None = None
    attribution: AttributionIn | None = None
    _finding: Finding | None = PrivateAttr(default=None)

    @field_validator("activity")
    @classmethod
    def _activity(cls, value: str) -> str:
        if value not in {a.value for a in Activity}:
            raise ValueError("expected one of " + ", ".join(a.value for a in Activity))
        return value

    @model_validator(mode="after")
    def _typed(self) -> FindingIn:
        try:
            self._finding = Finding.from_json(self.contract())
        except FindingFormatError as e:
            raise ValueError(str(e)) from None
        return self

    def finding(self) -> Finding:
        """The typed finding this body carries."""
        assert self._finding is not None
        return self._finding

    @field_validator("host")
    @classmethod
    def _address(cls, value: str) -> str:
        return str(ipaddress.ip_address(value))

    @field_validator("first_seen", "last_seen")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    def contract(self) -> dict[str, Any]:
        """The finding as the workflow reads it: JSON values, times in UTC."""
        out = self.model_dump(mode="json")
        for key in ("first_seen", "last_seen"):
            out[key] = getattr(self, key).isoformat().replace("+00:00", "Z")
        return out


class FindingsPush(BaseModel):
    findings: list[FindingIn] = Field(max_length=1000)


class PushResult(BaseModel):
    received: int
    cases_opened: int
    cases_updated: int
    not_cases: int


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

    @field_validator("deadline")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)


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
