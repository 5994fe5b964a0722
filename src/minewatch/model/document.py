"""Findings to and from the JSON contract of DESIGN.md (one object per finding).

Writing is exact: `finding_from_json(finding_to_json(f)) == f` for every finding the
product makes, so a stored or pushed finding is the same typed value again. Reading
accepts version 1 lines (before the exposures, windows and evidence times of version 2)
and names the field when a value is of the wrong kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from minewatch.errors import FindingFormatError
from minewatch.model.attribution import Attribution, Sector
from minewatch.model.findings import (
    FINDING_VERSION,
    Activity,
    Bounds,
    Endpoint,
    Evidence,
    EvidenceKind,
    Exposure,
    Finding,
    Hashrate,
    Shares,
)

__all__ = [
    "attribution_from_json",
    "bounds_to_json",
    "hashrate_to_json",
    "attribution_to_json",
    "finding_from_json",
    "finding_to_json",
    "parse_time",
    "rfc3339",
]

T = TypeVar("T")


def rfc3339(t: datetime) -> str:
    """RFC 3339 in UTC with a Z, to the microsecond when there is one."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An RFC 3339 time as an aware UTC datetime (a time without zone is read as UTC)."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def bounds_to_json(b: Bounds | None) -> dict[str, float] | None:
    return None if b is None else {"low": b.low, "best": b.best, "high": b.high}


