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

import pytest

from tests.conftest import scan_json

DATA = Path(__file__).parent / "data" / "own-miners"
CAPTURES: list[dict[str, Any]] = json.loads((DATA / "manifest.json").read_text())["captures"]

# Behaviour-only TLS sessions the current model does not find (issue 15: the lead retrains it on
# this corpus), by miner and algorithm so a regenerated corpus keeps its marks. Today all four
# committed sessions are found (confidence 0.58 each, behaviour evidence only).
MISSED_TODAY: set[tuple[str, str]] = set()


def _param(cap: dict[str, Any]) -> Any:
    marks = []
    if (cap["miner"], cap["algorithm"]) in MISSED_TODAY:
        marks.append(pytest.mark.xfail(strict=False, reason="issue 15"))
    return pytest.param(cap, id=Path(cap["file"]).stem, marks=marks)


def test_manifest_agrees_with_the_pool_logs() -> None:
    assert sum((DATA / c["file"]).stat().st_size for c in CAPTURES) <= 3_000_000
    for cap in CAPTURES:
        events = [json.loads(x) for x in (DATA / cap["pool_log"]).read_text().splitlines()]
        shares = [e for e in events if e["event"] == "share" and e["accepted"]]
        assert len(shares) == cap["shares_accepted"] > 0
        assert cap["transport"] == "tls"
        assert bool(cap["sni"]) == (cap["miner"] == "cpuminer")  # XMRig sends no SNI by default


@pytest.mark.parametrize("cap", [_param(c) for c in CAPTURES])
def test_real_tls_miner_found(cap: dict[str, Any]) -> None:
    findings = scan_json(DATA / cap["file"])
    mine = [f for f in findings if f["host"] == cap["client_ip"] and f["activity"] == "mining"]
    assert mine, f"no mining finding for {cap['file']}: {[(f['host'], f['activity']) for f in findings]}"
    pools = {(p["ip"], p["port"], p["name"]) for f in mine for p in f["pools"]}
    assert (cap["pool_ip"], cap["pool_port"], cap["sni"]) in pools
    # what it is found by today: its behaviour inside TLS, nothing readable
    assert {f["protocol"] for f in mine} == {"tls"}
    assert {e["kind"] for f in mine for e in f["evidence"]} == {"behaviour"}
