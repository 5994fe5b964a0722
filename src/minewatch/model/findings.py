"""Evidence, findings and the result document (the JSON contract of DESIGN.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from minewatch.model.attribution import Attribution

__all__ = [
    "Activity",
    "combined_confidence",
    "union_pools",
    "Endpoint",
    "Evidence",
    "EvidenceKind",
    "Finding",
    "Hashrate",
    "InputReport",
    "Bounds",
    "Exposure",
    "FINDING_VERSION",
    "Power",
    "ScanResult",
    "Shares",
    "RESULT_VERSION",
]

RESULT_VERSION = 2
# The version of one finding's JSON (`"version"` in each line). 1: no version field, no
# exposures, windows or evidence times; 2: the typed document of issue 14.
FINDING_VERSION = 2


class Activity(StrEnum):
    MINING = "mining"
    POOL_SERVER = "pool-server"
    EXCHANGE = "exchange"
    WEB_MINER = "web-miner"
    CRYPTO_NODE = "crypto-node"


class EvidenceKind(StrEnum):
    """Where a reason to believe came from, strongest first."""

    DISSECTOR = "dissector"
    # A server that answered minewatch's own stratum greeting (minewatch probe, --confirm).
    PROBE = "probe"
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
    # The connection it came from, an id local to one run (not part of the value).
    conn_id: int | None = field(default=None, compare=False)
    source: str | None = None
    # The flow record it came from (also local to one run) and its bytes (both
    # directions, IP layer); for a dissected session, the bytes of the whole connection.
    flow_id: int | None = field(default=None, compare=False)
    bytes: int = 0
    # How many records (or, in a host episode, windows) gave this same reason.
    count: int = 1


MAX_CONFIDENCE = 0.995


def union_pools(endpoints: Iterable[Endpoint]) -> tuple[Endpoint, ...]:
    """The servers that carried an activity, each once. The same endpoint may be known with
    and without a name: the named one is kept. A pool known only from a DNS lookup (port
    0) is kept by its name, unless a connection to it names it already."""
    peers = sorted(set(endpoints), key=lambda p: (p.ip, p.port, p.name or ""))
    named: dict[tuple[str, int], Endpoint] = {}
    for p in peers:
        if p.port and (p.name or (p.ip, p.port) not in named):
            named[(p.ip, p.port)] = p
    pools = list(named.values())
    reached = {p.name for p in pools}
    for p in peers:
        if not p.port and p.name and p.name not in reached:
            pools.append(p)
            reached.add(p.name)
    return tuple(pools)


def combined_confidence(evidence: Iterable[Evidence]) -> float:
    """The strongest evidence of each kind taken as independent reasons (noisy-OR): many
    flows to the same pool are one reason, not fifty."""
    best: dict[str, float] = {}
    for ev in evidence:
        best[ev.kind] = max(best.get(ev.kind, 0.0), ev.strength)
    miss = 1.0
    for s in best.values():
        miss *= 1.0 - s
    return round(min(MAX_CONFIDENCE, 1.0 - miss), 3)


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
class Exposure:
    """One connection's share exposure, from which hashrates are estimated
    (estimate/hashrate.py): `accepted` shares over `exposure` = sum of seconds / hashes
    per share over its difficulty periods, between `start` and `end`. A finding keeps
    these so that a host's windows merge into the estimate of the whole session."""

    start: datetime
    end: datetime
    accepted: int
    exposure: float


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
    exposures: tuple[Exposure, ...] = ()
    # How many windows' findings this one merges (1 for a single scan or window).
    windows: int = 1
    attribution: Attribution | None = None

    @property
    def decided_by(self) -> Evidence | None:
        """The evidence that decided: the strongest (the first kind named on ties, in the
        order of EvidenceKind, strongest kind first)."""
        order = {k.value: i for i, k in enumerate(EvidenceKind)}
        return min(self.evidence, key=lambda e: (-e.strength, order.get(e.kind, 99)), default=None)

    def to_json(self) -> dict[str, Any]:
        """The JSON contract object (DESIGN.md), versioned; `from_json` reads it back."""
        from minewatch.model.document import finding_to_json

        return finding_to_json(self)

    @classmethod
    def from_json(cls, data: object, where: str = "finding") -> Finding:
        """A finding from its JSON contract object (any version); raises
        `FindingFormatError` naming the field that is wrong, under `where`."""
        from minewatch.model.document import finding_from_json

        return finding_from_json(data, where)


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
