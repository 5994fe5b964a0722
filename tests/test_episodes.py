"""Host episodes: a host's window findings merged give the figures of the uncut input."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from minewatch.detect import fuse
from minewatch.estimate.episodes import consolidate
from minewatch.model.attribution import Attribution, Sector
from minewatch.model.findings import Activity, Evidence, EvidenceKind, Finding
from minewatch.report.figures import compute
from minewatch.scan import ScanOptions, analyse_capture
from minewatch.sources.pcap import FileCapture
from tests.conftest import NDPI, ZEEK

# Captures whose host mines over several connections: each connection becomes a window.
CUT = [
    (NDPI / "mining.pcapng", "192.168.2.148"),
    (ZEEK / "bitcoin-mining.pcap", "10.0.2.15"),
    (ZEEK / "coinhive-stratum.pcap", "10.0.2.15"),
]


def _windows(capture: Path, host: str) -> tuple[Finding, list[Finding]]:
    """The host's mining finding of the whole capture, and the findings of its windows
    when each connection is analysed in a window of its own (as a collector or an hourly
    import sees a host's connections in different windows)."""
    options = ScanOptions()
    result = analyse_capture(FileCapture(capture, options.engine), options)
    source = result.report.source
    sessions = {(source, c): s for c, s in result.sessions.items()}
    mine = [e for e in result.evidence if e.host == host and e.activity == Activity.MINING]
    [whole] = fuse(mine, sessions)
    by_conn: dict[int | None, list[Evidence]] = defaultdict(list)
    for e in mine:
        by_conn[e.conn_id].append(e)
    windows = [f for evs in by_conn.values() for f in fuse(evs, sessions)]
    return whole, windows


@pytest.mark.parametrize(("capture", "host"), CUT, ids=lambda x: getattr(x, "name", x))
def test_windows_of_a_capture_merge_into_the_whole(capture: Path, host: str) -> None:
    whole, windows = _windows(capture, host)
    assert len(windows) >= 2
    [episode] = consolidate(windows)
    assert episode.windows == len(windows)
    assert (episode.first_seen, episode.last_seen) == (whole.first_seen, whole.last_seen)
    assert episode.bytes_total == whole.bytes_total > 0
    assert episode.shares == whole.shares
    assert (episode.coin, episode.algorithm) == (whole.coin, whole.algorithm)
    assert {(p.ip, p.port) for p in episode.pools} == {(p.ip, p.port) for p in whole.pools}
    assert episode.hashrate == whole.hashrate
    assert episode.power_w == whole.power_w
    assert episode.energy_kwh_day_bounds == whole.energy_kwh_day_bounds
    assert episode.co2_kg_day == whole.co2_kg_day
    assert episode.confidence == whole.confidence
    assert sum(e.count for e in episode.evidence) >= len(episode.evidence)


def test_the_same_window_stored_twice_counts_once() -> None:
    whole, windows = _windows(*CUT[0])
    [episode] = consolidate(windows + windows)
    assert episode.bytes_total == whole.bytes_total and episode.hashrate == whole.hashrate
    assert consolidate([whole]) == [whole]


T0 = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # midnight in Shanghai


def _window(host: str, minute: int, nbytes: int, attribution: Attribution | None = None) -> Finding:
    start = T0 + timedelta(minutes=minute)
    ev = Evidence(
        host,
        Activity.MINING,
        EvidenceKind.INTEL,
        0.8,
        "flows to a listed pool",
        start,
        start + timedelta(seconds=59),
    )
    return Finding(
        host,
        Activity.MINING,
        0.8,
        start,
        start + timedelta(seconds=59),
        (ev,),
        bytes_total=nbytes,
        attribution=attribution,
    )


def test_a_day_of_minute_windows_counts_each_host_once() -> None:
    """1,440 windows a day per host: hosts once, bytes once, Mbit/s over the day."""
    owner = Attribution(
        "inventory",
        "示例大学",
        Sector.EDUCATION,
        region=("江苏省", "南京市", "玄武区"),
        region_code="320102",
        likely_compromised=True,
    )
    windows = [_window("10.0.0.1", m, 10_000, owner) for m in range(1440)]
    windows += [_window("10.0.0.2", m, 5_000) for m in range(0, 1440, 2)]
    episodes = consolidate(windows)
    assert [e.windows for e in episodes] == [1440, 720] or [e.windows for e in episodes] == [720, 1440]
    [ev] = next(e for e in episodes if e.host == "10.0.0.1").evidence
    assert ev.count == 1440
    day = compute(episodes, T0, T0 + timedelta(days=1), tz=ZoneInfo("Asia/Shanghai"))
    total = 1440 * 10_000 + 720 * 5_000
    assert day.mining_hosts == 2 and day.mining_bytes == total
    assert day.mbit_s_period == pytest.approx(total * 8 / 86400 / 1e6, rel=1e-6)
    assert day.compromised == 1 and {c.label for c in day.by_city} == {"江苏省 / 南京市", "unknown"}
    # Days in the office's zone: 16:00 UTC is midnight in Shanghai, so one day, not two.
    assert [(c.label, c.hosts) for c in day.trend] == [("2026-11-25", 2)]
    utc = compute(episodes, T0, T0 + timedelta(days=1))
    assert [c.label for c in utc.trend] == ["2026-11-24", "2026-11-25"]


def test_joint_interval_is_narrower_than_added_bounds() -> None:
    whole, _ = _windows(*CUT[0])
    hosts = [dataclasses.replace(whole, host=f"10.0.0.{i}") for i in range(1, 9)]
    [algo] = compute(hosts).algorithms
    assert whole.hashrate is not None and algo.hashrate is not None and algo.low is not None
    assert algo.hashrate == pytest.approx(8 * whole.hashrate.value)
    assert 8 * whole.hashrate.low < algo.low < algo.hashrate < algo.high < 8 * whole.hashrate.high  # type: ignore[operator]
