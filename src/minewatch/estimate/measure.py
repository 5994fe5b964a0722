"""The estimate of one mining finding, from its sessions and evidence."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from minewatch.estimate.coins import algorithm_info, decide_coin, session_algorithm
from minewatch.estimate.hashrate import exposure_of, hashrate_from_exposures, session_rate
from minewatch.estimate.power import DEFAULT_GRID, GridFactor, hardware_class, power_for
from minewatch.estimate.tables import families
from minewatch.model.findings import Evidence, Exposure, Finding
from minewatch.protocols.base import MiningSession

__all__ = ["EstimateOptions", "measure", "with_power"]


@dataclass(frozen=True)
class EstimateOptions:
    grid: GridFactor = field(default_factory=lambda: DEFAULT_GRID)


def measure(
    finding: Finding,
    sessions: Sequence[MiningSession],
    evidence: Sequence[Evidence],
    options: EstimateOptions,
) -> Finding:
    """The finding with coin, algorithm, hashrate, power, energy and CO2 filled in where
    the evidence supports them, and a note saying why where it does not."""
    notes: list[str] = []
    coin = decide_coin(sessions, evidence, finding.pools)
    info = algorithm_info(coin.algorithm)
    family = info.family if info else None
    hashrate = None
    exposures: tuple[Exposure, ...] = ()
    if not sessions:
        notes.append(
            "hashrate: none, no mining session could be read (encrypted or flow-only); "
            "share difficulty and share count are not visible"
        )
    elif family is None:
        notes.append("hashrate: none, the algorithm is not known, so difficulties cannot be read as hashes")
    else:
        per_difficulty = families()[family].hashes_per_difficulty if family in families() else None
        # Hashrates of different algorithms never add: the others are named, not counted.
        same = [s for s in sessions if session_algorithm(s) in (coin.algorithm, None)]
        others = Counter(a for s in sessions if (a := session_algorithm(s)) not in (coin.algorithm, None))
        for algo, count in sorted(others.items()):
            notes.append(f"also mines {algo} on {count} connection(s), not in this hashrate")
        exposures = tuple(exposure_of(r) for s in same if (r := session_rate(s, per_difficulty)) is not None)
        hashrate = hashrate_from_exposures(exposures)
        if hashrate is not None and family == "equihash":
            # An Equihash share target counts solutions, not hashes.
            hashrate = dataclasses.replace(hashrate, unit="Sol/s")
        if hashrate is None:
            notes.append(f"hashrate: none, no job with a difficulty readable as {family} hashes was seen")
        elif finding.shares is not None and finding.shares.rejected:
            notes.append(
                f"hashrate counts accepted shares only; {finding.shares.rejected} rejected shares "
                "would add to the work done"
            )
    if finding.reported_hashrate_hs is not None:
        notes.append(
            f"the miner reports {finding.reported_hashrate_hs:.4g} H/s itself; not used in the estimate"
        )
    # A decision with a basis stands, "not decided" included: fusion's guess from the most
    # common job shape must not name a probing miner's coin.
    decided = coin.basis is not None
    result = dataclasses.replace(
        finding,
        coin=coin.coin if decided else finding.coin,
        algorithm=coin.algorithm if decided else finding.algorithm,
        coin_basis=coin.basis,
        hashrate=hashrate,
        exposures=exposures if hashrate is not None else (),
    )
    if hashrate is None or family is None:
        return dataclasses.replace(result, estimate_notes=tuple(notes))
    return with_power(result, family, notes, options.grid)


def with_power(finding: Finding, family: str, notes: list[str], grid: GridFactor) -> Finding:
    """The finding, whose hashrate is known, with hardware, power, energy and CO2, and
    `notes` plus the basis of each as its estimate notes."""
    assert finding.hashrate is not None
    hardware = hardware_class(family, finding.agent, finding.hashrate.value)
    if hardware is None:
        notes.append(f"power: none, no hardware class is known for {family}")
        return dataclasses.replace(finding, estimate_notes=tuple(notes))
    power = power_for(finding.hashrate, family, hardware.hardware, grid)
    if power is None:
        notes.append(f"power: none, the efficiency table has no row for {family} on {hardware.hardware}")
        return dataclasses.replace(finding, hardware=hardware.hardware, estimate_notes=tuple(notes))
    notes.append(f"hardware {hardware.hardware}: {hardware.basis}")
    notes.append(f"power: {power.basis}")
    return dataclasses.replace(
        finding,
        hardware=hardware.hardware,
        power_w=power.power_w,
        energy_kwh_day=power.energy_kwh_day.best,
        energy_kwh_day_bounds=power.energy_kwh_day,
        co2_kg_day=power.co2_kg_day,
        estimate_notes=tuple(notes),
    )
