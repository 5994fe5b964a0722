"""Dissectors over real message shapes: split at every byte boundary (through the engine),
and fed garbage, truncated and huge lines (never an exception, bounded state)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.model.schema import Direction, MessageKind
from minewatch.protocols import WireMessage, dissect_connection
from minewatch.protocols.session import BlobShape
from minewatch.scan import ScanOptions, dissect_messages, scan_paths
from minewatch.sources import EngineOptions, read_tables
from minewatch.synth.generator import TcpConv
from minewatch.synth.packets import ipv4
from tests.conftest import NDPI, REAL, ZEEK


def _real_messages(name: str) -> list[tuple[int, bytes]]:
    _, messages, _ = read_tables(REAL / name, EngineOptions())
    table = messages.sort_by("index")
    return list(zip(table["direction"].to_pylist(), table["data"].to_pylist(), strict=True))


def _write_pcap(path: Path, packets: list[tuple[float, bytes]]) -> None:
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in packets:
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(frame), len(frame)))
            f.write(frame)


def test_every_split_point_gives_the_same_session(tmp_path: Path) -> None:
    """One flow per split point k of the client's first bytes: all dissect identically."""
    msgs = _real_messages("xmr_xmrig_rx0_tcp_t1.pcap")
    client_first = msgs[0][1] + b"\n"
    assert msgs[0][0] == 0 and len(client_first) > 300
    packets: list[tuple[float, bytes]] = []
    for k in range(1, len(client_first)):
        t = 1_790_000_000.0 + k * 0.01
        conv = TcpConv(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 20000 + k, 3333)
        packets.extend(conv.open(t))
        packets.append(conv.send(t + 0.001, True, client_first[:k]))
        packets.append(conv.send(t + 0.002, True, client_first[k:]))
        for i, (direction, data) in enumerate(msgs[1:], start=1):
            packets.append(conv.send(t + 0.002 + i * 1e-5, direction == 0, data + b"\n"))
    packets.sort(key=lambda p: p[0])
    _write_pcap(tmp_path / "splits.pcap", packets)
    two_threads = EngineOptions(workers=2, parallel_min_bytes=0)
    flows, messages, _ = read_tables(tmp_path / "splits.pcap", two_threads)
    sessions = dissect_messages(messages)
    assert flows.num_rows == len(client_first) - 1 == len(sessions)
    shapes = {
        (s.protocol, s.logins, s.agent, s.accepted, s.jobs, s.difficulty_unit) for s in sessions.values()
    }
    assert len(shapes) == 1
    (protocol, _, agent, accepted, _, _) = shapes.pop()
    assert protocol == "xmrig" and agent is not None and accepted == 18
    # Streamed in batches of 50 rows on two threads, every connection still gets its
    # whole session: its messages always arrive before its flow record.
    options = ScanOptions(engine=EngineOptions(batch_rows=50, workers=2, parallel_min_bytes=0))
    result = scan_paths([tmp_path / "splits.pcap"], options)
    (finding,) = [f for f in result.findings if f.activity == "mining"]
    assert finding.shares is not None and finding.shares.accepted == 18 * len(sessions)


def _msg(i: int, direction: int, data: bytes, truncated: bool = False) -> WireMessage:
    return WireMessage(1, i, 1.0 + i, Direction(direction), MessageKind.JSON_LINE, data, truncated)


def test_garbage_truncated_and_huge_lines() -> None:
    lines = [
        b"\x00\xff garbage",
        b'{"id": 1, "method": "mining.subscribe", "params": ["x"',  # cut short
        b"{" * 100_000,  # deep nesting
        b'{"id": [1], "method": "mining.submit", "params": [1, 2, 3]}',  # unhashable id
        b'{"id": 2, "method": "mining.notify", "params": "not a list"}',
        b'{"id": 3, "method": "login", "params": {"login": 5}}',
        b'{"id": 4, "result": {"job": "nope"}}',
        b'{"method": "mining.set_difficulty", "params": [1e400]}',
        b'{"method": "job", "params": {"blob": "00", "job_id": "1", "target": "zz"}}',
        b"x" * 1_000_000,
    ]
    messages = [_msg(i, i % 2, line) for i, line in enumerate(lines)]
    assert dissect_connection(messages) is None


