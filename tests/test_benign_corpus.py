"""The benign corpus (corpus/benign.py) at scale quick: every program's capture holds sessions
of >= 70 s, and a scan finds no mining in any of them. Needs root (network namespaces)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.programs import NAMES
from corpus.spec import Capture, Manifest
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import read_tables
from tests.conftest import ROOT, scan_json

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and tcpdump")

LONG_S = 70.0
# Programs whose benign capture minewatch still calls mining (issue 15), marked xfail. None at
# seed 1 with the model of 2026-11-27 (the highest behavioural score over these captures,
# and over the first third of scale full, was 0.80 against a threshold of 0.90); add a
# program here, with its evidence, when a run shows one.
FLAGGED: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("benign")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    subprocess.run(
        [sys.executable, "-m", "corpus.benign", "--scale", "quick", "--out", str(out), "--seed", "1"],
        check=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    return out, Manifest.read(out / "manifest.json")


def _capture(quick: tuple[Path, Manifest], name: str) -> tuple[Path, Capture]:
    out, manifest = quick
    (cap,) = [c for c in manifest.captures if c.program == name]
    return out / cap.file, cap


def _case(name: str) -> object:
    marks = [pytest.mark.xfail(strict=False, reason="issue 15")] if name in FLAGGED else []
    return pytest.param(name, marks=marks)


def test_manifest_covers_every_program(quick: tuple[Path, Manifest]) -> None:
    _, manifest = quick
    assert sorted(c.program for c in manifest.captures) == sorted(NAMES)
    assert manifest.version == 1 and manifest.kind == "benign"


@pytest.mark.parametrize("name", NAMES)
def test_sessions_are_long(quick: tuple[Path, Manifest], name: str) -> None:
    path, cap = _capture(quick, name)
    assert cap.sessions >= 1 and cap.errors == 0
    flows, _, _ = read_tables(path, EngineOptions(workers=1))
    durations = [(f["last_seen"] - f["first_seen"]).total_seconds() for f in flows.to_pylist()]
    assert sum(d >= LONG_S for d in durations) >= cap.sessions, durations


@pytest.mark.parametrize("name", [_case(n) for n in NAMES])
def test_no_mining_finding(quick: tuple[Path, Manifest], name: str) -> None:
    path, _ = _capture(quick, name)
    mining = [f for f in scan_json(path) if f["activity"] == "mining"]
    assert mining == [], [(f["host"], f["evidence"]) for f in mining]
