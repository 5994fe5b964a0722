"""The bulletin's hosts as CSV rows: one per mining finding, with its owner."""

from __future__ import annotations

import csv
from typing import Any, TextIO

from minewatch.report.bulletin import bulletin_findings

__all__ = ["FIELDS", "write_csv"]

FIELDS = (
    "host",
    "first_seen",
    "last_seen",
    "coin",
    "algorithm",
    "pools",
    "confidence",
    "organisation",
    "sector",
    "region",
    "region_code",
    "likely_compromised",
    "attribution_source",
)


def write_csv(findings: list[dict[str, Any]], region: str | None, out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for r in bulletin_findings(findings, region):
        a = r.get("attribution") or {}
        pools = " ".join(f"{p['ip']}:{p['port']}" for p in r.get("pools") or [])
        writer.writerow(
            [
                r["host"],
                r["first_seen"],
                r["last_seen"],
                r.get("coin"),
                r.get("algorithm"),
                pools,
                r["confidence"],
                a.get("organisation"),
                a.get("sector"),
                "/".join(a.get("region") or []),
                a.get("region_code"),
                a.get("likely_compromised"),
                a.get("source"),
            ]
        )
