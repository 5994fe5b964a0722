"""The finding as one typed value: every golden file reads back to exactly its JSON, a
finding survives to_json/from_json unchanged, and a wrong field is named."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from minewatch.errors import FindingFormatError
from minewatch.model.attribution import Attribution, Sector
from minewatch.model.findings import FINDING_VERSION, Finding

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.jsonl"))
LINES = [(p.name, i, json.loads(line)) for p in GOLDEN for i, line in enumerate(p.read_text().splitlines())]


@pytest.mark.parametrize(("name", "index", "line"), LINES, ids=[f"{n}:{i}" for n, i, _ in LINES])
def test_every_golden_finding_round_trips_exactly(name: str, index: int, line: dict[str, Any]) -> None:
    finding = Finding.from_json(line)
    assert finding.to_json() == line
    assert Finding.from_json(finding.to_json()) == finding
    assert line["version"] == FINDING_VERSION


def test_attribution_travels_with_the_finding() -> None:
    line = LINES[0][2]
    owner = Attribution(
        source="inventory",
        organisation="示例大学 \u202e",
        sector=Sector.EDUCATION,
        region=("江苏省", "南京市", "玄武区"),
        region_code="320102",
        likely_compromised=True,
        compromise_reason="education machines have no business mining",
    )
    finding = Finding.from_json(line)
    placed = Finding.from_json({**line, "attribution": None})
    assert placed.attribution is None
    import dataclasses

    owned = dataclasses.replace(finding, attribution=owner)
    assert Finding.from_json(json.loads(json.dumps(owned.to_json()))) == owned


def test_version_1_lines_still_read() -> None:
    """A line written before version 2: no version, evidence of kind/detail/strength only."""
    old = {
        "host": "10.0.0.5",
        "activity": "crypto-node",
        "first_seen": "2026-11-24T18:00:00Z",
        "last_seen": "2026-11-24T18:10:00.5Z",
        "confidence": 0.9,
        "pools": [{"ip": "198.51.100.7", "port": 3333}],
        "evidence": [{"kind": "p2p", "detail": "bitcoin magic", "strength": 0.9}],
        "hashrate": {"value": 10.0, "low": 5.0, "high": 20.0, "unit": "H/s", "method": "m"},
    }
    f = Finding.from_json(old)
    assert f.evidence[0].first_seen == f.first_seen and f.windows == 1 and f.hashrate.shares == 0  # type: ignore[union-attr]
    assert f.to_json()["version"] == FINDING_VERSION


BAD = [
    ({"confidence": math.nan}, "finding.confidence"),
    ({"confidence": "0.9"}, "finding.confidence"),
    ({"activity": "node"}, "finding.activity"),
    ({"first_seen": "9999-12-31T23:59:59-14:00"}, "finding.first_seen"),
    ({"first_seen": 1700000000}, "finding.first_seen"),
    ({"pools": [{"ip": "1.2.3.4", "port": "3333"}]}, "finding.pools[0].port"),
    ({"evidence": [{"kind": "rumour", "detail": "x", "strength": 1}]}, "finding.evidence[0].kind"),
    ({"evidence": "x"}, "finding.evidence"),
    ({"bytes": True}, "finding.bytes"),
    ({"logins": [1]}, "finding.logins"),
    ({"attribution": {"sector": "church"}}, "finding.attribution.sector"),
    ({"version": 99}, "finding.version"),
    (
        {"exposures": [{"start": "2026-11-24T18:00:00Z", "end": "2026-11-24T18:00:00Z", "accepted": 1}]},
        "finding.exposures[0].exposure",
    ),
]


@pytest.mark.parametrize(("change", "field"), BAD, ids=[f for _, f in BAD])
def test_a_wrong_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(FindingFormatError) as caught:
        Finding.from_json({**LINES[0][2], **change})
    assert caught.value.source == field


def test_not_an_object() -> None:
    with pytest.raises(FindingFormatError, match="expected an object"):
        Finding.from_json([1, 2])
