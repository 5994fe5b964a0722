"""Stored detection is live detection: a capture scanned, and the same capture's flows
written with `scan --flows`, imported and detected over the store, give the same findings
(hashrate, shares, coin and all), because the dissected `mining` column survives."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from minewatch.cli.main import main
from minewatch.detect.mining_column import sessions_in
from minewatch.scan import InputAnalysis, ScanOptions
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import FileCapture
from tests.conftest import NDPI, REAL, ZEEK

CAPTURES = [
    REAL / "sv1_cpuminer_sha256d_t1.pcap",
    REAL / "xmr_xmrig_cnr_diffchange_t1.pcap",
    ZEEK / "bitcoin-mining.pcap",
    NDPI / "mining.pcapng",
]
# Fields that name the run, not the traffic: the inputs the findings (and each piece of
# evidence) were read from.
RUN_FIELDS = ("sources",)


def _cli(*args: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0, args
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _contract(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = [{k: v for k, v in f.items() if k not in RUN_FIELDS} for f in findings]
    for f in kept:
        f["evidence"] = [{k: v for k, v in e.items() if k != "source"} for e in f["evidence"]]
    return sorted(kept, key=lambda f: (f["host"], f["activity"]))


# (capture, scan options): a long connection cut by the active timeout keeps its start
# and all its bytes over a store too.
RUNS = [
    *((c, ()) for c in CAPTURES),
    (REAL / "xmr_xmrig_cnr_diffchange_t1.pcap", ("--active-timeout", "5")),
    (NDPI / "mining.pcapng", ("--active-timeout", "60")),
]


@pytest.mark.parametrize(
    ("capture", "options"), RUNS, ids=lambda x: x.name if isinstance(x, Path) else " ".join(x)
)
def test_scan_and_detect_over_the_store_agree(
    capture: Path, options: tuple[str, ...], tmp_path: Path
) -> None:
    flows, store = tmp_path / "flows.parquet", tmp_path / "store"
    live = _cli("scan", str(capture), *options, "--json", "--flows", str(flows))
    if options:
        assert pq.read_table(flows, columns=["end_reason"])["end_reason"].to_pylist().count("active-timeout")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["import", str(flows), "--store", str(store)]) == 0
    stored = _cli("detect", "--store", str(store), "--json")
    assert any(f["shares"] and f["hashrate"] for f in live), "the capture must have a measured session"
    assert _contract(stored) == _contract(live)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_the_mining_column_gives_back_the_sessions(capture: Path, tmp_path: Path) -> None:
    """Every session dissection found is rebuilt, equal in every field, from the column."""
    path = tmp_path / "flows.parquet"
    written: list[Any] = []
    analysis = InputAnalysis(str(capture), ScanOptions(), written.append)
    for kind, batch in FileCapture(capture, EngineOptions()).batches():
        analysis.feed(kind, batch)
    pq.write_table(pa.concat_tables(written), path)
    rebuilt = sessions_in(pq.read_table(path))
    assert analysis.result.sessions
    assert rebuilt == analysis.result.sessions
