"""The store-first path in the engine (engine/src/storefirst.rs, store.rs, numeric
pairing) against the Python path it replaces (FlowDecoder, Pairer on text, `_as_stored`,
`Store.write_flows`): for the same datagrams, the same files (partitions, Parquet and Arrow
schema, metadata) and the same rows, read by pyarrow and DuckDB. Then the running collector: bounded
memory when records come faster than they are written, hostile datagrams among real
ones, and a collector on loopback that stores what softflowd sent."""

from __future__ import annotations

import random
import socket
import struct
import sys
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.collect import CollectOptions, Collector, _as_stored
from minewatch.sources.flowexport import Pairer
from minewatch.store import STORED_FLOW_SCHEMA, STORED_FLOW_VERSION, Store
from tests.conftest import NDPI, REAL, ZEEK
from tests.test_collect import _datagrams, export

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from flows import datagrams as bench_datagrams  # noqa: E402
from flows import make_records  # noqa: E402

SOURCE = "netflow://127.0.0.1:2055"
ENGINE_ROW_GROUP_ROWS = 65_536
IDS = ("flow_id", "conn_id")


def _python_path(grams: list[bytes], root: Path) -> int:
    """Today's in-Python store-first path, all datagrams in one batch."""
    decoder = _engine.FlowDecoder()
    for g in grams:
        decoder.feed("127.0.0.1", 9995, g, 0)
    pairer = Pairer(max_held=0)
    flows = pa.concat_tables([pairer.push(pa.Table.from_batches([decoder.take()])), pairer.flush()])
    Store(root, tag="py").write_flows(_as_stored(flows, SOURCE))
    return flows.num_rows


def _engine_path(grams: list[bytes], root: Path) -> int:
    Store(root, tag="rs")  # the layout's manifest, as a collector's store has it
    _, flows, _ = _engine.store_datagrams(grams, root, "rs", STORED_FLOW_SCHEMA, STORED_FLOW_VERSION, SOURCE)
    return int(flows)


def _files(root: Path) -> dict[str, list[Path]]:
    """Files by partition (date=/hour=)."""
    found: dict[str, list[Path]] = {}
    for p in sorted((root / "flows").glob("*/*/part-*.parquet")):
        found.setdefault(f"{p.parent.parent.name}/{p.parent.name}", []).append(p)
    return found


def _rows(files: list[Path]) -> tuple[pa.Table, list[int]]:
    """The rows without their ids, in one order; the ids, sorted."""
    table = pa.concat_tables(pq.read_table(p) for p in files)
    ids = sorted(table["flow_id"].to_pylist())
    assert ids == sorted(table["conn_id"].to_pylist())
    rest = table.drop_columns(list(IDS))
    nested = (pa.types.is_list, pa.types.is_struct)
    keys = [(f.name, "ascending") for f in rest.schema if not any(is_(f.type) for is_ in nested)]
    return rest.sort_by(keys), ids


