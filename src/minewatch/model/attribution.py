"""Whose machine a host is: owner, sector, place, and whether its mining is likely the
work of an intruder rather than the owner."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["INSTITUTIONS", "Attribution", "Sector"]


class Sector(StrEnum):
    GOVERNMENT = "government"
    EDUCATION = "education"
    HEALTHCARE = "healthcare"
    ENTERPRISE = "enterprise"
    RESIDENTIAL = "residential"
    DATACENTER = "datacenter"
    UNKNOWN = "unknown"


# Institutions whose machines mine because someone broke in: the bulletin's "21%".
INSTITUTIONS = frozenset({Sector.GOVERNMENT, Sector.EDUCATION, Sector.HEALTHCARE, Sector.ENTERPRISE})


@dataclass(frozen=True)
class Attribution:
    """Whose block an address is in. `source` says what decided (the inventory, an ASN
    database, ...); `prefix` is the block that matched. `region` is the path province /
    city / county, as far as known, with its administrative division code.
    `likely_compromised` is None when the sector is unknown."""

    source: str
    organisation: str | None = None
    sector: Sector = Sector.UNKNOWN
    sector_confidence: float = 0.0
    sector_basis: str = ""
    region: tuple[str, ...] = ()
    region_code: str | None = None
    region_basis: str = ""
    contact: str | None = None
    prefix: str | None = None
    likely_compromised: bool | None = None
    compromise_reason: str = ""
