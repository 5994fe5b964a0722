"""The estimate package's data tables (data/*.csv), loaded once and typed.

Each table says where its numbers come from in a `source` column; lines starting with
# are notes for the reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache

from minewatch.datafiles import table_rows

__all__ = [
    "ENERGY_UNITS",
    "AgentRow",
    "AlgorithmRow",
    "BlobVersionRow",
    "EfficiencyRow",
    "FamilyRow",
    "ProgramRow",
    "WalletRow",
    "agents",
    "algorithms",
    "block_bits",
    "cryptonote_versions",
    "efficiency",
    "families",
    "ports",
    "programs",
    "wallets",
]

# Joules per hash for each unit the efficiency table may use.
ENERGY_UNITS = {"J/H": 1.0, "J/kH": 1e-3, "J/MH": 1e-6, "J/GH": 1e-9, "J/TH": 1e-12, "J/PH": 1e-15}


@dataclass(frozen=True)
class AlgorithmRow:
    """An algorithm as named on the wire, the coin it mostly serves, and its family."""

    name: str
    coin: str
    family: str


@dataclass(frozen=True)
class FamilyRow:
    family: str
    hashes_per_difficulty: float | None
    hardware: str
    asic_min_hs: float | None
    source: str


@dataclass(frozen=True)
class EfficiencyRow:
    """Joules per hash of one hardware class for one family (low <= best <= high)."""

    family: str
    hardware: str
    unit: str
    low: float
    best: float
    high: float
    source: str

    def joules_per_hash(self) -> tuple[float, float, float]:
        k = ENERGY_UNITS[self.unit]
        return self.low * k, self.best * k, self.high * k


@dataclass(frozen=True)
class AgentRow:
    pattern: str
    hardware: str
    source: str


@dataclass(frozen=True)
class PortRow:
    port: int
    coin: str
    algorithm: str
    source: str


@dataclass(frozen=True)
class BlobVersionRow:
    """The proof-of-work a CryptoNote blob's major version meant on one coin, and when."""

    version: int
    algorithm: str
    coin: str
    since: date
    until: date
    blob_min: int
    blob_max: int
    source: str


@dataclass(frozen=True)
class ProgramRow:
    """A miner program and the algorithm families it can mine (empty: no constraint)."""

    pattern: str
    families: frozenset[str]
    source: str


@dataclass(frozen=True)
class WalletRow:
    """A payout address format that names one coin."""

    pattern: re.Pattern[str]
    coin: str
    source: str


def _rows(name: str) -> Iterator[dict[str, str]]:
    return table_rows("minewatch.estimate", name)


def _opt(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def algorithms() -> dict[str, AlgorithmRow]:
    rows = (AlgorithmRow(r["algorithm"], r["coin"], r["family"]) for r in _rows("algorithms.csv"))
    return {a.name: a for a in rows}


@cache
def families() -> dict[str, FamilyRow]:
    return {
        r["family"]: FamilyRow(
            r["family"], _opt(r["hashes_per_difficulty"]), r["hardware"], _opt(r["asic_min_hs"]), r["source"]
        )
        for r in _rows("families.csv")
    }


@cache
def efficiency() -> dict[tuple[str, str], EfficiencyRow]:
    rows = (
        EfficiencyRow(
            r["family"],
            r["hardware"],
            r["unit"],
            float(r["low"]),
            float(r["best"]),
            float(r["high"]),
            r["source"],
        )
        for r in _rows("efficiency.csv")
    )
    return {(e.family, e.hardware): e for e in rows}


@cache
def agents() -> tuple[AgentRow, ...]:
    return tuple(AgentRow(r["pattern"].lower(), r["hardware"], r["source"]) for r in _rows("agents.csv"))


@cache
def ports() -> dict[int, PortRow]:
    return {
        int(r["port"]): PortRow(int(r["port"]), r["coin"], r["algorithm"], r["source"])
        for r in _rows("ports.csv")
    }


@cache
def block_bits() -> dict[str, tuple[str, str]]:
    return {r["bits"].lower(): (r["algorithm"], r["source"]) for r in _rows("block_bits.csv")}


@cache
def cryptonote_versions() -> dict[int, BlobVersionRow]:
    rows = (
        BlobVersionRow(
            int(r["version"]),
            r["algorithm"],
            r["coin"],
            date.fromisoformat(r["since"]),
            date.fromisoformat(r["until"]),
            int(r["blob_min"]),
            int(r["blob_max"]),
            r["source"],
        )
        for r in _rows("cryptonote_versions.csv")
    )
    return {v.version: v for v in rows}


@cache
def programs() -> tuple[ProgramRow, ...]:
    return tuple(
        ProgramRow(r["pattern"].lower(), frozenset(r["families"].split()), r["source"])
        for r in _rows("programs.csv")
    )


@cache
def wallets() -> tuple[WalletRow, ...]:
    return tuple(WalletRow(re.compile(r["pattern"]), r["coin"], r["source"]) for r in _rows("wallets.csv"))
