"""Loading and matching indicators. Domains match by suffix (a pool's subdomains are the
pool); addresses match exactly or by CIDR."""

from __future__ import annotations

import csv
import ipaddress
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from minewatch.errors import IntelFileError
from minewatch.model.addresses import ipv4_numbers

__all__ = [
    "Category",
    "Indicator",
    "IndicatorSet",
    "intel_home",
    "load_bundled",
    "load_default",
    "parse_indicator_file",
]


class Category(StrEnum):
    POOL = "pool"
    WEB_MINER = "web-miner"
    EXCHANGE = "exchange"


@dataclass(frozen=True)
class Indicator:
    value: str
    kind: str  # "domain", "ip" or "cidr"
    category: Category
    coin: str | None
    source: str
    date: str


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$")
_ADBLOCK = re.compile(r"^\|\|([^\^/$]+)\^")


class IndicatorSet:
    """Indicators indexed for matching. Later additions override earlier ones."""

    def __init__(self, indicators: list[Indicator] | None = None) -> None:
        self._domains: dict[str, Indicator] = {}
        self._ips: dict[str, Indicator] = {}
        self._nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Indicator]] = []
        self._ip_array: pa.Array | None = None
        for ind in indicators or []:
            self.add(ind)

    def add(self, ind: Indicator) -> None:
        if ind.kind == "domain":
            self._domains[ind.value] = ind
        elif ind.kind == "ip":
            self._ips[ind.value] = ind
        else:
            self._nets.append((ipaddress.ip_network(ind.value, strict=False), ind))

    def extend(self, other: IndicatorSet) -> None:
        self._domains.update(other._domains)
        self._ips.update(other._ips)
        self._nets.extend(other._nets)

    def __iter__(self) -> Iterator[Indicator]:
        yield from self._domains.values()
        yield from self._ips.values()
        yield from (ind for _, ind in self._nets)

    def __len__(self) -> int:
        return len(self._domains) + len(self._ips) + len(self._nets)

    def match_domain(self, name: str | None) -> Indicator | None:
        """The indicator for `name` or its nearest listed parent domain."""
        if not name:
            return None
        labels = name.lower().rstrip(".").split(".")
        for i in range(len(labels) - 1):
            hit = self._domains.get(".".join(labels[i:]))
            if hit is not None:
                return hit
        return None

    def ip_candidates(self, ips: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Which of `ips` (text addresses) may match an address indicator, computed over
        the whole array at once: exact addresses by hash lookup, IPv4 networks by integer
        range. A true here is confirmed by `match_ip`; a false is final."""
        exact = self._exact_ips()
        mask = pc.fill_null(pc.is_in(ips, value_set=exact), False)
        if not self._nets:
            return mask
        v4 = [(int(n.network_address), int(n.broadcast_address)) for n, _ in self._nets if n.version == 4]
        if v4:
            # Text that is not an IPv4 address is null here and stays False.
            numbers = ipv4_numbers(ips)
            value = np.asarray(pc.fill_null(numbers, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
            lows, highs = _merged(v4)
            at = np.searchsorted(lows, value, side="right") - 1
            inside = (at >= 0) & (value <= highs[np.maximum(at, 0)])
            mask = pc.or_(mask, pc.and_(pc.is_valid(numbers), pa.array(inside)))
        if any(n.version == 6 for n, _ in self._nets):
            mask = pc.or_(mask, pc.fill_null(pc.match_substring(ips, ":"), False))
        return mask

    def _exact_ips(self) -> pa.Array:
        if self._ip_array is None or len(self._ip_array) != len(self._ips):
            self._ip_array = pa.array(list(self._ips), pa.string())
        return self._ip_array

    def match_ip(self, ip: str | None) -> Indicator | None:
        if not ip:
            return None
        hit = self._ips.get(ip)
        if hit is not None or not self._nets:
            return hit
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        return next((ind for net, ind in self._nets if addr in net), None)


def _merged(ranges: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Integer ranges merged where they overlap, as sorted (lows, highs)."""
    lows: list[int] = []
    highs: list[int] = []
    for lo, hi in sorted(ranges):
        if highs and lo <= highs[-1] + 1:
            highs[-1] = max(highs[-1], hi)
        else:
            lows.append(lo)
            highs.append(hi)
    return np.array(lows, dtype=np.int64), np.array(highs, dtype=np.int64)


def intel_home() -> Path:
    """Where `intel update` keeps downloaded lists ($MINEWATCH_HOME or ~/.local/share/minewatch)."""
    base = os.environ.get("MINEWATCH_HOME")
    return Path(base) if base else Path.home() / ".local" / "share" / "minewatch"


def _classify(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
        return "ip"
    except ValueError:
        pass
    if "/" in value:
        try:
            ipaddress.ip_network(value, strict=False)
            return "cidr"
        except ValueError:
            return None
    return "domain" if _DOMAIN.match(value) else None


def _value_from_line(line: str) -> str | None:
    """The indicator in one line of a plain list, a hosts file or an Adblock Plus list."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith(("!", "[")):
        return None
    m = _ADBLOCK.match(line)
    if m:
        return m.group(1).lower()
    parts = line.split()
    if len(parts) >= 2 and parts[0] in ("0.0.0.0", "127.0.0.1", "::", "::1"):
        return parts[1].lower()
    return parts[0].lower() if len(parts) == 1 else None


def parse_indicator_file(
    path: Path, category: Category = Category.POOL, source: str | None = None
) -> IndicatorSet:
    """Read an indicator list: minewatch CSV (with a header), a plain list of domains or
    addresses, a hosts file, or an Adblock Plus list. Raises IntelFileError naming the
    first bad line when a line is neither."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise IntelFileError(str(path), e.strerror or str(e)) from e
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if lines and lines[0].replace(" ", "").startswith("indicator,kind,category"):
        return _parse_csv(path, text)
    today = date.today().isoformat()
    found = IndicatorSet()
    bad: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = _value_from_line(line)
        if value is None:
            if line.strip() and not line.lstrip().startswith(("#", "!", "[")) and "localhost" not in line:
                bad.append(number)
            continue
        kind = _classify(value)
        if kind is None:
            bad.append(number)
            continue
        found.add(Indicator(value, kind, category, None, source or path.name, today))
    if len(found) == 0:
        first = f" (first unreadable line {bad[0]})" if bad else ""
        raise IntelFileError(str(path), f"no domain or address indicators found{first}")
    return found


def _parse_csv(path: Path, text: str) -> IndicatorSet:
    rows = csv.DictReader(ln for ln in text.splitlines() if not ln.startswith("#"))
    found = IndicatorSet()
    for number, row in enumerate(rows, start=2):
        value = (row.get("indicator") or "").strip().lower()
        kind = (row.get("kind") or "").strip() or _classify(value)
        try:
            category = Category((row.get("category") or "").strip())
        except ValueError:
            raise IntelFileError(str(path), f"unknown category {row.get('category')!r}", number) from None
        if kind not in ("domain", "ip", "cidr") or _classify(value) != kind:
            raise IntelFileError(str(path), f"{value!r} is not a valid {kind}", number)
        found.add(
            Indicator(
                value,
                kind,
                category,
                (row.get("coin") or "").strip() or None,
                (row.get("source") or "").strip(),
                (row.get("date") or "").strip(),
            )
        )
    return found


def load_bundled() -> IndicatorSet:
    """The indicator set shipped inside the package."""
    ref = resources.files("minewatch.intel") / "data" / "indicators.csv"
    with resources.as_file(ref) as path:
        return _parse_csv(path, path.read_text(encoding="utf-8"))


def load_default(extra: list[Path] | None = None) -> IndicatorSet:
    """Bundled indicators, then those fetched by `intel update`, then the user's own files."""
    merged = load_bundled()
    cached = intel_home() / "intel" / "indicators.csv"
    if cached.is_file():
        merged.extend(_parse_csv(cached, cached.read_text(encoding="utf-8")))
    for path in extra or []:
        merged.extend(parse_indicator_file(path))
    return merged
