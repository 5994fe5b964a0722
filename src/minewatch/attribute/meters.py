"""The meter registry: which site, organisation, declared business, place and address
space each meter belongs to, and how large its connection is."""

from __future__ import annotations

import csv
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytricia

from minewatch.errors import RegistryError

__all__ = ["BUSINESS_TYPES", "MeterRegistry", "MeterSite", "RegistryError", "load_registry"]

# Declared business -> the standard load profile it should follow (BDEW, shipped by
# demandlib); None: a business that runs flat around the clock by nature.
BUSINESS_TYPES: dict[str, str | None] = {
    "household": "H25",
    "residential": "H25",
    "commercial": "G25",
    "office": "G25",
    "retail": "G25",
    "school": "G25",
    "workshop": "G25",
    "agriculture": "L25",
    "farm": "L25",
    "datacenter": None,
    "continuous": None,
}


@dataclass(frozen=True)
class MeterSite:
    meter_id: str
    site: str
    organisation: str
    business_type: str
    region: tuple[str, ...]
    region_code: str | None
    networks: tuple[str, ...]
    capacity_kw: float | None

    @property
    def profile(self) -> str | None:
        return BUSINESS_TYPES.get(self.business_type)


class MeterRegistry:
    def __init__(self, sites: list[MeterSite]) -> None:
        self.sites = {s.meter_id: s for s in sites}
        self._v4, self._v6 = pytricia.PyTricia(32), pytricia.PyTricia(128)
        for s in sites:
            for net in s.networks:
                tree = self._v6 if ":" in net else self._v4
                tree[net] = s.meter_id

    def site_for_ip(self, ip: str) -> MeterSite | None:
        tree = self._v6 if ":" in ip else self._v4
        try:
            meter = tree.get(ip)
        except (ValueError, KeyError):
            return None
        return self.sites.get(meter) if meter else None

    def capacities(self) -> dict[str, float]:
        return {m: s.capacity_kw for m, s in self.sites.items() if s.capacity_kw}


def load_registry(path: Path) -> MeterRegistry:
    """CSV: meter_id, site, organisation, business_type, region (province/city/county),
    region_code, networks (CIDRs separated by spaces), capacity_kw."""
    try:
        with path.open(encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise RegistryError(str(path), (e.strerror or str(e)).lower()) from e
    sites = []
    for number, row in enumerate(rows, start=2):
        where = f"{path}, row {number}"
        meter = (row.get("meter_id") or "").strip()
        if not meter:
            raise RegistryError(where, "no meter_id")
        business = (row.get("business_type") or "").strip().lower()
        if business not in BUSINESS_TYPES:
            raise RegistryError(
                where, f"business_type {business!r}: expected one of {', '.join(BUSINESS_TYPES)}"
            )
        networks = tuple((row.get("networks") or "").split())
        for net in networks:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise RegistryError(where, f"{net!r} is not a network (CIDR)") from None
        capacity = (row.get("capacity_kw") or "").strip()
        try:
            capacity_kw = float(capacity) if capacity else None
        except ValueError:
            raise RegistryError(where, f"capacity_kw {capacity!r} is not a number") from None
        if capacity_kw is not None and not 0 < capacity_kw < 1e6:
            raise RegistryError(where, f"capacity_kw {capacity_kw:g} is not a meter's size")
        region = tuple(p for p in (row.get("region") or "").split("/") if p)
        sites.append(
            MeterSite(
                meter_id=meter,
                site=(row.get("site") or meter).strip(),
                organisation=(row.get("organisation") or "").strip(),
                business_type=business,
                region=region,
                region_code=(row.get("region_code") or "").strip() or None,
                networks=networks,
                capacity_kw=capacity_kw,
            )
        )
    return MeterRegistry(sites)
