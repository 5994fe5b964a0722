"""Attribution from every source a store holds, in order: the inventory, then the ASN
database, iptoasn's table and RIR statistics the user supplied. The first that knows an
address decides, and says so (`Attribution.source`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from minewatch.attribute.asn import AsnSource, attribution, open_source
from minewatch.attribute.inventory import Inventory
from minewatch.model.attribution import Attribution

__all__ = ["Attributor", "add_source"]

INVENTORY_FILE = "inventory.parquet"
# Fallbacks are consulted in this order: an ASN database names the holder best.
_ORDER = {"asn-mmdb": 0, "iptoasn": 1, "rir-delegated": 2}


class Attributor:
    def __init__(self, inventory: Inventory | None, fallbacks: list[AsnSource]) -> None:
        self.inventory = inventory
        self.fallbacks = sorted(fallbacks, key=lambda s: _ORDER.get(s.name, 9))
        self._cache: dict[str, Attribution | None] = {}

    @classmethod
    def from_dir(cls, folder: Path) -> Attributor:
        inventory_file = folder / INVENTORY_FILE
        inventory = Inventory.load(inventory_file) if inventory_file.is_file() else None
        fallbacks = [open_source(p) for p in sorted(folder.glob("fallback-*"))] if folder.is_dir() else []
        return cls(inventory, fallbacks)

    def __bool__(self) -> bool:
        return self.inventory is not None or bool(self.fallbacks)

    def attribute(self, ip: str) -> Attribution | None:
        if ip in self._cache:
            return self._cache[ip]
        found = self.inventory.attribute(ip) if self.inventory is not None else None
        for source in self.fallbacks:
            if found is not None:
                break
            holder = source.holder(ip)
            if holder is not None:
                found = attribution(source.name, holder)
        self._cache[ip] = found
        return found


def add_source(path: Path, folder: Path) -> str:
    """Check a file and keep it in `folder`: an inventory (CSV/Parquet) replaces the
    store's; an ASN database, iptoasn table or RIR file is added as a fallback. Returns
    what it was taken for."""
    folder.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".csv", ".parquet"):
        inventory = Inventory.load(path)
        inventory.save(folder / INVENTORY_FILE)
        return f"inventory of {inventory.count} blocks"
    source = open_source(path)
    shutil.copyfile(path, folder / f"fallback-{source.name}-{path.name}")
    return f"fallback ({source.name})"
