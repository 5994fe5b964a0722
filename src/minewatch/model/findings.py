"""Evidence, findings and the result document (the JSON contract of DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "Activity",
    "Endpoint",
    "Evidence",
    "EvidenceKind",
    "Finding",
    "Hashrate",
    "InputReport",
    "Bounds",
    "Power",
    "ScanResult",
    "Shares",
    "RESULT_VERSION",
]

RESULT_VERSION = 1


class Activity(StrEnum):
    MINING = "mining"
    POOL_SERVER = "pool-server"
    EXCHANGE = "exchange"
    WEB_MINER = "web-miner"
    CRYPTO_NODE = "crypto-node"


class EvidenceKind(StrEnum):
    """Where a reason to believe came from, strongest first."""

    DISSECTOR = "dissector"
    INTEL = "intel"
    P2P = "p2p"
    BEHAVIOUR = "behaviour"
    POWER = "power"
    TIP = "tip"


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ip": self.ip, "port": self.port, "name": self.name}


@dataclass(frozen=True)
class Evidence:
    """One reason to believe `host` carries out `activity`.

    `strength` is the probability this evidence alone is right (0..1); `detail` is a
    sentence for a person.
    """

    host: str
    activity: Activity
    kind: EvidenceKind
    strength: float
    detail: str
    first_seen: datetime
    last_seen: datetime
    peer: Endpoint | None = None
    protocol: str | None = None
    coin: str | None = None
    algorithm: str | None = None
    conn_id: int | None = None
    source: str | None = None
    # The flow record it came from and its bytes (both directions, IP layer); for a
    # dissected session, the bytes of the whole connection.
    flow_id: int | None = None
    bytes: int = 0


@dataclass(frozen=True)
class Shares:
    submitted: int
    accepted: int
    rejected: int

    def __add__(self, other: Shares) -> Shares:
        return Shares(
            self.submitted + other.submitted, self.accepted + other.accepted, self.rejected + other.rejected
        )


@dataclass(frozen=True)
class Hashrate:
    """A hashrate in `unit` with its 95% interval, the method that produced it, and the
    accepted shares and seconds it rests on."""

    value: float
    low: float
    high: float
    unit: str
    method: str
    shares: int = 0
    window_s: float = 0.0


@dataclass(frozen=True)
class Bounds:
    """A quantity as low / best / high (power in W, energy in kWh/day, CO2 in kg/day)."""

    low: float
    best: float
    high: float

    def __add__(self, other: Bounds) -> Bounds:
        return Bounds(self.low + other.low, self.best + other.best, self.high + other.high)


Power = Bounds


@dataclass(frozen=True)
class Finding:
    """Everything minewatch believes about one host and activity in the analysed window."""

    host: str
    activity: Activity
    confidence: float
    first_seen: datetime
    last_seen: datetime
    evidence: tuple[Evidence, ...]
    protocol: str | None = None
    coin: str | None = None
    algorithm: str | None = None
    pools: tuple[Endpoint, ...] = ()
    logins: tuple[str, ...] = ()
    agent: str | None = None
    shares: Shares | None = None
    difficulty: float | None = None
    difficulty_timeline: tuple[tuple[datetime, float], ...] = ()
    reported_hashrate_hs: float | None = None
    hashrate: Hashrate | None = None
    power_w: Bounds | None = None
    energy_kwh_day: float | None = None
    energy_kwh_day_bounds: Bounds | None = None
    co2_kg_day: Bounds | None = None
    coin_basis: str | None = None
    hardware: str | None = None
    # Why a figure is missing or how far to trust it, in sentences for a person.
    estimate_notes: tuple[str, ...] = ()
    bytes_total: int = 0
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputReport:
    """What happened to one input: how much was read, and the problem if any."""

    source: str
    packets: int = 0
    bytes: int = 0
    flows: int = 0
    error: str | None = None
    warning: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class ScanResult:
    """The result document: findings plus what was read. Every renderer draws from it."""

    findings: tuple[Finding, ...]
    inputs: tuple[InputReport, ...] = ()
    version: int = RESULT_VERSION
    generated: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def failed_inputs(self) -> tuple[InputReport, ...]:
        return tuple(i for i in self.inputs if i.error is not None)
