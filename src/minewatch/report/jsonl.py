"""The JSON contract of DESIGN.md: one object per finding, fields only grow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from minewatch.estimate.totals import Summary
from minewatch.model.attribution import Attribution
from minewatch.model.findings import Bounds, Finding, Hashrate, InputReport, ScanResult

__all__ = [
    "attribution_to_json",
    "finding_to_json",
    "input_to_json",
    "result_to_json",
    "rfc3339",
    "summary_to_json",
]


def rfc3339(t: datetime) -> str:
    """RFC 3339 in UTC with a Z, to the microsecond when there is one."""
    text = t.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def _bounds(b: Bounds | None) -> dict[str, float] | None:
    return None if b is None else {"low": b.low, "best": b.best, "high": b.high}


def _hashrate(h: Hashrate | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {
        "value": h.value,
        "low": h.low,
        "high": h.high,
        "unit": h.unit,
        "method": h.method,
        "shares": h.shares,
        "window_s": round(h.window_s, 3),
    }


def finding_to_json(f: Finding) -> dict[str, Any]:
    return {
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
        "hashrate": _hashrate(f.hashrate),
        "reported_hashrate_hs": f.reported_hashrate_hs,
        "power_w": _bounds(f.power_w),
        "energy_kwh_day": f.energy_kwh_day,
        "energy_kwh_day_bounds": _bounds(f.energy_kwh_day_bounds),
        "co2_kg_day": _bounds(f.co2_kg_day),
        "coin_basis": f.coin_basis,
        "hardware": f.hardware,
        "estimate_notes": list(f.estimate_notes),
        "confidence": f.confidence,
        "logins": list(f.logins),
        "agent": f.agent,
        "evidence": [{"kind": e.kind.value, "detail": e.detail, "strength": e.strength} for e in f.evidence],
        "sources": list(f.sources),
        "bytes": f.bytes_total,
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


def input_to_json(r: InputReport) -> dict[str, Any]:
    return {
        "source": r.source,
        "packets": r.packets,
        "bytes": r.bytes,
        "flows": r.flows,
        "error": r.error,
        "warning": r.warning,
    }


def result_to_json(result: ScanResult) -> dict[str, Any]:
    """The whole result document (the JSON twin of the table and the report)."""
    return {
        "version": result.version,
        "generated": rfc3339(result.generated),
        "findings": [finding_to_json(f) for f in result.findings],
        "inputs": [input_to_json(i) for i in result.inputs],
    }


def summary_to_json(s: Summary) -> dict[str, Any]:
    """The bulletin figures (`scan --summary --json`)."""
    return {
        "mining_hosts": s.mining_hosts,
        "first_seen": rfc3339(s.first_seen) if s.first_seen else None,
        "last_seen": rfc3339(s.last_seen) if s.last_seen else None,
        "mining_bytes": s.mining_bytes,
        "mining_mbit_s": s.mining_mbit_s,
        "hashrate_by_algorithm": [
            {
                "algorithm": a.algorithm,
                "hosts": a.hosts,
                "hosts_measured": a.hosts_measured,
                "hashrate": _hashrate(a.hashrate),
            }
            for a in s.algorithms
        ],
        "power_w": _bounds(s.power_w),
        "energy_kwh_day": _bounds(s.energy_kwh_day),
        "co2_kg_day": _bounds(s.co2_kg_day),
        "hosts_without_estimate": s.hosts_without_estimate,
        "notes": list(s.notes),
    }