def _same_files(python: Path, engine: Path) -> None:
    ours, theirs = _files(python), _files(engine)
    assert ours.keys() == theirs.keys() and ours
    for partition in ours:
        assert len(ours[partition]) == len(theirs[partition]) == 1
        a, b = pq.ParquetFile(ours[partition][0]), pq.ParquetFile(theirs[partition][0])
        assert a.schema_arrow == b.schema_arrow == STORED_FLOW_SCHEMA
        assert a.schema_arrow.metadata == b.schema_arrow.metadata
        assert a.schema_arrow.metadata[b"minewatch.schema_version"] == str(STORED_FLOW_VERSION).encode()
        # The Parquet schema (past the line naming the Python object): the same physical and
        # logical types, repetition and names.
        assert str(a.schema).split("\n", 1)[1] == str(b.schema).split("\n", 1)[1]
        meta_a, meta_b = a.metadata, b.metadata
        # The engine writes row groups of 65,536 rows (engine/src/same_chunks.rs
        # ROW_GROUP_ROWS), the full ones with the same-valued columns' chunks encoded once.
        assert meta_b.num_row_groups == -(-meta_b.num_rows // ENGINE_ROW_GROUP_ROWS)
        assert set(meta_a.metadata) == set(meta_b.metadata)
        # pyarrow writes LZ4 pages with dictionaries; the engine uncompressed pages with
        # delta encodings (engine/src/store.rs `properties`, measured in bench_parquet.rs).
        assert meta_a.row_group(0).column(0).compression == "LZ4"
        chunks = {c.path_in_schema: c for c in map(meta_b.row_group(0).column, range(meta_b.num_columns))}
        assert {c.compression for c in chunks.values()} == {"UNCOMPRESSED"}
        for name in ("flow_id", "first_seen", "client_port", "c2s_bytes", "client_ip4"):
            assert "DELTA_BINARY_PACKED" in chunks[name].encodings, (name, chunks[name].encodings)
        for name in ("source", "end_reason"):
            assert "DELTA_BYTE_ARRAY" in chunks[name].encodings, (name, chunks[name].encodings)
    rows_a, ids_a = _rows([p for files in ours.values() for p in files])
    rows_b, ids_b = _rows([p for files in theirs.values() for p in files])
    assert ids_a == ids_b == list(range(len(ids_a)))
    assert rows_a.equals(rows_b), _first_difference(rows_a, rows_b)
    # DuckDB, which detection reads the store with, decodes both alike: every column
    # (nested ones too) hashed row by row and summed, ids aside (the paths number rows in
    # different orders).
    summary = "SELECT count(*), sum(hash(COLUMNS(* EXCLUDE (flow_id, conn_id)))) FROM read_parquet({files})"
    assert duckdb.sql(summary.format(files=[str(p) for f in ours.values() for p in f])).fetchall() == (
        duckdb.sql(summary.format(files=[str(p) for f in theirs.values() for p in f])).fetchall()
    )


def _first_difference(a: pa.Table, b: pa.Table) -> str:
    if a.num_rows != b.num_rows:
        return f"{a.num_rows} rows against {b.num_rows}"
    for name in a.column_names:
        x, y = a[name].to_pylist(), b[name].to_pylist()
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            if u != v:
                return f"{name} row {i}: {u!r} against {v!r}"
    return "equal values, unequal tables"


def _compare(grams: list[bytes], tmp_path: Path) -> int:
    n = _python_path(grams, tmp_path / "python")
    assert _engine_path(grams, tmp_path / "engine") == n
    _same_files(tmp_path / "python", tmp_path / "engine")
    return n


CAPTURES = [
    (ZEEK / "bitcoin-mining.pcap", 5),
    (ZEEK / "bitcoin-mining.pcap", 9),
    (NDPI / "mining.pcapng", 10),
    (REAL / "xmr_xmrig_rx0_tcp_t1.pcap", 10),
    (NDPI / "http_ipv6.pcap", 9),
    (NDPI / "lru_ipv6_caches.pcapng", 10),
]


@pytest.mark.parametrize(("capture", "version"), CAPTURES, ids=lambda c: getattr(c, "name", str(c)))
def test_softflowd_exports_are_stored_as_the_python_path_stores_them(
    tmp_path: Path, capture: Path, version: int
) -> None:
    assert _compare(_datagrams(capture, version), tmp_path) > 0


def test_generated_records_are_stored_as_the_python_path_stores_them(tmp_path: Path) -> None:
    """bench/flows.py's records: many clients and servers, one-way, spread over hours."""
    records, _ = make_records(60_000, 7)
    assert _compare(bench_datagrams(records), tmp_path) == 60_000


def test_files_of_several_row_groups_are_stored_as_the_python_path_stores_them(tmp_path: Path) -> None:
    """180,000 flows in one hour: two full row groups, whose same-valued columns (the null
    ones, `mining` among them, the end reason, the source) are chunks encoded once and
    spliced in, and a shorter last one encoded whole; read alike by pyarrow and DuckDB."""
    records, _ = make_records(180_000, 11)
    assert _compare(bench_datagrams(records), tmp_path) == 180_000
    groups = [
        pq.ParquetFile(p).metadata.num_row_groups for f in _files(tmp_path / "engine").values() for p in f
    ]
    assert max(groups) >= 3
    table = pq.read_table(tmp_path / "engine" / "flows")
    assert table["mining"].null_count == table["sni"].null_count == table.num_rows == 180_000
    assert set(table["end_reason"].to_pylist()) == {"export"}
    assert set(table["source"].to_pylist()) == {SOURCE}


def _v5(records: list[tuple[str, str, int, int, int]], seq: int = 0) -> bytes:
    """A v5 datagram of (src, dst, sport, dport, first uptime ms) records."""
    head = struct.pack("!HHIIIIBBH", 5, len(records), 100_000, 1_790_000_000, 0, seq, 0, 0, 0)
    body = b"".join(
        struct.pack(
            "!4s4sIHHIIIIHHBBBBHHBBH",
            socket.inet_aton(src),
            socket.inet_aton(dst),
            0,
            0,
            0,
            3,
            300,
            first,
            first + 1000,
            sport,
            dport,
            0,
            0x18,
            17,
            0,
            0,
            0,
            0,
            0,
            0,
        )
        for src, dst, sport, dport, first in records
    )
    return head + body


def test_ties_are_broken_as_text_breaks_them(tmp_path: Path) -> None:
    """Equal ports and equal starts: the client is the end lower as text, and
    10.0.0.10 sorts before 10.0.0.9 as text but after it as a number."""
    grams = [
        _v5(
            [
                ("10.0.0.9", "10.0.0.10", 123, 123, 50_000),
                ("10.0.0.10", "10.0.0.9", 123, 123, 50_000),
                ("10.0.0.9", "10.0.0.10", 53, 53, 50_000),
                ("10.0.0.10", "10.0.0.9", 53, 53, 60_000),
                ("10.0.0.9", "10.0.0.9", 53, 53, 60_000),  # to itself: alone, twice
                ("10.0.0.9", "10.0.0.9", 53, 53, 60_000),
                ("192.168.0.1", "10.0.0.200", 40000, 40001, 70_000),
                ("10.0.0.200", "192.168.0.1", 40001, 40000, 70_000),
            ]
        )
    ]
    assert _compare(grams, tmp_path) == 5


def test_a_schema_the_engine_cannot_fill_is_refused(tmp_path: Path) -> None:
    schema = STORED_FLOW_SCHEMA.append(pa.field("must_have", pa.string(), nullable=False))
    with pytest.raises(ValueError, match="must_have"):
        _engine.store_datagrams([], tmp_path, "x", schema, 2, SOURCE)


def _run(collector: Collector, seconds: float) -> threading.Thread:
    worker = threading.Thread(target=collector.run, kwargs={"duration_s": seconds})
    worker.start()
    return worker


def test_a_collector_stores_what_softflowd_sent_as_the_python_path_would(tmp_path: Path) -> None:
    capture = NDPI / "mining.pcapng"
    store = Store(tmp_path / "store", tag="live")
    collector = Collector(store, CollectOptions(port=0, poll_s=0.2, flush_s=0.5, store_only=True))
    worker = _run(collector, 60)
    try:
        export(capture, collector.port, 10)
        time.sleep(1.0)
    finally:
        collector.stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    expected = _python_path(_datagrams(capture, 10), tmp_path / "python")
    stored = pa.concat_tables(pq.read_table(p) for p in store.flow_files())
    assert stored.num_rows == collector.status().flows == collector.written_flows == expected
    journal = store.root / "writers" / "live.json"
    assert '"state": "stopped"' in journal.read_text()
    assert f'"flows": {expected}' in journal.read_text()


def test_memory_stays_bounded_when_records_come_faster_than_they_are_written(tmp_path: Path) -> None:
    """max_records 300: the writer stalls (its journal update takes 3 s), one batch of flows
    and one of records wait, at most 1,200 records are decoded beyond them; the rest is
    dropped and counted, and what was decoded is still stored."""
    collector = Collector(
        Store(tmp_path), CollectOptions(port=0, poll_s=0.2, flush_s=0.2, max_records=300, store_only=True)
    )
    flushed = collector.journal.flushed

    def stalled(written: int, flows: int) -> None:
        time.sleep(3.0)
        flushed(written, flows)

    collector.journal.flushed = stalled  # type: ignore[method-assign]
    grams = [
        _v5([(f"10.{i % 256}.{j}.1", "10.0.0.1", 40000 + i, 80, 1000) for j in range(30)], i)
        for i in range(400)
    ]
    worker = _run(collector, 60)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            out.sendto(grams[0], ("127.0.0.1", collector.port))
            time.sleep(0.5)  # the first batch goes to the writer, which stalls
            for i, g in enumerate(grams[1:]):
                out.sendto(g, ("127.0.0.1", collector.port))
                if i % 50 == 49:
                    time.sleep(0.01)
        time.sleep(0.5)
    finally:
        collector.stop.set()
        worker.join(timeout=60)
    st = collector.status()
    assert st.overflow > 0
    assert st.datagrams + st.overflow + (st.kernel_drops or 0) == len(grams)
    # Decoded, at most: the first batch (30, held, then the first write, which stalls), a
    # batch in the pairing thread's hand, one waiting for it, the one whose flows are being
    # written, and the pending. A batch is handed over only when the last was taken, so it
    # is at most what may be pending: 1,200 and a datagram.
    pending = 1200 + 30
    assert st.records <= 30 + 3 * pending + pending, "the stages' bounds"
    stored = sum(pq.read_metadata(p).num_rows for p in Store(tmp_path).flow_files())
    assert stored == st.records == collector.polled, "what was decoded was stored"


def test_hostile_datagrams_are_counted_and_the_real_ones_stored(tmp_path: Path) -> None:
    real = _datagrams(ZEEK / "bitcoin-mining.pcap", 9)
    rng = random.Random(5)
    hostile = [b"", b"\x00", b"\x00\x09", b"\x00\x0a\xff\xff" + bytes(60), b"\x00\x05\x00\x1e" + bytes(20)]
    hostile += [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 1500))) for _ in range(50)]
    hostile += [g[: rng.randrange(len(g))] for g in real]
    collector = Collector(Store(tmp_path), CollectOptions(port=0, poll_s=0.2, flush_s=0.5, store_only=True))
    worker = _run(collector, 60)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            for g in real:
                out.sendto(g, ("127.0.0.1", collector.port))
            for g in hostile:
                # From another exporter, so the real one's templates stay its own.
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                    other.sendto(g, ("127.0.0.1", collector.port))
        time.sleep(1.0)
    finally:
        collector.stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    st = collector.status()
    assert st.malformed > 0
    expected = _python_path(real, tmp_path / "python")
    real_rows = sum(pq.read_table(p, columns=["client_ip"]).num_rows for p in Store(tmp_path).flow_files())
    assert real_rows >= expected
