"""The mining corpus's plan, link emulation and manifest (corpus/mining*.py), without running miners."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from corpus.mining import Capture, DifficultyChange, Manifest, miner_command
from corpus.mining_link import Shaping
from corpus.mining_plan import MinerSpec, Scale, load_matrix, plan_sessions


def test_full_plan_covers_the_matrix() -> None:
    plans = plan_sessions(Scale.FULL)
    m = load_matrix()
    assert len(plans) >= 60
    assert {p.miner.name for p in plans} == {x.name for x in m.miners}
    assert {p.tls for p in plans} == {True, False}
    assert sum(p.tls for p in plans) > len(plans) / 2  # TLS mostly
    assert {p.netem.name for p in plans} == {"lan", "wan", "mobile"}
    assert {p.threads for p in plans} == {1, 2}
    assert any(p.vardiff_target_s for p in plans) and any(not p.vardiff_target_s for p in plans)
    assert all(180 <= p.seconds <= 360 for p in plans)
    assert min(p.job_interval_s for p in plans) == 5 and max(p.job_interval_s for p in plans) == 120
    assert len({p.stem for p in plans}) == len(plans)
    xmrig_tls = [p for p in plans if p.miner.program == "xmrig" and p.tls]
    assert any(p.sni for p in xmrig_tls) and not all(p.sni for p in xmrig_tls)


def test_plan_is_reproducible() -> None:
    assert plan_sessions(Scale.FULL, seed=3) == plan_sessions(Scale.FULL, seed=3)
    assert all(p.tls for p in plan_sessions(Scale.TESTS))


@pytest.mark.parametrize(
    ("program", "hashes_per_d1", "rate", "interval", "threads", "expected"),
    [
        ("cpuminer", 2**32, 8e6, 3, 1, 0.00559),  # sha256d: sub-1 difficulties are normal
        ("cpuminer", 2**16, 12000, 20, 2, 7.32),  # scrypt
        ("xmrig", 1, 55, 180, 1, 9900.0),  # cn/r: difficulty = expected hashes per share
        ("xmrig", 1, 33, 0.01, 1, 1.0),  # an XMRig target cannot ask for less than 1
    ],
)
def test_difficulty_for(
    program: str, hashes_per_d1: float, rate: float, interval: float, threads: int, expected: float
) -> None:
    spec = MinerSpec("m", program, "a", hashes_per_d1, rate)
    assert spec.difficulty_for(interval, threads) == expected


def test_miner_commands_never_leave_the_pool() -> None:
    for plan in plan_sessions(Scale.FULL, count=8):
        cmd = miner_command(plan, Path("/bin"), Path("/c.pem"), Path("/m.log"))
        assert f"{plan.server_name}:{plan.port}" in " ".join(cmd)
        assert ("--tls" in cmd or "--cert" in cmd) == plan.tls
        assert ("--sni" in cmd) == (plan.tls and plan.sni and plan.miner.program == "xmrig")


@pytest.mark.parametrize(
    ("shaping", "low", "high"),
    [(Shaping(0, 0, 0), 0.0, 0.0), (Shaping(40, 0, 0), 0.02, 0.02), (Shaping(120, 40, 1), 0.0, 0.2)],
)
def test_one_way_delay(shaping: Shaping, low: float, high: float) -> None:
    rng = random.Random(1)
    delays = [shaping.delay_s(rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays)


def test_manifest_round_trip(tmp_path: Path) -> None:
    cap = Capture(
        file="x.pcap", miner="xmrig", version="6.26.0", algorithm="cn/r", protocol="xmrig-jsonrpc",
        transport="tls", difficulty=1100.0, vardiff_target_s=None,
        difficulty_changes=[DifficultyChange(0.5, 1100.0)], job_interval_s=30, jobs_sent=4, threads=1,
        netem="wan", netem_rtt_ms=40, netem_jitter_ms=10, netem_loss_pct=0, pool_ip="10.77.0.1",
        pool_port=443, client_ip="10.77.0.2", sni="pool.minewatch.test", seconds=170.0, connections=1,
        shares_accepted=9, hashes_per_difficulty_1=1, share_hashrate_hs=58.2, pool_log="x.pool.jsonl",
        miner_log="x.miner.log", start_epoch=1.0,
    )  # fmt: skip
    Manifest([cap]).write(tmp_path / "manifest.json")
    assert Manifest.read(tmp_path / "manifest.json") == Manifest([cap])
