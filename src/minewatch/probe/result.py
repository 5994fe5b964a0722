"""The values a probe produces: where it went, how, what answered, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["Dialect", "Certificate", "ProbeResult", "Target", "Transport", "Verdict"]


class Transport(StrEnum):
    PLAIN = "plain"
    TLS_SNI = "tls-sni"
    TLS = "tls-no-sni"


class Dialect(StrEnum):
    """The mining greetings minewatch speaks (PROTOCOLS.md 1.1, 1.2, 1.4, 1.6)."""

    STRATUM_V1 = "stratum-v1"
    XMRIG = "xmrig"
    ETHEREUM_STRATUM = "ethereum-stratum"
    STRATUM_V2 = "stratum-v2"


class Verdict(StrEnum):
    POOL = "pool"
    NOT_POOL = "not-pool"
    NO_ANSWER = "no-answer"
    NOT_PROBED = "not-probed"
    ERROR = "error"


@dataclass(frozen=True)
class Target:
    """A server to probe: its address (never re-resolved), port, and the name to send as
    SNI when known."""

    ip: str
    port: int
    name: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return (self.ip, self.port, self.name or "")

    def __str__(self) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{host}:{self.port}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True)
class Certificate:
    """What a TLS server showed (not verified: pools use self-signed certificates)."""

    subject: str
    issuer: str
    self_signed: bool


@dataclass(frozen=True)
class ProbeResult:
    """One target's verdict. `measured` is when the probe ran (a cached result keeps it);
    `latency_s` is connect-to-answer time of the deciding attempt (None if none);
    `connections` how many connections the probe opened."""

    target: Target
    verdict: Verdict
    detail: str
    measured: datetime
    transport: Transport | None = None
    dialect: Dialect | None = None
    protocol: str | None = None
    latency_s: float | None = None
    certificate: Certificate | None = None
    connections: int = 0
    strength: float = 0.0
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        cert = self.certificate
        return {
            "ip": self.target.ip,
            "port": self.target.port,
            "name": self.target.name,
            "verdict": self.verdict.value,
            "detail": self.detail,
            "measured": self.measured.isoformat().replace("+00:00", "Z"),
            "transport": self.transport.value if self.transport else None,
            "dialect": self.dialect.value if self.dialect else None,
            "protocol": self.protocol,
            "latency_s": None if self.latency_s is None else round(self.latency_s, 4),
            "certificate": None
            if cert is None
            else {"subject": cert.subject, "issuer": cert.issuer, "self_signed": cert.self_signed},
            "connections": self.connections,
            "strength": self.strength,
            "cached": self.cached,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ProbeResult:
        """A result written by `to_json`; KeyError/ValueError/TypeError if it is not one."""
        cert = d.get("certificate")
        return cls(
            target=Target(str(d["ip"]), int(d["port"]), d.get("name")),
            verdict=Verdict(d["verdict"]),
            detail=str(d["detail"]),
            measured=datetime.fromisoformat(str(d["measured"]).replace("Z", "+00:00")),
            transport=Transport(d["transport"]) if d.get("transport") else None,
            dialect=Dialect(d["dialect"]) if d.get("dialect") else None,
            protocol=d.get("protocol"),
            latency_s=d.get("latency_s"),
            certificate=Certificate(cert["subject"], cert["issuer"], bool(cert["self_signed"]))
            if cert
            else None,
            connections=int(d.get("connections", 0)),
            strength=float(d.get("strength", 0.0)),
            cached=bool(d.get("cached", False)),
        )
