"""The API's finding: the JSON contract of `minewatch scan --json`, field for field, as a
pydantic model, so the OpenAPI spec publishes every field with its kind and bounds and a
request is checked before anything reads it. The typed `Finding` (model/findings.py) is
then read from the checked body. A test holds the fields here equal to the keys of
`Finding.to_json`, so the API takes every finding the product emits."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    model_validator,
)

from minewatch.errors import FindingFormatError
from minewatch.model.attribution import Sector
from minewatch.model.findings import FINDING_VERSION, Activity, EvidenceKind, Finding
from minewatch.web.fields import Amount, Code, Count, Number, Positive, Share, Short, Text, Time, json_number

__all__ = ["AttributionIn", "FindingIn"]


def _one_of(kind: type[StrEnum]) -> Any:
    """Text that must be one of an enum's values, published as that enum."""
    values = [m.value for m in kind]

    def check(value: str) -> str:
        if value not in values:
            raise ValueError("expected one of " + ", ".join(values))
        return value

    return Annotated[str, WithJsonSchema({"type": "string", "enum": values}), AfterValidator(check)]


def _address(value: str) -> str:
    return str(ipaddress.ip_address(value))


Address = Annotated[
    str,
    WithJsonSchema({"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]}),
    AfterValidator(_address),
]


class _In(BaseModel):
    # Strict (no "1" for 1); fields a newer minewatch adds are let through and ignored.
    model_config = ConfigDict(extra="ignore", strict=True)


class EndpointIn(_In):
    ip: Address | Annotated[str, Field(max_length=0)]
    port: Annotated[int, Field(strict=False, ge=0, le=65535), BeforeValidator(json_number)]
    name: Short | None = None


class EvidenceIn(_In):
    kind: _one_of(EvidenceKind)  # type: ignore[valid-type]
    detail: Text
    strength: Share
    first_seen: Time | None = None
    last_seen: Time | None = None
    peer: EndpointIn | None = None
    protocol: Short | None = None
    coin: Short | None = None
    algorithm: Short | None = None
    source: Text | None = None
    bytes: Count = 0
    count: Positive = 1


class SharesIn(_In):
    submitted: Count
    accepted: Count
    rejected: Count


class HashrateIn(_In):
    value: Amount
    low: Amount
    high: Amount
    unit: Short
    method: Text
    shares: Count = 0
    window_s: Amount = 0.0


class BoundsIn(_In):
    low: Number
    best: Number
    high: Number


class ExposureIn(_In):
    start: Time
    end: Time
    accepted: Count
    # Seconds per expected share: at most the window itself (a share is at least one hash),
    # at least a microsecond over 2**256 hashes. Its square is taken, so bounded both ways.
    exposure: Annotated[float, Field(allow_inf_nan=False, ge=1e-90, le=1e12)]


class PointIn(_In):
    ts: Time
    value: Number


class AttributionIn(_In):
    """The owner a sensor already knows; `region_code` places the case."""

    source: Short | None = None
    organisation: Short | None = None
    sector: _one_of(Sector) | None = None  # type: ignore[valid-type]
    sector_confidence: Share | None = None
    sector_basis: Text | None = None
    region: list[Short] | None = Field(default=None, max_length=3)
    region_code: Code | None = None
    region_basis: Text | None = None
    contact: Short | None = None
    prefix: Short | None = None
    likely_compromised: bool | None = None
    compromise_reason: Text | None = None


class DecidedIn(_In):
    kind: _one_of(EvidenceKind)  # type: ignore[valid-type]
    strength: Share


class FindingIn(_In):
    """A finding as `minewatch scan --json` writes it (version 1 or 2)."""

    version: Annotated[int, Field(strict=False, ge=1, le=FINDING_VERSION), BeforeValidator(json_number)] = 1
    host: Address
    activity: _one_of(Activity)  # type: ignore[valid-type]
    protocol: Short | None = None
    coin: Short | None = None
    algorithm: Short | None = None
    pools: list[EndpointIn] = Field(default_factory=list, max_length=1000)
    first_seen: Time
    last_seen: Time
    shares: SharesIn | None = None
    difficulty: Number | None = None
    difficulty_timeline: list[PointIn] = Field(default_factory=list, max_length=10_000)
    hashrate: HashrateIn | None = None
    exposures: list[ExposureIn] = Field(default_factory=list, max_length=10_000)
    reported_hashrate_hs: Amount | None = None
    power_w: BoundsIn | None = None
    energy_kwh_day: Number | None = None
    energy_kwh_day_bounds: BoundsIn | None = None
    co2_kg_day: BoundsIn | None = None
    coin_basis: Text | None = None
    hardware: Short | None = None
    estimate_notes: list[Text] = Field(default_factory=list, max_length=100)
    confidence: Share
    decided_by: DecidedIn | None = None  # derived from `evidence`; read and ignored
    logins: list[Short] = Field(default_factory=list, max_length=100)
    agent: Short | None = None
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=100)
    sources: list[Text] = Field(default_factory=list, max_length=100)
    bytes: Count = 0
    windows: Positive = 1
    attribution: AttributionIn | None = None
    _finding: Finding | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _typed(self) -> FindingIn:
        try:
            self._finding = Finding.from_json(self.model_dump(mode="json"))
        except FindingFormatError as e:
            raise ValueError(str(e)) from None
        return self

    def finding(self) -> Finding:
        """The typed finding this body carries."""
        assert self._finding is not None
        return self._finding
