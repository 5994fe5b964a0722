"""Every real mining session is found with its protocol, pool, shares and difficulties;
the negative captures give nothing."""

from __future__ import annotations

from typing import Any

import pytest

from minewatch.scan import ScanOptions
from minewatch.sources import EngineOptions
from tests.conftest import REAL, manifest, scan_json

PROTOCOL = {"stratum-v1": "stratum-v1", "xmrig": "xmrig"}
PLAIN = [c for c in manifest() if c["label"] == "mining" and c["transport"] == "tcp"]
NEGATIVE = [c for c in manifest() if c["label"] != "mining"]


def _mining(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["activity"] == "mining"]


@pytest.mark.parametrize("case", PLAIN, ids=lambda c: c["file"])
def test_plain_session_found_exactly(case: dict[str, Any]) -> None:
    mining = _mining(scan_json(REAL / case["file"]))
    assert len(mining) == 1
    f = mining[0]
    want_protocol = "xmrig" if case["miner_program"] == "XMRig" else "stratum-v1"
    assert f["protocol"] == want_protocol
    assert [(p["ip"], p["port"]) for p in f["pools"]] == [(case["server"], case["server_port"])]
    assert f["shares"] == {
        "submitted": case["shares_submitted"],
        "accepted": case["shares_accepted"],
        "rejected": case["shares_rejected"],
    }
    # The difficulty timeline read off the wire equals the pool's schedule.
    got = [round(d["value"], 6) for d in f["difficulty_timeline"]]
    assert got == [float(s["difficulty"]) for s in case["share_difficulty_schedule"]]
    assert f["confidence"] >= 0.95
    if case["miner_program"] == "XMRig":
        assert f["algorithm"] == case["algorithm"]
        assert f["agent"].startswith("XMRig/6.26.0")


@pytest.mark.parametrize("case", PLAIN, ids=lambda c: c["file"])
def test_streaming_and_active_timeout_change_nothing(case: dict[str, Any]) -> None:
    """Flows cut every 5 s and handed over 2 rows at a time: one session, same shares."""
    whole = _mining(scan_json(REAL / case["file"]))
    cut = ScanOptions(engine=EngineOptions(active_timeout_s=5, batch_rows=2))
    split = _mining(scan_json(REAL / case["file"], options=cut))
    assert len(split) == 1
    for key in ("shares", "difficulty_timeline", "protocol", "logins", "first_seen", "pools"):
        assert split[0][key] == whole[0][key], key


@pytest.mark.parametrize("case", PLAIN, ids=lambda c: c["file"])
def test_share_log_matches_wire(case: dict[str, Any]) -> None:
    """Accepted shares on the wire equal the pool's own log, share for share."""
    import json

    log = [json.loads(line) for line in (REAL / case["share_log"]).read_text().splitlines() if line.strip()]
    accepted_in_log = sum(1 for e in log if e.get("event") == "share" and e.get("accepted") is True)
    if not any(e.get("event") == "share" for e in log):
        pytest.skip("share log has no share events")
    (f,) = _mining(scan_json(REAL / case["file"]))
    assert f["shares"]["accepted"] == accepted_in_log


@pytest.mark.parametrize("case", NEGATIVE, ids=lambda c: c["file"])
def test_negative_captures_are_not_mining(case: dict[str, Any]) -> None:
    assert scan_json(REAL / case["file"]) == []
