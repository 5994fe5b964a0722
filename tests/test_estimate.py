"""Estimates: hashrate intervals against real miners' own figures and against simulated
share streams, the efficiency table against its own rules, power and the summary."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from minewatch.cli.main import main
from minewatch.estimate.hashrate import garwood, host_hashrate, session_rate
from minewatch.estimate.power import hardware_class
from minewatch.estimate.tables import ENERGY_UNITS, efficiency, families
from minewatch.protocols.base import MiningSession
from minewatch.protocols.session import DifficultyUnit, ShareRecord
from tests.conftest import REAL, manifest, scan_json

PLAIN = [c for c in manifest() if c["label"] == "mining" and c["transport"] == "tcp"]
# The interval is Garwood's on the accepted-share count, scaled by the exposure, also when
# the difficulty changes mid-session (PROTOCOLS.md 2.2b): no allowance is needed, and the
# only slack is for float rounding.
WIDTH_ALLOWANCE = 1e-9


def _mining(case: dict[str, Any]) -> dict[str, Any]:
    (f,) = [f for f in scan_json(REAL / case["file"]) if f["activity"] == "mining"]
    return f


@pytest.mark.parametrize("case", PLAIN, ids=lambda c: c["file"])
def test_real_miner_interval_holds_its_own_figure(case: dict[str, Any]) -> None:
    f = _mining(case)
    h = f["hashrate"]
    own = case["miner_reported_hashrate_hs"]
    assert h["low"] <= own <= h["high"], (h, own)
    n = case["shares_accepted"]
    assert h["shares"] == n
    g_low, g_high = garwood(n)
    assert (h["high"] - h["low"]) / h["value"] <= (g_high - g_low) / n * (1 + WIDTH_ALLOWANCE)
    # Few shares: the output says how rough the figure is.
    assert "standard error about" in h["method"] and f"{n} shares" in h["method"]
    assert f["algorithm"] == case["algorithm"] and f["coin_basis"]
    assert f["reported_hashrate_hs"] is None or f["reported_hashrate_hs"] != h["value"]


@pytest.mark.parametrize("case", PLAIN, ids=lambda c: c["file"])
def test_difficulty_timeline_equals_pool_log(case: dict[str, Any]) -> None:
    log = [json.loads(ln) for ln in (REAL / case["share_log"]).read_text().splitlines() if ln.strip()]
    accepted = sum(1 for e in log if e.get("event") == "share" and e.get("accepted") is True)
    f = _mining(case)
    assert f["shares"]["accepted"] == accepted == f["hashrate"]["shares"]
    got = [round(d["value"], 6) for d in f["difficulty_timeline"]]
    assert got == [float(s["difficulty"]) for s in case["share_difficulty_schedule"]]


def test_garwood_matches_published_table() -> None:
    table = (("1", "0.025", "5.57"), ("5", "1.62", "11.67"), ("10", "4.80", "18.39"), ("30", "20.2", "42.8"))
    for n, *published in table:
        for got, text in zip(garwood(int(n)), published, strict=True):
            last_digit = 10.0 ** -len(text.partition(".")[2])  # as rounded in PROTOCOLS.md 2.2
            assert abs(got - float(text)) <= last_digit / 2 + 1e-12, (n, got, text)
    assert garwood(0) == (0.0, pytest.approx(3.69, abs=0.01))


def _session(work: list[tuple[float, float]], end: float, accepted: int, start: float = 0.0) -> MiningSession:
    shares = tuple(ShareRecord(start + 1.0, work[0][1], True) for _ in range(accepted))
    return MiningSession(
        conn_id=1,
        protocol="xmrig",
        confidence=0.98,
        methods=(),
        logins=(),
        agent=None,
        algorithm="rx/0",
        jobs=len(work),
        difficulty_unit=DifficultyUnit.HASHES,
        difficulty=tuple(work),
        work=tuple(work),
        block_bits=None,
        shares=shares,
        reported_hashrate=None,
        first_ts=start,
        last_ts=end,
        server_confirmed=True,
    )


def _poisson(rng: random.Random, mean: float) -> int:
    """Events of a Poisson process of rate 1 in time `mean`, by exponential gaps."""
    t, n = rng.expovariate(1.0), 0
    while t < mean:
        n += 1
        t += rng.expovariate(1.0)
    return n


def test_interval_covers_the_true_rate_about_95_percent() -> None:
    """1,000 simulated sessions, Poisson share arrivals, the difficulty changing once mid-session."""
    rng = random.Random(20261124)
    covered = 0
    runs = 1000
    for _ in range(runs):
        true_rate = rng.uniform(50, 5000)
        d1 = rng.choice([1e3, 5e3, 2e4])
        d2 = d1 * rng.choice([0.25, 0.5, 2, 4])
        t1, t2 = rng.uniform(30, 600), rng.uniform(30, 600)
        n = _poisson(rng, true_rate * t1 / d1) + _poisson(rng, true_rate * t2 / d2)
        rate = session_rate(_session([(0.0, d1), (t1, d2)], t1 + t2, n), None)
        assert rate is not None
        h = host_hashrate([rate])
        assert h is not None
        covered += h.low <= true_rate <= h.high
    assert 0.92 * runs <= covered <= 0.98 * runs, covered


def test_connections_add_when_parallel_and_average_when_sequential() -> None:
    one = session_rate(_session([(0.0, 100.0)], 100.0, 50), None)
    same_time = session_rate(_session([(0.0, 100.0)], 100.0, 50), None)
    later = session_rate(_session([(100.0, 100.0)], 200.0, 50, start=100.0), None)
    assert one and same_time and later
    parallel, sequential = host_hashrate([one, same_time]), host_hashrate([one, later])
    assert parallel and sequential
    assert parallel.value == pytest.approx(2 * one.rate)
    assert sequential.value == pytest.approx(one.rate)
    assert sequential.low <= one.rate <= sequential.high


def test_no_share_gives_an_upper_bound_only() -> None:
    rate = session_rate(_session([(0.0, 1000.0)], 60.0, 0), None)
    assert rate is not None
    h = host_hashrate([rate])
    assert h is not None and h.value == 0 and h.low == 0
    assert h.high == pytest.approx(garwood(0)[1] * 1000 / 60)


def test_efficiency_table_is_sound() -> None:
    table = efficiency()
    assert table, "efficiency table is empty"
    for (family, hardware), row in table.items():
        assert family in families(), family
        assert hardware in ("cpu", "gpu", "asic"), hardware
        assert row.unit in ENERGY_UNITS, row.unit
        assert 0 < row.low <= row.best <= row.high, row
        assert row.source.strip(), row
        j = row.joules_per_hash()
        assert 1e-13 < j[0] <= j[2] < 1.0, (family, hardware, j)  # between 0.1 J/TH and 1 J/H
    # ASICs are more efficient than CPUs on the same algorithm, by orders of magnitude.
    assert table[("sha256d", "asic")].joules_per_hash()[2] < table[("sha256d", "cpu")].joules_per_hash()[0]
    for fam in families().values():
        if fam.hardware != "asic" or fam.family == "equihash":
            continue
        assert (fam.family, "asic") in table


def test_hardware_from_agent_then_from_hashrate() -> None:
    assert hardware_class("sha256d", "bfgminer/5.2.0", None).hardware == "asic"  # type: ignore[union-attr]
    assert hardware_class("sha256d", "cpuminer/2.5.1", None).hardware == "cpu"  # type: ignore[union-attr]
    assert hardware_class("sha256d", None, 1.2e7).hardware == "cpu"  # type: ignore[union-attr]
    assert hardware_class("sha256d", None, 1.1e14).hardware == "asic"  # type: ignore[union-attr]
    assert hardware_class("randomx", None, 500).hardware == "cpu"  # type: ignore[union-attr]


def test_power_energy_and_co2_follow_the_hashrate() -> None:
    f = _mining(next(c for c in PLAIN if c["algorithm"] == "rx/0"))
    p, e, c = f["power_w"], f["energy_kwh_day_bounds"], f["co2_kg_day"]
    assert f["hardware"] == "cpu"
    assert 0 < p["low"] <= p["best"] <= p["high"] < 500  # a one-thread CPU miner, not a farm
    assert e["best"] == pytest.approx(p["best"] * 24 / 1000) == f["energy_kwh_day"]
    assert c["best"] == pytest.approx(e["best"] * 0.5306)


def test_summary_adds_up(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(REAL / c["file"]) for c in PLAIN]
    assert main(["scan", *files, "--summary", "--json", "--grid-factor", "0.6"]) == 0
    summary = json.loads(capsys.readouterr().out)
    findings = [f for f in scan_json(*[REAL / c["file"] for c in PLAIN]) if f["activity"] == "mining"]
    assert summary["mining_hosts"] == len({f["host"] for f in findings})
    assert summary["mining_bytes"] == sum(f["bytes"] for f in findings) > 0
    assert summary["mining_mbit_s"] > 0
    algos = {a["algorithm"]: a for a in summary["hashrate_by_algorithm"]}
    assert set(algos) == {f["algorithm"] for f in findings}
    for f in findings:
        assert algos[f["algorithm"]]["hashrate"]["value"] == pytest.approx(f["hashrate"]["value"])
    assert summary["energy_kwh_day"]["best"] == pytest.approx(sum(f["energy_kwh_day"] for f in findings))
    assert summary["co2_kg_day"]["best"] == pytest.approx(summary["energy_kwh_day"]["best"] * 0.6)
    assert main(["scan", *files, "--summary"]) == 0
    table = capsys.readouterr().out
    assert "mining hosts" in table and "energy per day" in table
