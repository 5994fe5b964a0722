"""The address-space inventory: which organisation holds which block, its sector, its
place and whom to contact; longest-prefix match over IPv4 and IPv6 (pytricia).

An inventory file is CSV or Parquet with a `cidr` column, or `start` and `end` addresses
of a range, and any of `organisation`, `domain`, `sector`, `region` (province / city /
county, separated by '/'), `region_code` (the administrative division code), `contact`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytricia

from minewatch.attribute.region import RegionGuess, from_name, learn
from minewatch.attribute.sector import SectorGuess, classify
from minewatch.errors import InventoryError
from minewatch.model.attribution import INSTITUTIONS, Attribution, Sector

__all__ = ["INVENTORY_SCHEMA", "Block", "Inventory", "InventoryError", "compromise", "decided"]

INVENTORY_SCHEMA = pa.schema(
    [
        pa.field("cidr", pa.string(), nullable=False),
        pa.field("organisation", pa.string()),
        pa.field("domain", pa.string()),
        pa.field("sector", pa.string()),
        pa.field("region", pa.string()),
        pa.field("region_code", pa.string()),
        pa.field("contact", pa.string()),
    ]
)
_OPTIONAL = [f.name for f in INVENTORY_SCHEMA if f.name != "cidr"]


@dataclass(frozen=True)
class Block:
    cidr: str
    organisation: str | None
    domain: str | None
    sector: str | None
    region: str | None
    region_code: str | None
    contact: str | None


def _read(path: Path) -> pa.Table:
    try:
        if path.suffix.lower() == ".parquet":
            return pq.read_table(path)
        convert = pacsv.ConvertOptions(
            strings_can_be_null=True,
            column_types={c: pa.string() for c in ("cidr", "start", "end", *_OPTIONAL)},
        )
        return pacsv.read_csv(path, convert_options=convert)
    except (OSError, pa.ArrowInvalid) as e:
        raise InventoryError(str(path), str(e).splitlines()[0]) from e


def _cidrs(row: dict[str, str | None], where: str) -> Iterator[str]:
    cidr, start, end = row.get("cidr"), row.get("start"), row.get("end")
    try:
        if cidr:
            yield str(ipaddress.ip_network(cidr.strip(), strict=False))
        elif start and end:
            first, last = ipaddress.ip_address(start.strip()), ipaddress.ip_address(end.strip())
            if first.version != last.version or int(first) > int(last):
                raise ValueError(f"range {start} - {end} is not a range")
            yield from (str(n) for n in ipaddress.summarize_address_range(first, last))
        else:
            raise ValueError("neither a cidr nor a start and end address")
    except ValueError as e:
        raise InventoryError(where, str(e)) from e


def _sector(value: str | None, where: str) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return Sector(value.strip().lower()).value
    except ValueError:
        known = ", ".join(s.value for s in Sector)
        raise InventoryError(where, f"sector {value!r} is not one of {known}") from None


class Inventory:
    """Blocks by longest-prefix match; `attribute` says whose an address is."""

    def __init__(self, blocks: Iterable[Block] = ()) -> None:
        self.trie = pytricia.PyTricia(128)
        self._decided: dict[str, Attribution] = {}
        self.count = 0
        for b in blocks:
            self.trie[b.cidr] = b
            self.count += 1

    @classmethod
    def load(cls, path: Path) -> Inventory:
        """Read and check an inventory file; a bad row is an error naming it."""
        table = _read(path)
        names = set(table.column_names)
        if "cidr" not in names and not {"start", "end"} <= names:
            raise InventoryError(str(path), "needs a cidr column, or start and end columns")
        blocks = []
        for number, row in enumerate(table.to_pylist(), start=2):  # line 1 is the header
            where = f"{path}, row {number}"
            for cidr in _cidrs(row, where):
                blocks.append(
                    Block(
                        cidr,
                        row.get("organisation"),
                        row.get("domain"),
                        _sector(row.get("sector"), where),
                        row.get("region"),
                        row.get("region_code"),
                        row.get("contact"),
                    )
                )
        learn([b.organisation for b in blocks if not b.region])
        return cls(blocks)

    def save(self, path: Path) -> None:
        rows = [vars(self.trie[k]) for k in self.trie]
        pq.write_table(pa.Table.from_pylist(rows, schema=INVENTORY_SCHEMA), path)

    def block(self, ip: str) -> Block | None:
        try:
            found: Block | None = self.trie.get(ip)
        except (ValueError, KeyError):
            return None
        return found

    def attribute(self, ip: str) -> Attribution | None:
        """Whose `ip` is, by the inventory; None where it is silent."""
        b = self.block(ip)
        if b is None:
            return None
        # An attribution is the block's: decided once per block, shared by its addresses.
        decided = self._decided.get(b.cidr)
        if decided is None:
            decided = self._decided[b.cidr] = _decide(b)
        return decided


def _decide(b: Block) -> Attribution:
    given = "the inventory says so"
    sector = SectorGuess(Sector(b.sector), 1.0, given) if b.sector else classify(b.organisation, b.domain)
    region = tuple(p.strip() for p in (b.region or "").split("/") if p.strip())
    place = RegionGuess(region, b.region_code, given) if region else from_name(b.organisation)
    return decided("inventory", b.organisation, b.organisation, sector, place, b.cidr, b.contact)


def decided(
    source: str,
    organisation: str | None,
    owner: str | None,
    sector: SectorGuess,
    place: RegionGuess | None,
    prefix: str | None,
    contact: str | None = None,
) -> Attribution:
    """An attribution from what a source knows of a block: its sector and place (each
    with its basis), and the compromise decision that follows from the sector."""
    compromised, reason = compromise(sector.sector, owner)
    return Attribution(
        source=source,
        organisation=organisation,
        sector=sector.sector,
        sector_confidence=sector.confidence,
        sector_basis=sector.basis,
        region=place.path if place else (),
        region_code=place.code if place else None,
        region_basis=place.basis if place else "",
        contact=contact,
        prefix=prefix,
        likely_compromised=compromised,
        compromise_reason=reason,
    )


def compromise(sector: Sector, organisation: str | None) -> tuple[bool | None, str]:
    """Whether mining on a machine of this sector is likely an intruder's doing."""
    who = organisation or "the owner"
    article = "an" if sector.value[0] in "aeiou" else "a"
    if sector in INSTITUTIONS:
        return True, f"{article} {sector.value} machine ({who}) has no business mining: likely compromised"
    if sector in (Sector.RESIDENTIAL, Sector.DATACENTER):
        return False, f"{article} {sector.value} address ({who}): likely deliberate operation"
    return None, "sector unknown: cannot say"
