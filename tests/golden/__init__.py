"""Golden files: the expected findings of chosen captures, one JSON Lines file each.

Regenerate after an intended change with `.venv/bin/python -m tests.golden`, then review
the diff like any other change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import CAPTURES, NDPI, REAL, ZEEK, scan_json

HERE = Path(__file__).parent
CASES = (
    sorted(REAL.glob("*.pcap"))
    + sorted(ZEEK.glob("*.pcap"))
    + [NDPI / n for n in ("mining.pcapng", "bitcoin.pcap", "ethereum.pcap", "monero.pcap")]
)


def golden_path(capture: Path) -> Path:
    return HERE / (capture.relative_to(CAPTURES).as_posix().replace("/", "__") + ".jsonl")


def normalised(capture: Path) -> list[dict[str, Any]]:
    findings = scan_json(capture)
    for f in findings:
        f["sources"] = [Path(s).relative_to(CAPTURES).as_posix() for s in f["sources"]]
        for e in f["evidence"]:
            if e["source"]:
                e["source"] = Path(e["source"]).relative_to(CAPTURES).as_posix()
    return findings


def render(findings: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(f, sort_keys=True) + "\n" for f in findings)


def regenerate() -> None:
    for capture in CASES:
        golden_path(capture).write_text(render(normalised(capture)))
