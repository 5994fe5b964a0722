"""Meter series for testing the power detector: normal sites from public load profiles
shipped in packages, either the BDEW standard load profiles of demandlib (household H25,
commercial G25, agriculture L25) or the profiles SimBench derived from measured loads
(households H0-*, businesses G0-* to G6-*, farms L0-* to L2-*), each with
its own size and the irregularities of real use (day-to-day weather, 15-minute noise,
holidays away, a new appliance now and then); and mining loads laid on top of some: a
flat draw of a realistic size for a number of ASICs or GPUs, from a known day, with the
odd hour of downtime."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

__all__ = ["ASIC_KW", "GPU_KW", "SyntheticMeter", "make_meters", "simbench_profiles"]

ASIC_KW = 3.25  # an Antminer S19-class ASIC at the wall (PROTOCOLS.md's power table)
GPU_KW = 0.22  # one mid-range GPU mining, with its share of the rig
STEP_S = 900
# Kind -> (profile, annual kWh: log-mean, log-sd), household sizes to small businesses.
KINDS = {
    "household": ("H25", np.log(3_500), 0.45),
    "commercial": ("G25", np.log(60_000), 0.9),
    "agriculture": ("L25", np.log(25_000), 0.7),
}


@dataclass(frozen=True)
class SyntheticMeter:
    meter_id: str
    business_type: str
    kwh: np.ndarray  # per 15-minute interval, local time from `start`
    mining_kw: float  # 0: none
    mining_from_day: int | None
    rigs: str  # what the mining is, in words
    changes: tuple[str, ...] = ()  # the normal changes laid on: away, appliance, always-on, cold store


@dataclass(frozen=True)
class _Profiles:
    shapes: dict[str, np.ndarray]  # 15-min power over the year, mean 1


def _profiles(year: int) -> _Profiles:
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from demandlib import bdew

        index = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="15min", inclusive="left")
        shapes = {}
        for profile, _, _ in KINDS.values():
            values = getattr(bdew, profile)(index).to_numpy(dtype=float)
            shapes[profile] = values / values.mean()
    return _Profiles(shapes)


# G3 is business running round the clock: declared as such, it is expected to be flat.
SIMBENCH_KINDS = {
    "household": ("H0-",),
    "commercial": ("G0-", "G1-", "G2-", "G4-", "G5-", "G6-"),
    "continuous": ("G3-",),
    "agriculture": ("L0-", "L1-", "L2-"),
}


def simbench_profiles() -> dict[str, list[np.ndarray]]:
    """SimBench's active-power load profiles by kind, a year of 15-minute values (2016),
    each scaled to mean 1. Read from the data file the `simbench` package ships (the
    package itself is not imported: it needs pandapower)."""
    import importlib.util

    import pyarrow.csv as pacsv

    spec = importlib.util.find_spec("simbench")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("simbench is not installed (scripts/setup installs it for the tests)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "networks" / "1-complete_data-mixed-all-0-sw"
    table = pacsv.read_csv(folder / "LoadProfile.csv", parse_options=pacsv.ParseOptions(delimiter=";"))
    out: dict[str, list[np.ndarray]] = {kind: [] for kind in SIMBENCH_KINDS}
    for name in table.column_names:
        if not name.endswith("_pload"):
            continue
        for kind, prefixes in SIMBENCH_KINDS.items():
            if name.startswith(prefixes):
                values = table[name].to_numpy().astype(float)
                out[kind].append(values / values.mean())
    return out


def make_meters(
    normal: int,
    mining: int,
    year: int = 2025,
    days: int = 365,
    seed: int = 7,
    source: str = "bdew",
) -> tuple[list[SyntheticMeter], datetime]:
    """`normal` plain meters and `mining` meters with a mining load from a known day, mixed
    in kind as 60% households, 30% businesses, 10% farms. Returns them and the local start."""
    rng = np.random.default_rng(seed)
    if source == "simbench":
        year = 2016  # the year SimBench's profiles describe
    profiles = _profiles(year) if source == "bdew" else None
    measured = simbench_profiles() if source == "simbench" else None
    n = days * 96
    meters = []
    kinds = rng.choice(list(KINDS), size=normal + mining, p=[0.6, 0.3, 0.1])
    for i, kind in enumerate(kinds):
        profile, log_mean, log_sd = KINDS[kind]
        if measured is not None and kind == "commercial" and rng.random() < 0.15:
            kind = "continuous"  # a business that declares it runs round the clock
        annual = float(np.exp(rng.normal(log_mean, log_sd)))
        mean_kw = annual / 8760
        if measured is not None:
            pool = measured[str(kind)]
            shape = pool[int(rng.integers(len(pool)))][:n]
        else:
            assert profiles is not None
            shape = profiles.shapes[profile][:n]
        # Weather and habits: a slow day-to-day factor, and 15-minute noise.
        day_factor = np.repeat(
            np.exp(np.cumsum(rng.normal(0, 0.04, days)) * 0.3 + rng.normal(0, 0.08, days)), 96
        )
        noise = rng.lognormal(0, 0.25 if kind == "household" else 0.12, n)
        load = mean_kw * shape * day_factor * noise
        changes = []
        if kind == "household" and rng.random() < 0.5:  # away for one or two weeks
            changes.append("away")
            a = int(rng.integers(0, days - 14)) * 96
            load[a : a + int(rng.integers(7, 15)) * 96] *= 0.3
        if rng.random() < 0.15:  # a new appliance or machine, running on and off
            changes.append("appliance")
            a = int(rng.integers(30, days - 30)) * 96
            extra = mean_kw * rng.uniform(0.1, 0.4) * (rng.random(n - a) < 0.5)
            load[a:] += extra
        if kind == "household" and rng.random() < 0.1:  # something left on for good (a server, a pump)
            changes.append("always-on")
            a = int(rng.integers(30, days - 30)) * 96
            load[a:] += rng.uniform(0.05, 0.3)
        if kind != "household" and rng.random() < 0.05:  # a new cold store, round the clock
            changes.append("cold store")
            a = int(rng.integers(30, days - 30)) * 96
            # Compressors cycle: each quarter hour runs between a third and all of the time.
            load[a:] += mean_kw * rng.uniform(0.2, 0.6) * rng.uniform(0.33, 1.0, n - a)
        mining_kw, from_day, rigs = 0.0, None, ""
        if i >= normal:
            if kind == "household":
                if rng.random() < 0.6:
                    count = int(rng.integers(1, 3))
                    mining_kw, rigs = count * ASIC_KW, f"{count} ASIC"
                else:
                    count = int(rng.integers(1, 13))
                    mining_kw, rigs = count * GPU_KW, f"{count} GPUs"
            else:
                count = int(rng.integers(1, 41))
                mining_kw, rigs = count * ASIC_KW, f"{count} ASICs"
            from_day = int(rng.integers(45, days - 20))  # some start in the last weeks
            draw = mining_kw * rng.normal(1, 0.02, n - from_day * 96)
            draw[rng.random(len(draw)) < 0.01] = 0  # the odd interval down
            load[from_day * 96 :] += draw
        meters.append(
            SyntheticMeter(f"M{i:05d}", kind, load * STEP_S / 3600, mining_kw, from_day, rigs, tuple(changes))
        )
    return meters, datetime(year, 1, 1, tzinfo=UTC)
