"""The bulletin's hosts as CSV rows: one per mining episode (a host once), with its owner."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from minewatch.csvsafe import safe_writer
from minewatch.model.document import rfc3339
from minewatch.model.findings import Finding
from minewatch.report.figures import in_region

__all__ = ["FIELDS", "write_csv"]

FIELDS = (
    "host",
    "first_seen",
    "last_seen",
    "coin",
    "algorithm",
    "pools",
    "confidence",
    "bytes",
    "windows",
    "organisation",
    "sector",
    "region",
    "region_code",
    "likely_compromised",
    "attribution_source",
)


def write_csv(episodes: Iterable[Finding], region: str | None, out: TextIO) -> None:
    writer = safe_writer(out)
    writer.writerow(FIELDS)
    for f in sorted(in_region(episodes, region), key=lambda f: (f.first_seen, f.host)):
        a = f.attribution
        pools = " ".join(f"{p.ip}:{p.port}" for p in f.pools)
        row = [
            f.host,
            rfc3339(f.first_seen),
            rfc3339(f.last_seen),
            f.coin,
            f.algorithm,
            pools,
            f.confidence,
            f.bytes_total,
            f.windows,
            a.organisation if a else None,
            a.sector.value if a else None,
            "/".join(a.region) if a else None,
            a.region_code if a else None,
            a.likely_compromised if a else None,
            a.source if a else None,
        ]
        writer.writerow(row)
