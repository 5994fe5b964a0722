"""Scan every capture of a benign corpus with minewatch and say which ones it calls mining:
one JSON line per capture, `python -m corpus.check DIR` (DIR has manifest.json).

A finding of activity "mining" on a benign capture is a false positive; the behavioural model
(issue 15) is judged on how few of these it makes."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from corpus.spec import Capture, Manifest
from minewatch.detect.behaviour import eligible, feature_matrix, load_model
from minewatch.model.findings import Activity
from minewatch.scan import ScanOptions, scan_paths
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import read_tables


@dataclass(frozen=True)
class Verdict:
    file: str
    program: str
    setting: str
    netem: str
    mining_hosts: int
    evidence: tuple[str, ...]  # "kind: detail" of each mining finding's evidence
    eligible_flows: int  # flows the behavioural model judges (long, unreadable TCP)
    max_score: float  # its highest probability of mining over them
    over_threshold: int  # flows at or above its threshold


def check(folder: Path, cap: Capture) -> Verdict:
    """How many hosts of CAP's capture minewatch calls mining, and why."""
    result = scan_paths([folder / cap.file], ScanOptions())
    mining = [f for f in result.findings if f.activity is Activity.MINING]
    evidence = tuple(f"{e.kind.value}: {e.detail}" for f in mining for e in f.evidence)
    flows, _, _ = read_tables(folder / cap.file, EngineOptions(workers=1))
    judged = flows.filter(eligible(flows))
    model = load_model("packet")
    scores = model.score(feature_matrix(judged)) if judged.num_rows else np.zeros(0)
    return Verdict(
        cap.file,
        cap.program,
        cap.setting,
        cap.netem,
        len(mining),
        evidence,
        judged.num_rows,
        round(float(scores.max(initial=0.0)), 3),
        int((scores >= model.threshold).sum()),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m corpus.check", description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    a = ap.parse_args(argv)
    manifest = Manifest.read(a.folder / "manifest.json")
    flagged = 0
    for cap in manifest.captures:
        verdict = check(a.folder, cap)
        flagged += verdict.mining_hosts > 0
        sys.stdout.write(json.dumps(asdict(verdict)) + "\n")
    sys.stderr.write(f"{flagged} of {len(manifest.captures)} captures have a mining finding\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
