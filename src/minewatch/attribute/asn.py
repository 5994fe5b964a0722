"""Where the inventory is silent: who holds an address by the databases a user supplies.

- an ASN database in MaxMind's format (GeoLite2-ASN .mmdb): AS number and organisation;
- iptoasn's TSV (range_start, range_end, AS number, country, AS description);
- RIR delegated-extended statistics (registry|cc|type|start|value|date|status|opaque-id):
  only the registry, the country and the holder's opaque id.

Each answer says which source decided. The sector comes from a table of known ASNs
(data/asn_sectors.csv), else from the organisation's name.
"""

from __future__ import annotations

import bisect
import gzip
import ipaddress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Protocol

import maxminddb

from minewatch.attribute.inventory import InventoryError, decided
from minewatch.attribute.region import RegionGuess, from_name
from minewatch.attribute.sector import SectorGuess, classify
from minewatch.datafiles import table_rows
from minewatch.model.attribution import Attribution, Sector

__all__ = ["AsnSource", "IpToAsn", "MmdbAsn", "RirDelegated", "open_source"]


@dataclass(frozen=True)
class _Holder:
    asn: int | None
    organisation: str | None
    country: str | None
    prefix: str | None


class AsnSource(Protocol):
    name: str

    def holder(self, ip: str) -> _Holder | None: ...


@cache
def _known_asns() -> dict[int, tuple[Sector, float, str]]:
    rows = table_rows("minewatch.attribute", "asn_sectors.csv")
    return {int(r["asn"]): (Sector(r["sector"]), float(r["confidence"]), r["name"]) for r in rows}


def attribution(source: str, h: _Holder) -> Attribution:
    """An attribution from a holder record: sector by known ASN, else by name."""
    known = _known_asns().get(h.asn) if h.asn is not None else None
    if known is not None:
        sector = SectorGuess(known[0], known[1], f"AS{h.asn} is {known[2]}")
    else:
        sector = classify(h.organisation)
    place = from_name(h.organisation)
    if place is None and h.country:
        place = RegionGuess((h.country,), None, f"{source} country")
    organisation = f"AS{h.asn} {h.organisation or ''}".strip() if h.asn is not None else h.organisation
    return decided(source, organisation, h.organisation, sector, place, h.prefix)


class MmdbAsn:
    name = "asn-mmdb"

    def __init__(self, path: Path) -> None:
        try:
            self.reader = maxminddb.open_database(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as e:
            raise InventoryError(str(path), f"not a MaxMind database: {e}") from e

    def holder(self, ip: str) -> _Holder | None:
        try:
            record, length = self.reader.get_with_prefix_len(ip)
        except ValueError:
            return None
        if not isinstance(record, dict) or "autonomous_system_number" not in record:
            return None
        net = ipaddress.ip_network(f"{ip}/{length}", strict=False)
        org = record.get("autonomous_system_organization")
        asn = record["autonomous_system_number"]
        return _Holder(int(asn) if isinstance(asn, int) else None, str(org) if org else None, None, str(net))


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


class _Ranges:
    """Sorted, non-overlapping integer ranges per IP version, searched by bisection."""

    def __init__(self) -> None:
        self.starts: dict[int, list[int]] = {4: [], 6: []}
        self.rows: dict[int, list[tuple[int, int, _Holder]]] = {4: [], 6: []}

    def add(self, version: int, first: int, last: int, holder: _Holder) -> None:
        self.rows[version].append((first, last, holder))

    def freeze(self) -> None:
        for v in (4, 6):
            self.rows[v].sort(key=lambda r: r[0])
            self.starts[v] = [r[0] for r in self.rows[v]]

    def find(self, ip: str) -> _Holder | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        v, n = addr.version, int(addr)
        i = bisect.bisect_right(self.starts[v], n) - 1
        if i < 0:
            return None
        _, last, holder = self.rows[v][i]
        return holder if n <= last else None


class IpToAsn:
    name = "iptoasn"

    def __init__(self, path: Path) -> None:
        self.ranges = _Ranges()
        with _open_text(path) as f:
            for number, line in enumerate(f, start=1):
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 5:
                    raise InventoryError(f"{path}, line {number}", "expected 5 tab-separated fields")
                try:
                    first, last = ipaddress.ip_address(parts[0]), ipaddress.ip_address(parts[1])
                    asn = int(parts[2])
                except ValueError as e:
                    raise InventoryError(f"{path}, line {number}", str(e)) from e
                if asn == 0:  # iptoasn's "not routed"
                    continue
                net = f"{first}-{last}"
                holder = _Holder(asn, parts[4] or None, parts[3] if parts[3] != "None" else None, net)
                self.ranges.add(first.version, int(first), int(last), holder)
        self.ranges.freeze()

    def holder(self, ip: str) -> _Holder | None:
        return self.ranges.find(ip)


class RirDelegated:
    name = "rir-delegated"

    def __init__(self, path: Path) -> None:
        self.ranges = _Ranges()
        with _open_text(path) as f:
            for number, line in enumerate(f, start=1):
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.strip().split("|")
                if len(parts) < 7 or parts[2] not in ("ipv4", "ipv6") or parts[3] == "*":
                    continue  # version and summary lines, ASN records
                try:
                    first = ipaddress.ip_address(parts[3])
                    value = int(parts[4])
                except ValueError as e:
                    raise InventoryError(f"{path}, line {number}", str(e)) from e
                size = value if parts[2] == "ipv4" else 1 << (128 - value)
                holder_id = parts[7] if len(parts) > 7 and parts[7] else None
                org = f"{parts[0].upper()} holder {holder_id}" if holder_id else None
                net = f"{first}+{value}" if parts[2] == "ipv4" else f"{first}/{value}"
                holder = _Holder(None, org, parts[1] or None, net)
                self.ranges.add(first.version, int(first), int(first) + size - 1, holder)
        self.ranges.freeze()

    def holder(self, ip: str) -> _Holder | None:
        return self.ranges.find(ip)


def open_source(path: Path) -> AsnSource:
    """The right reader for a fallback file, from its contents."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as e:
        raise InventoryError(str(path), (e.strerror or str(e)).lower()) from e
    if path.suffix == ".mmdb":
        return MmdbAsn(path)
    if head[:2] == b"\x1f\x8b":  # gzip: look inside
        with gzip.open(path) as inner:
            head = inner.read(4096)
    text = head.decode("utf-8", "replace")
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    if first.count("|") >= 5:
        return RirDelegated(path)
    if first.count("\t") >= 4:
        return IpToAsn(path)
    raise InventoryError(str(path), "not an ASN database (.mmdb), iptoasn TSV or RIR delegated file")
