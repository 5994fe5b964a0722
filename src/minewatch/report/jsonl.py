"""The JSON renderings of a scan: the result document and the summary; a finding's own JSON
is `Finding.to_json` (model/document.py)."""

from __future__ import annotations

from typing import Any

from minewatch.model.document import (
    attribution_to_json,
    bounds_to_json,
    finding_to_json,
    rfc3339,
)
from minewatch.model.findings import InputReport, ScanResult
from minewatch.report.figures import Figures

__all__ = [
    "attribution_to_json",
    "finding_to_json",
    "input_to_json",
    "result_to_json",
    "rfc3339",
    "summary_to_json",
]


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


def summary_to_json(s: Figures) -> dict[str, Any]:
    """The figures of a scan (`scan --summary --json`), in the shape it has always had."""
    return {
        "mining_hosts": s.mining_hosts,
        "first_seen": s.since or s.first_seen,
        "last_seen": s.until or s.last_seen,
        "mining_bytes": s.mining_bytes,
        "mining_mbit_s": s.mbit_s_period,
        "mining_mbit_s_while_mining": s.mbit_s,
        "hashrate_by_algorithm": [
            {
                "algorithm": a.algorithm,
                "hosts": a.hosts,
                "hosts_measured": a.hosts_measured,
                "hashrate": None
                if a.hashrate is None
                else {"value": a.hashrate, "low": a.low, "high": a.high, "unit": a.unit, "method": a.method},
            }
            for a in s.algorithms
        ],
        "power_w": bounds_to_json(s.power_w),
        "energy_kwh_day": bounds_to_json(s.energy_kwh_day),
        "co2_kg_day": bounds_to_json(s.co2_kg_day),
        "hosts_without_estimate": s.hosts_without_estimate,
        "notes": list(s.notes),
    }
