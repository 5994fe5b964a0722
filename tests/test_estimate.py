"""Estimates: hashrate intervals against real miners' own figures and against simulated
share streams, the efficiency table against its own rules, power and the summary."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from minewatch.cli.main import main
from minewatch.estimate.coins import decide_coin, login_coin, program_of
from minewatch.estimate.hashrate import garwood, host_hashrate, session_rate
from minewatch.estimate.power import hardware_class
from minewatch.estimate.tables import (
    ENERGY_UNITS,
    algorithms,
    cryptonote_versions,
    efficiency,
    families,
    programs,
)
from minewatch.model.schema import Direction, MessageKind
from minewatch.protocols import WireMessage, dissect_connection
from minewatch.protocols.base import MiningSession
from minewatch.protocols.session import DifficultyUnit, ShareRecord
from tests.conftest import NDPI, REAL, ZEEK, manifest, scan_json

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


# Mining findings of real captures whose coin comes from a bare CryptoNote job's shape, the
# login, or the program: (capture, host, coin, algorithm, words the basis must hold).
REAL_COINS = [
    # xmr-stak-cpu on 9050, 2017-12-25: blob version 6 = Monero v6, original CryptoNight.
    (
        NDPI / "mining.pcapng",
        "192.168.2.92",
        "monero",
        "cn/0",
        ("76-byte blob of major version 6", "2017-12-25"),
    ),
    # Coinhive's stratum on 3333, 2018-09-11: blob version 7 = Monero v7, CryptoNight variant 1.
    (ZEEK / "coinhive-stratum.pcap", "10.0.2.15", "monero", "cn/1", ("major version 7", "monero address")),
    # Unchanged by the program table: bfgminer mines SHA-256d, the bits say so.
    (ZEEK / "bitcoin-mining.pcap", "10.0.2.15", "bitcoin", "sha256d", ("172f4f7b",)),
    (NDPI / "mining.pcapng", "192.168.2.148", "zcash", "equihash", ("equihash", "zcash address")),
    (NDPI / "mining.pcapng", "147.229.13.222", "ethereum", "ethash", ("ethash",)),
]


@pytest.mark.parametrize(
    ("capture", "host", "coin", "algorithm", "words"), REAL_COINS, ids=lambda v: str(v)[-24:]
)
def test_coin_of_real_captures(
    capture: Any, host: str, coin: str, algorithm: str, words: tuple[str, ...]
) -> None:
    (f,) = [f for f in scan_json(capture) if f["activity"] == "mining" and f["host"] == host]
    assert (f["coin"], f["algorithm"]) == (coin, algorithm)
    assert all(w in f["coin_basis"] for w in words), f["coin_basis"]


def test_cryptonote_shape_gives_a_hashrate() -> None:
    """xmr-stak-cpu's 30 accepted shares now count: CryptoNight targets are hashes."""
    (f,) = [f for f in scan_json(NDPI / "mining.pcapng") if f["host"] == "192.168.2.92"]
    assert f["hashrate"]["shares"] == 30 and 100 < f["hashrate"]["value"] < 5000
    assert f["hardware"] == "cpu"


T0 = 1_700_000_000.0  # 2023-11-14
KAWPOW_NOTIFY = {
    "id": None,
    "method": "mining.notify",
    "params": ["1", "ab" * 32, "cd" * 32, "00000000ff" + "0" * 54, True, 2_000_000, "1b00ffff"],
}
BTC_NOTIFY = {
    "id": None,
    "method": "mining.notify",
    "params": ["2", "ab" * 32, "01", "02", [], "20000000", "17034219", "655a0000", True],
}


def _probe(
    conn: int, agent: str | None, login: str, notify: dict[str, Any], shares: int = 0
) -> MiningSession:
    """One connection of a miner to a pool: subscribe, authorize, one job, `shares` shares."""
    lines: list[tuple[int, dict[str, Any]]] = [
        (0, {"id": 1, "method": "mining.subscribe", "params": [agent] if agent else []}),
        (1, {"id": 1, "result": [[["mining.notify", "ae"]], "08000002", 4], "error": None}),
        (0, {"id": 2, "method": "mining.authorize", "params": [login, "x"]}),
        (1, {"id": 2, "result": True, "error": None}),
        (1, {"id": None, "method": "mining.set_difficulty", "params": [1024]}),
        (1, notify),
    ]
    for i in range(shares):
        submit = [login, notify["params"][0], "00000000", "655a0000", f"{i:08x}"]
        lines += [(0, {"id": 10 + i, "method": "mining.submit", "params": submit})]
        lines += [(1, {"id": 10 + i, "result": True, "error": None})]
    wire = [
        WireMessage(
            conn, i, T0 + conn + i * 0.01, Direction(d), MessageKind.JSON_LINE, json.dumps(m).encode()
        )
        for i, (d, m) in enumerate(lines)
    ]
    session = dissect_connection(wire)
    assert session is not None
    return session


