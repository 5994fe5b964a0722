"""The JSON contract of DESIGN.md: one object per finding, fields only grow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from minewatch.model.findings import Finding, InputReport, ScanResult

__all__ = ["finding_to_json", "input_to_json", "result_to_json", "rfc3339"]


def rfc3339(t: datetime) -> str:
    """RFC 3339 in UTC with a Z, to the microsecond when there is one."""
    text = t.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


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
        "hashrate": None
        if f.hashrate is None
        else {
            "value": f.hashrate.value,
            "low": f.hashrate.low,
            "high": f.hashrate.high,
            "unit": f.hashrate.unit,
            "method": f.hashrate.method,
        },
        "reported_hashrate_hs": f.reported_hashrate_hs,
        "power_w": None
        if f.power_w is None
        else {"low": f.power_w.low, "best": f.power_w.best, "high": f.power_w.high},
        "energy_kwh_day": f.energy_kwh_day,
        "confidence": f.confidence,
        "logins": list(f.logins),
        "agent": f.agent,
        "evidence": [{"kind": e.kind.value, "detail": e.detail, "strength": e.strength} for e in f.evidence],
        "sources": list(f.sources),
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