def hashrate_to_json(h: Hashrate | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {
        "value": h.value,
        "low": h.low,
        "high": h.high,
        "unit": h.unit,
        "method": h.method,
        "shares": h.shares,
        "window_s": h.window_s,
    }


def _evidence(e: Evidence) -> dict[str, Any]:
    return {
        "kind": e.kind.value,
        "detail": e.detail,
        "strength": e.strength,
        "first_seen": rfc3339(e.first_seen),
        "last_seen": rfc3339(e.last_seen),
        "peer": None if e.peer is None else e.peer.to_json(),
        "protocol": e.protocol,
        "coin": e.coin,
        "algorithm": e.algorithm,
        "source": e.source,
        "bytes": e.bytes,
        "count": e.count,
    }


def attribution_to_json(a: Attribution | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "source": a.source,
        "organisation": a.organisation,
        "sector": a.sector.value,
        "sector_confidence": a.sector_confidence,
        "sector_basis": a.sector_basis,
        "region": list(a.region),
        "region_code": a.region_code,
        "region_basis": a.region_basis,
        "contact": a.contact,
        "prefix": a.prefix,
        "likely_compromised": a.likely_compromised,
        "compromise_reason": a.compromise_reason,
    }


def finding_to_json(f: Finding) -> dict[str, Any]:
    """The JSON contract object of one finding (`attribution` null until one is known)."""
    return {
        "version": FINDING_VERSION,
        "host": f.host,
        "activity": f.activity.value,
        "protocol": f.protocol,
        "coin": f.coin,
        "algorithm": f.algorithm,
        "pools": [p.to_json() for p in f.pools],
        "first_seen": rfc3339(f.first_seen),
        "last_seen": rfc3339(f.last_seen),
        "shares": None
        if f.shares is None
        else {"submitted": f.shares.submitted, "accepted": f.shares.accepted, "rejected": f.shares.rejected},
        "difficulty": f.difficulty,
        "difficulty_timeline": [{"ts": rfc3339(t), "value": d} for t, d in f.difficulty_timeline],
        "hashrate": hashrate_to_json(f.hashrate),
        "exposures": [
            {"start": rfc3339(x.start), "end": rfc3339(x.end), "accepted": x.accepted, "exposure": x.exposure}
            for x in f.exposures
        ],
        "reported_hashrate_hs": f.reported_hashrate_hs,
        "power_w": bounds_to_json(f.power_w),
        "energy_kwh_day": f.energy_kwh_day,
        "energy_kwh_day_bounds": bounds_to_json(f.energy_kwh_day_bounds),
        "co2_kg_day": bounds_to_json(f.co2_kg_day),
        "coin_basis": f.coin_basis,
        "hardware": f.hardware,
        "estimate_notes": list(f.estimate_notes),
        "confidence": f.confidence,
        # Derived from `evidence` (never read back): which reason decided, and its strength.
        "decided_by": None
        if f.decided_by is None
        else {"kind": f.decided_by.kind.value, "strength": f.decided_by.strength},
        "logins": list(f.logins),
        "agent": f.agent,
        "evidence": [_evidence(e) for e in f.evidence],
        "sources": list(f.sources),
        "bytes": f.bytes_total,
        "windows": f.windows,
        "attribution": attribution_to_json(f.attribution),
    }


class _Reader:
    """Typed access to one JSON object, naming `where.field` in every error."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise FindingFormatError(where, f"expected an object, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.where = where

    def _fail(self, key: str, expected: str) -> FindingFormatError:
        value = repr(self.data.get(key))[:60]
        return FindingFormatError(f"{self.where}.{key}", f"expected {expected}, got {value}")

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise self._fail(key, "text")
        return value

    def opt_text(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.text(key)

    def whole(self, key: str, default: int | None = None) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "a whole number")
        return value

    def number(self, key: str) -> float:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self._fail(key, "a finite number")
        return float(value) if isinstance(value, int) else value

    def opt_number(self, key: str) -> float | None:
        return None if self.data.get(key) is None else self.number(key)

    def when(self, key: str) -> datetime:
        try:
            return parse_time(self.text(key))
        except (ValueError, OverflowError) as err:
            raise self._fail(key, "an RFC 3339 time") from err

    def opt_bool(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, bool):
            raise self._fail(key, "true, false or null")
        return value

    def items(self, key: str, read: Callable[[_Reader], T]) -> tuple[T, ...]:
        value = self.data.get(key) or []
        if not isinstance(value, list):
            raise self._fail(key, "a list")
        return tuple(read(_Reader(v, f"{self.where}.{key}[{i}]")) for i, v in enumerate(value))

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of text")
        return tuple(value)

    def opt(self, key: str, read: Callable[[_Reader], T]) -> T | None:
        value = self.data.get(key)
        return None if value is None else read(_Reader(value, f"{self.where}.{key}"))

    def enum(self, key: str, kind: type[Any]) -> Any:
        try:
            return kind(self.text(key))
        except ValueError as err:
            raise self._fail(key, "one of " + ", ".join(m.value for m in kind)) from err


def _endpoint(r: _Reader) -> Endpoint:
    return Endpoint(r.text("ip"), r.whole("port"), r.opt_text("name"))


def _bounds_from(r: _Reader) -> Bounds:
    return Bounds(r.number("low"), r.number("best"), r.number("high"))


def _hashrate_from(r: _Reader) -> Hashrate:
    return Hashrate(
        r.number("value"),
        r.number("low"),
        r.number("high"),
        r.text("unit"),
        r.text("method"),
        r.whole("shares", 0),
        r.number("window_s") if r.data.get("window_s") is not None else 0.0,
    )


def _shares_from(r: _Reader) -> Shares:
    return Shares(r.whole("submitted"), r.whole("accepted"), r.whole("rejected"))


def _exposure_from(r: _Reader) -> Exposure:
    return Exposure(r.when("start"), r.when("end"), r.whole("accepted"), r.number("exposure"))


def _timeline_from(r: _Reader) -> tuple[datetime, float]:
    return r.when("ts"), r.number("value")


def attribution_from_json(data: object, where: str = "attribution") -> Attribution:
    r = _Reader(data, where)
    return Attribution(
        # A sensor that pushes an owner it knows may not say where it learnt it.
        source=r.opt_text("source") or "sensor",
        organisation=r.opt_text("organisation"),
        sector=r.enum("sector", Sector) if r.data.get("sector") is not None else Sector.UNKNOWN,
        sector_confidence=r.opt_number("sector_confidence") or 0.0,
        sector_basis=r.opt_text("sector_basis") or "",
        region=r.texts("region"),
        region_code=r.opt_text("region_code"),
        region_basis=r.opt_text("region_basis") or "",
        contact=r.opt_text("contact"),
        prefix=r.opt_text("prefix"),
        likely_compromised=r.opt_bool("likely_compromised"),
        compromise_reason=r.opt_text("compromise_reason") or "",
    )


def _evidence_reader(
    host: str, activity: Activity, first: datetime, last: datetime
) -> Callable[[_Reader], Evidence]:
    # Version 1 wrote kind, detail and strength only: the rest comes from the finding.
    def read(r: _Reader) -> Evidence:
        return Evidence(
            host=host,
            activity=activity,
            kind=r.enum("kind", EvidenceKind),
            strength=r.number("strength"),
            detail=r.text("detail"),
            first_seen=r.when("first_seen") if r.data.get("first_seen") is not None else first,
            last_seen=r.when("last_seen") if r.data.get("last_seen") is not None else last,
            peer=r.opt("peer", _endpoint),
            protocol=r.opt_text("protocol"),
            coin=r.opt_text("coin"),
            algorithm=r.opt_text("algorithm"),
            source=r.opt_text("source"),
            bytes=r.whole("bytes", 0),
            count=r.whole("count", 1),
        )

    return read


def finding_from_json(data: object, where: str = "finding") -> Finding:
    """The typed finding of a JSON contract object; `FindingFormatError` names the field."""
    r = _Reader(data, where)
    version = r.whole("version", 1)
    if version > FINDING_VERSION:
        raise FindingFormatError(f"{where}.version", f"version {version} is newer than this minewatch reads")
    host, activity = r.text("host"), r.enum("activity", Activity)
    first, last = r.when("first_seen"), r.when("last_seen")
    return Finding(
        host=host,
        activity=activity,
        confidence=r.number("confidence"),
        first_seen=first,
        last_seen=last,
        evidence=r.items("evidence", _evidence_reader(host, activity, first, last)),
        protocol=r.opt_text("protocol"),
        coin=r.opt_text("coin"),
        algorithm=r.opt_text("algorithm"),
        pools=r.items("pools", _endpoint),
        logins=r.texts("logins"),
        agent=r.opt_text("agent"),
        shares=r.opt("shares", _shares_from),
        difficulty=r.opt_number("difficulty"),
        difficulty_timeline=r.items("difficulty_timeline", _timeline_from),
        reported_hashrate_hs=r.opt_number("reported_hashrate_hs"),
        hashrate=r.opt("hashrate", _hashrate_from),
        power_w=r.opt("power_w", _bounds_from),
        energy_kwh_day=r.opt_number("energy_kwh_day"),
        energy_kwh_day_bounds=r.opt("energy_kwh_day_bounds", _bounds_from),
        co2_kg_day=r.opt("co2_kg_day", _bounds_from),
        coin_basis=r.opt_text("coin_basis"),
        hardware=r.opt_text("hardware"),
        estimate_notes=r.texts("estimate_notes"),
        bytes_total=r.whole("bytes", 0),
        sources=r.texts("sources"),
        exposures=r.items("exposures", _exposure_from),
        windows=r.whole("windows", 1),
        attribution=None
        if r.data.get("attribution") is None
        else attribution_from_json(r.data["attribution"], f"{where}.attribution"),
    )
