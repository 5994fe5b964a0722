"""A real capture cut into windows, as a province receives it, gives the host of the uncut
capture once consolidated: hourly files imported one by one, and NetFlow records of a
real exporter arriving in several collector windows."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from minewatch.cli.main import main
from minewatch.collect import CollectOptions, Collector
from minewatch.intel.indicators import load_default
from minewatch.model.document import parse_time
from minewatch.scan import ScanOptions
from minewatch.store import Store
from tests.conftest import NDPI, REAL, ZEEK
from tests.test_collect import export

# (capture, host): hosts with readable sessions, so hashrate and energy can be compared.
CUT = [
    (NDPI / "mining.pcapng", "192.168.2.148"),  # Equihash on two connections
    (NDPI / "mining.pcapng", "147.229.13.222"),  # Ethash, with power and energy
    (ZEEK / "bitcoin-mining.pcap", "10.0.2.15"),  # eight connections to one pool
    (REAL / "xmr_xmrig_cnr_diffchange_t1.pcap", "127.0.0.1"),  # difficulty changes mid-session
]
COMPARED = ("first_seen", "last_seen", "bytes", "shares", "coin", "algorithm", "hashrate",
            "power_w", "energy_kwh_day", "energy_kwh_day_bounds", "co2_kg_day")  # fmt: skip


def _cli(*args: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0, args
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _mining(findings: list[dict[str, Any]], host: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["host"] == host and f["activity"] == "mining"]


def _cut_by_connection(flows: pa.Table, pieces: int) -> list[pa.Table]:
    """The flow records in `pieces` files, a connection's records all in one file (as a
    collector files a flow by the hour it starts in), in time order."""
    ordered = flows.sort_by("first_seen")
    conns = pc.unique(ordered["conn_id"]).to_pylist()
    return [
        ordered.filter(pc.is_in(ordered["conn_id"], pa.array(conns[k::pieces], pa.uint64())))
        for k in range(pieces)
    ]


@pytest.mark.parametrize(("capture", "host"), CUT, ids=lambda x: getattr(x, "name", x))
def test_hourly_imports_give_the_uncut_host(capture: Path, host: str, tmp_path: Path) -> None:
    [whole] = _mining(_cli("scan", str(capture), "--json", "--flows", str(tmp_path / "all.parquet")), host)
    flows = pq.read_table(tmp_path / "all.parquet")
    pieces = [p for p in _cut_by_connection(flows, 3) if p.num_rows]
    store = tmp_path / "store"
    for i, piece in enumerate(pieces):
        pq.write_table(piece, tmp_path / f"hour-{i}.parquet")
        assert main(["import", str(tmp_path / f"hour-{i}.parquet"), "--store", str(store)]) == 0
    windows = _mining([f.to_json() for f in Store(store).findings()], host)
    [episode] = _mining(_cli("findings", "--store", str(store), "--hosts", "--json"), host)
    assert episode["windows"] == len(windows)
    for key in COMPARED:
        assert episode[key] == whole[key], key
    if len(windows) > 1:
        assert sum(w["bytes"] for w in windows) == whole["bytes"]


def _split_pcap(capture: Path, pieces: int, out: Path) -> list[Path]:
    """A classic pcap file cut by time into `pieces` files with the same header."""
    data = capture.read_bytes()
    header, body = data[:24], data[24:]
    records: list[tuple[float, bytes]] = []
    at = 0
    while at + 16 <= len(body):
        sec, usec, incl, _ = struct.unpack("<IIII", body[at : at + 16])
        records.append((sec + usec / 1e6, body[at : at + 16 + incl]))
        at += 16 + incl
    start, end = records[0][0], records[-1][0] + 1e-6
    paths = [out / f"piece-{k}.pcap" for k in range(pieces)]
    parts: list[list[bytes]] = [[] for _ in range(pieces)]
    for t, rec in records:
        parts[int((t - start) / (end - start) * pieces)].append(rec)
    for path, part in zip(paths, parts, strict=True):
        path.write_bytes(header + b"".join(part))
    return paths


def _collect(pieces: list[Path], store: Path, listed: Path, window_s: float) -> Collector:
    """softflowd exports each piece in turn; the collector closes a window between them."""
    options = CollectOptions(
        port=0, poll_s=0.1, window_s=window_s, scan=ScanOptions(intel=load_default([listed]))
    )
    collector = Collector(Store(store), options)
    worker = threading.Thread(target=collector.run, kwargs={"duration_s": 120})
    worker.start()
    try:
        for piece in pieces:
            export(piece, collector.port, 9)
            time.sleep(0.5 if window_s > 60 else 2.5 * window_s)
    finally:
        collector.stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    return collector


def test_collector_windows_give_the_uncut_host(tmp_path: Path) -> None:
    """bitcoin-mining.pcap through softflowd in four pieces, each in its own collector
    window: the consolidated host has the bytes, span and pool of the capture sent whole."""
    capture, host, pool = ZEEK / "bitcoin-mining.pcap", "10.0.2.15", "74.84.128.158"
    listed = tmp_path / "listed.txt"
    listed.write_text(pool + "\n")
    _collect([capture], tmp_path / "whole", listed, window_s=3600)
    [whole] = _mining([f.to_json() for f in Store(tmp_path / "whole").episodes()], host)
    _collect(_split_pcap(capture, 4, tmp_path), tmp_path / "cut", listed, window_s=0.4)
    cut = Store(tmp_path / "cut")
    windows = _mining([f.to_json() for f in cut.findings()], host)
    [episode] = _mining([f.to_json() for f in cut.episodes()], host)
    assert len(windows) >= 3 and episode["windows"] == len(windows)
    assert episode["bytes"] == whole["bytes"] > 0
    # Each softflowd run reckons times from its own start (NetFlow v9 uptime, in ms): the
    # pieces' runs place the same packets within a second of the whole run.
    for key in ("first_seen", "last_seen"):
        assert abs((parse_time(episode[key]) - parse_time(whole[key])).total_seconds()) < 1.0
    assert {p["ip"] for p in episode["pools"]} == {p["ip"] for p in whole["pools"]} == {pool}
