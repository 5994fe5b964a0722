"""Hardware class, power, energy per day and CO2 from a hashrate and an algorithm.

Power low/best/high pairs the low end of the hashrate interval with the most efficient
hardware and the high end with the least efficient still in use (the CBECI floor and
ceiling, PROTOCOLS.md 3.2). Energy assumes the host mines all day at the observed rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from minewatch.estimate.tables import agents, efficiency, families
from minewatch.model.findings import Bounds, Hashrate

__all__ = ["DEFAULT_GRID", "GridFactor", "HardwareDecision", "PowerEstimate", "hardware_class", "power_for"]


@dataclass(frozen=True)
class GridFactor:
    """kg CO2 per kWh of electricity drawn, and where the figure comes from."""

    kg_per_kwh: float
    source: str


DEFAULT_GRID = GridFactor(
    0.5306,
    "China national average grid emission factor 2023, 0.5306 kg CO2/kWh "
    "(Ministry of Ecology and Environment and National Bureau of Statistics)",
)


@dataclass(frozen=True)
class HardwareDecision:
    hardware: str
    basis: str


@dataclass(frozen=True)
class PowerEstimate:
    power_w: Bounds
    energy_kwh_day: Bounds
    co2_kg_day: Bounds
    basis: str


def hardware_class(family: str, agent: str | None, hashrate_hs: float | None) -> HardwareDecision | None:
    """CPU, GPU or ASIC: from the miner program when it names itself, else from the
    family's usual hardware unless the hashrate is too small for one ASIC."""
    if agent:
        low = agent.lower()
        for row in agents():
            if row.pattern in low:
                return HardwareDecision(row.hardware, f"miner program {agent[:40]!r} ({row.source})")
    fam = families().get(family)
    if fam is None:
        return None
    floor = fam.asic_min_hs
    if fam.hardware == "asic" and floor is not None and hashrate_hs is not None and hashrate_hs < floor:
        return HardwareDecision(
            "cpu", f"{hashrate_hs:.3g} H/s is below one {family} ASIC ({fam.asic_min_hs:.3g} H/s)"
        )
    return HardwareDecision(fam.hardware, f"usual hardware for {family}")


def power_for(hashrate: Hashrate, family: str, hardware: str, grid: GridFactor) -> PowerEstimate | None:
    row = efficiency().get((family, hardware))
    if row is None:
        return None
    j_low, j_best, j_high = row.joules_per_hash()
    watts = Bounds(hashrate.low * j_low, hashrate.value * j_best, hashrate.high * j_high)
    kwh = Bounds(watts.low * 24 / 1000, watts.best * 24 / 1000, watts.high * 24 / 1000)
    co2 = Bounds(kwh.low * grid.kg_per_kwh, kwh.best * grid.kg_per_kwh, kwh.high * grid.kg_per_kwh)
    basis = (
        f"{family} on {hardware}: {row.low:g}/{row.best:g}/{row.high:g} {row.unit} ({row.source}); "
        "machine power only, no facility overhead; energy if it mines all day; "
        f"CO2 at {grid.kg_per_kwh:g} kg/kWh ({grid.source})"
    )
    return PowerEstimate(watts, kwh, co2, basis)