def test_json_rpc_that_is_not_mining() -> None:
    """Electrum-style and generic JSON-RPC with 'login'/'submit' names is not mining."""
    msgs = _real_messages("neg_jsonrpc_tcp_electrum.pcap")
    wire = [_msg(i, d, data) for i, (d, data) in enumerate(msgs)]
    assert dissect_connection(wire) is None
    generic = [
        _msg(0, 0, b'{"id": 1, "method": "login", "params": {"user": "bob", "password": "x"}}'),
        _msg(1, 1, b'{"id": 1, "result": {"token": "abc"}}'),
        _msg(2, 0, b'{"id": 2, "method": "submit", "params": {"form": 3}}'),
    ]
    assert dissect_connection(generic) is None


def test_pending_requests_are_bounded() -> None:
    flood = [
        _msg(i, 0, b'{"id": %d, "method": "mining.authorize", "params": ["w", "x"]}' % i)
        for i in range(20_000)
    ]
    from minewatch.protocols.rpc import RpcDissector

    d = RpcDissector()
    for m in flood:
        d.feed(m)
    assert len(d.state.pending) <= 4096 and len(d.state.logins) == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.binary(max_size=300)), max_size=30))
def test_arbitrary_bytes_never_raise(items: list[tuple[int, bytes]]) -> None:
    for kind in (MessageKind.JSON_LINE, MessageKind.HTTP_BODY, MessageKind.SV2_FRAME):
        wire = [WireMessage(1, i, float(i), Direction(d), kind, b) for i, (d, b) in enumerate(items)]
        dissect_connection(wire)


def test_engine_schema_matches_model() -> None:
    from minewatch.model.schema import ENGINE_FLOW_SCHEMA, MESSAGE_SCHEMA

    flows, messages = _engine.schemas()
    assert flows.schema.equals(ENGINE_FLOW_SCHEMA)
    assert messages.schema.equals(MESSAGE_SCHEMA)


# XMRig/CryptoNote sessions of real captures: the algorithm the jobs name, and the shapes
# of the jobs that name none (blob bytes, blob major version, target hex characters).
BLOB_SHAPES = [
    (NDPI / "mining.pcapng", None, {BlobShape(76, 6, 8)}),  # xmr-stak-cpu, 2017
    (ZEEK / "coinhive-stratum.pcap", None, {BlobShape(76, 7, 8)}),  # Coinhive, 2018
    (REAL / "xmr_xmrig_rx0_tcp_t1.pcap", "rx/0", set()),  # algo and seed hash named
    (REAL / "xmr_xmrig_cnr_diffchange_t1.pcap", "cn/r", set()),  # algo named
]


@pytest.mark.parametrize(
    ("capture", "algorithm", "shapes"), BLOB_SHAPES, ids=lambda v: getattr(v, "name", None)
)
def test_cryptonote_job_shapes(capture: Path, algorithm: str | None, shapes: set[BlobShape]) -> None:
    _, messages, _ = read_tables(capture, EngineOptions())
    xmrig = [s for s in dissect_messages(messages).values() if s.protocol == "xmrig"]
    assert xmrig
    assert {s.algorithm for s in xmrig} == {algorithm}
    assert {shape for s in xmrig for shape in s.blob_shapes} == shapes


def test_bare_jobs_keep_a_bounded_set_of_shapes() -> None:
    jobs = [
        b'{"method": "job", "params": {"blob": "%s", "job_id": "%d", "target": "dc460300"}}'
        % (bytes([i % 100]).hex().encode() + b"00" * (75 + i % 3), i)
        for i in range(1000)
    ]
    session = dissect_connection([_msg(i, 1, j) for i, j in enumerate(jobs)])
    assert session is not None and session.jobs == 1000
    assert 0 < len(session.blob_shapes) <= 8
