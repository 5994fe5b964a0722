"""Real miners we recorded ourselves (corpus/mining.py --scale tests) over TLS: what minewatch finds.

The captures in tests/data/own-miners were made by real cpuminer and XMRig against corpus/pool.py
in network namespaces (CI cannot build the miners). Regenerate them with
`python -m corpus.mining --scale tests --out tests/data/own-miners` (as root) and drop the
sessions' miner logs if they grow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from minewatch.detect.behaviour import MIN_MESSAGES
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import read_tables
from tests.conftest import scan_json

DATA = Path(__file__).parent / "data" / "own-miners"
CAPTURES: list[dict[str, Any]] = json.loads((DATA / "manifest.json").read_text())["captures"]


def _param(cap: dict[str, Any]) -> Any:
    return pytest.param(cap, id=Path(cap["file"]).stem)


def test_manifest_agrees_with_the_pool_logs() -> None:
    assert sum((DATA / c["file"]).stat().st_size for c in CAPTURES) <= 3_000_000
    for cap in CAPTURES:
        events = [json.loads(x) for x in (DATA / cap["pool_log"]).read_text().splitlines()]
        shares = [e for e in events if e["event"] == "share" and e["accepted"]]
        assert len(shares) == cap["shares_accepted"] > 0
        assert cap["transport"] == "tls"
        assert bool(cap["sni"]) == (cap["miner"] == "cpuminer")  # XMRig sends no SNI by default


@pytest.mark.parametrize("cap", [_param(c) for c in CAPTURES])
def test_real_tls_miner_found_when_it_said_enough(cap: dict[str, Any]) -> None:
    """Inside TLS only timing and sizes show: a session with MIN_MESSAGES client messages
    or more is found by them; one with fewer gets no verdict from timing (three shares
    look like anything), and is left to intel or the probe."""
    flows, _, _ = read_tables(DATA / cap["file"], EngineOptions(workers=1))
    to_pool = flows.filter(pc.equal(flows["server_port"], cap["pool_port"]))
    said = max(to_pool["c2s_bursts"].to_pylist()) - 2  # after the opening bursts
    findings = scan_json(DATA / cap["file"])
    mine = [f for f in findings if f["host"] == cap["client_ip"] and f["activity"] == "mining"]
    if said < MIN_MESSAGES:
        assert not mine, f"{said} client messages: too few to judge"
        return
    assert mine, f"no mining finding for {cap['file']}: {[(f['host'], f['activity']) for f in findings]}"
    pools = {(p["ip"], p["port"], p["name"]) for f in mine for p in f["pools"]}
    assert (cap["pool_ip"], cap["pool_port"], cap["sni"]) in pools
    # what it is found by: its behaviour inside TLS, nothing readable
    assert {f["protocol"] for f in mine} == {"tls"}
    assert {e["kind"] for f in mine for e in f["evidence"]} == {"behaviour"}
