"""The store's layout (issue 17, item 2): Hive-style `date=/hour=` partitions that DuckDB,
pyarrow and Spark read as columns, a manifest with the schema versions, each file's
version in its metadata, files that appear whole or not at all, and a layout-1 store
moved into place when opened."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from minewatch.model.findings import Finding
from minewatch.scan import InputAnalysis, ScanOptions
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import FileCapture
from minewatch.store import STORED_FLOW_VERSION, Store
from minewatch.store.layout import LAYOUT, MANIFEST, VERSION_KEY
from tests.conftest import REAL, scan_json


def flows_of(capture: Path) -> pa.Table:
    """A capture's flow records as the scan hands them to the store."""
    written: list[pa.Table] = []
    analysis = InputAnalysis(str(capture), ScanOptions(), written.append)
    for kind, batch in FileCapture(capture, EngineOptions()).batches():
        analysis.feed(kind, batch)
    return pa.concat_tables(written)


def test_flows_land_in_date_and_hour_partitions_every_engine_reads(tmp_path: Path) -> None:
    store = Store(tmp_path / "s", tag="sensor-a")
    flows = flows_of(REAL / "sv1_cpuminer_sha256d_t1.pcap")
    written = store.write_flows(flows)
    assert written and all(p.parent.parent.name.startswith("date=") for p in written)
    assert all(p.name.startswith("part-sensor-a-") for p in written)
    assert pq.read_metadata(written[0]).metadata[VERSION_KEY] == str(STORED_FLOW_VERSION).encode()
    manifest = json.loads((tmp_path / "s" / MANIFEST).read_text())
    assert manifest["layout"] == LAYOUT and manifest["flows"] == STORED_FLOW_VERSION
    # pyarrow's own dataset reader sees the partitions as columns, as Spark does.
    table = ds.dataset(tmp_path / "s" / "flows", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == flows.num_rows
    first = min(flows["first_seen"].to_pylist())
    assert str(table["date"][0]) == f"{first:%Y-%m-%d}" and int(table["hour"][0].as_py()) == first.hour
    with store.connect() as db:
        assert db.execute("SELECT count(*), min(hour) FROM flows").fetchone() == (flows.num_rows, first.hour)


def test_half_written_files_are_not_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    [written] = store.write_flows(flows_of(REAL / "sv1_cpuminer_sha256d_t1.pcap"))
    # A writer killed mid-file leaves its temporary name behind, cut short.
    (written.parent / ".part-dead-0.parquet.tmp").write_bytes(written.read_bytes()[:100])
    assert store.flow_files() == [written]
    with store.connect() as db:
        assert db.execute("SELECT count(*) FROM flows").fetchone()[0] > 0


def test_a_layout_1_store_is_moved_into_place(tmp_path: Path) -> None:
    root = tmp_path / "old"
    flows = flows_of(REAL / "sv1_cpuminer_sha256d_t1.pcap")
    hour = min(flows["first_seen"].to_pylist()).astimezone(UTC)
    (root / "flows" / f"hour={hour:%Y-%m-%dT%H}").mkdir(parents=True)
    Store(tmp_path / "scratch").write_flows(flows)
    [made] = list((tmp_path / "scratch" / "flows").rglob("part-*.parquet"))
    made.rename(root / "flows" / f"hour={hour:%Y-%m-%dT%H}" / "part-old.parquet")
    finding = Finding.from_json(scan_json(REAL / "sv1_cpuminer_sha256d_t1.pcap")[0])
    Store(tmp_path / "scratch2").write_findings([finding])
    [found] = list((tmp_path / "scratch2" / "findings").rglob("part-*.parquet"))
    (root / "findings" / "day=2026-11-24").mkdir(parents=True)
    found.rename(root / "findings" / "day=2026-11-24" / "part-old.parquet")
    store = Store(root)
    assert [p.relative_to(root).as_posix() for p in store.flow_files()] == [
        f"flows/date={hour:%Y-%m-%d}/hour={hour:%H}/part-old.parquet"
    ]
    assert not list((root / "flows").glob("hour=*")) and not list((root / "findings").glob("day=*"))
    assert [f.host for f in store.findings()] == [finding.host]
    assert store.flow_files(since=datetime(2100, 1, 1, tzinfo=UTC)) == []