BTC_LOGIN = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT.rig1"
RVN_LOGIN = "RKo3uV8qsN5tNDWeE1Z2dnA6jZqv6M1u5a.rig1"
# (case, sessions, coin, algorithm, words the basis must hold)
PROBES = [
    (
        "cgminer probing 300 kawpow pools, Bitcoin login",
        [_probe(i, "cgminer/4.12.0", BTC_LOGIN, KAWPOW_NOTIFY) for i in range(300)],
        "bitcoin",
        "sha256d",
        ("jobs of kawpow ignored: cgminer mines scrypt or sha256d only", "bitcoin address format"),
    ),
    (
        "cgminer probing kawpow pools, no address in the login",
        [_probe(i, "cgminer/4.12.0", "worker1", KAWPOW_NOTIFY) for i in range(300)],
        None,
        None,
        ("jobs of kawpow ignored", "coin not decided: cgminer mines scrypt or sha256d"),
    ),
    (
        "cgminer sent kawpow and bitcoin jobs: the bitcoin jobs fit it",
        [_probe(0, "cgminer/4.12.0", "w", KAWPOW_NOTIFY), _probe(1, "cgminer/4.12.0", "w", BTC_NOTIFY)],
        "bitcoin",
        "sha256d",
        ("jobs of kawpow ignored", "block target bits 17034219"),
    ),
    (
        "unknown program, no share, jobs of two shapes: named by its login",
        [_probe(0, None, RVN_LOGIN, KAWPOW_NOTIFY), _probe(1, None, RVN_LOGIN, BTC_NOTIFY)],
        "ravencoin",
        "kawpow",
        ("a probing miner", "ravencoin address format"),
    ),
    (
        "unknown program, no share, jobs of two shapes, no address: not decided",
        [_probe(0, None, "w", KAWPOW_NOTIFY), _probe(1, None, "w", BTC_NOTIFY)],
        None,
        None,
        ("a probing miner", "coin not decided"),
    ),
    (
        "bmminer with kawpow jobs and no login: its only family",
        [_probe(0, "bmminer/2.0.0", "w", KAWPOW_NOTIFY)],
        "bitcoin",
        "sha256d",
        ("jobs of kawpow ignored", "bmminer, which mines sha256d only"),
    ),
    (
        "a kawpow miner with shares on kawpow jobs: the jobs decide",
        [
            _probe(0, "kawpowminer/1.2.3", RVN_LOGIN, KAWPOW_NOTIFY, shares=3),
            _probe(1, None, "w", BTC_NOTIFY),
        ],
        "ravencoin",
        "kawpow",
        ("kawpow read from the jobs' shape",),
    ),
]


@pytest.mark.parametrize(
    ("sessions", "coin", "algorithm", "words"), [p[1:] for p in PROBES], ids=[p[0] for p in PROBES]
)
def test_program_and_probing_decide_the_coin(
    sessions: list[MiningSession], coin: str | None, algorithm: str | None, words: tuple[str, ...]
) -> None:
    d = decide_coin(sessions, (), ())
    assert (d.coin, d.algorithm) == (coin, algorithm), d
    assert d.basis is not None and all(w in d.basis for w in words), d.basis


@pytest.mark.parametrize(
    ("login", "coin"),
    [
        (
            "46WNbmwXpYxiBpkbHjAgjC65cyzAxtaaBQjcGpAZquhBKw2r8NtPQniEgMJcwFMCZzSBrEJtmPsTR54MoGBDbjTi2W1XmgM.x",
            "monero",
        ),
        ("t1fAhZF5aUJdY7CikGULHmeYk7id8qmvbAd.rig4", "zcash"),
        ("0x9c99d212f7e5daa18ab50810e0fd255d1f04303b/tester.worker1", "ethereum"),
        (BTC_LOGIN, "bitcoin"),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "bitcoin"),
        (RVN_LOGIN, "ravencoin"),
        ("LVg2kJoFNg45Nbpy53h7Fe1wKyeXVRhMH9", "litecoin"),
        ("synthetic.worker1", None),
        ("4" + "C" * 94, None),  # only 0-9, A or B follow the 4 of a Monero address
    ],
)
def test_login_address_formats(login: str, coin: str | None) -> None:
    found = login_coin(login)
    assert (found[0] if found else None) == coin


def test_program_and_version_tables_are_sound() -> None:
    for p in programs():
        assert p.families <= families().keys(), p
        assert p.source.strip(), p
    assert program_of("cgminer/4.12.0").families == {"sha256d", "scrypt"}  # type: ignore[union-attr]
    assert program_of("bfgminer/5.2.0").pattern == "bfgminer"  # type: ignore[union-attr]
    assert program_of("cpuminer-opt/3.8").families == frozenset()  # type: ignore[union-attr]
    rows = sorted(cryptonote_versions().values(), key=lambda r: r.version)
    for row, after in zip(rows, rows[1:], strict=False):
        assert row.until == after.since and row.since < row.until, (row, after)
    assert all(algorithms()[r.algorithm].family == "cryptonight" for r in rows)
