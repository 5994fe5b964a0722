"""The NetFlow/IPFIX collector against a real exporter: Debian's softflowd reads the real
captures and exports NetFlow v5, v9 and IPFIX to the collector on loopback. What flow
data can show (a listed pool address, a mining-like session to a pool port) is found as
a scan of the capture finds it; what only payload shows is not claimed."""

from __future__ import annotations

import json
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minewatch import _engine
from minewatch.collect import CollectOptions, Collector
from minewatch.intel.indicators import load_default
from minewatch.scan import ScanOptions
from minewatch.store import Store
from tests.conftest import NDPI, REAL, ZEEK, scan_json

SOFTFLOWD = shutil.which("softflowd") or "/usr/sbin/softflowd"
VERSIONS = (5, 9, 10)
# (capture, the client, its pool) for sessions a flow record can show.
POOL_PORT_SESSIONS = [
    (REAL / "sv1_cpuminer_sha256d_t1.pcap", "127.0.0.1", ("127.0.0.1", 3333)),
    (REAL / "xmr_xmrig_rx0_tcp_t1.pcap", "127.0.0.1", ("127.0.0.1", 4444)),
    (ZEEK / "bitcoin-mining.pcap", "10.0.2.15", ("74.84.128.158", 3333)),
    (NDPI / "mining.pcapng", "147.229.13.222", ("185.71.66.39", 9999)),
    (NDPI / "mining.pcapng", "192.168.2.148", ("116.211.167.195", 3333)),
]
POOL_PORT_CAPTURES = list(dict.fromkeys(c for c, _, _ in POOL_PORT_SESSIONS))
NOT_MINING = [REAL / "neg_jsonrpc_tcp_electrum.pcap", REAL / "neg_http_curl_download.pcap"]


def export(capture: Path, port: int, version: int) -> None:
    """softflowd reads the capture and sends every flow to the collector, then exits."""
    cmd = [SOFTFLOWD, "-r", str(capture), "-n", f"127.0.0.1:{port}", "-v", str(version), "-d"]
    subprocess.run(cmd, capture_output=True, check=True, timeout=60)


def collect(captures: list[Path], version: int, store: Path, intel: list[Path] | None = None) -> Collector:
    options = CollectOptions(port=0, poll_s=0.2, window_s=3600, scan=ScanOptions(intel=load_default(intel)))
    collector = Collector(Store(store), options)
    worker = threading.Thread(target=collector.run, kwargs={"duration_s": 60})
    worker.start()
    try:
        for capture in captures:
            export(capture, collector.port, version)
        time.sleep(0.5)  # the last datagrams are on loopback, not yet read
    finally:
        collector.stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    return collector


def mining_pools(findings: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    return {
        (f["host"], p["ip"], p["port"]) for f in findings if f["activity"] == "mining" for p in f["pools"]
    }


def packet_side(captures: list[Path]) -> set[tuple[str, str, int]]:
    """Mining sessions a scan of the packets finds (reading the payload)."""
    return {pool for c in captures for pool in mining_pools(scan_json(c))}


@pytest.mark.parametrize("version", VERSIONS)
def test_softflowd_export_finds_the_sessions_flow_data_can_show(tmp_path: Path, version: int) -> None:
    collector = collect(POOL_PORT_CAPTURES + NOT_MINING, version, tmp_path)
    status = collector.status()
    assert status.malformed == 0 and status.no_template == 0 and status.missing == 0
    findings = [f.to_json() for f in Store(tmp_path).findings()]
    flow_side = mining_pools(findings)
    # Every session claimed from flow records is one the packets confirm, and the
    # sessions to pool ports are all among them.
    assert flow_side <= packet_side(POOL_PORT_CAPTURES)
    assert {(host, *pool) for _, host, pool in POOL_PORT_SESSIONS} <= flow_side
    # What only payload shows stays unclaimed: xmr-stak on 9050 (Tor's port).
    assert ("192.168.2.92", "178.32.196.217", 9050) in packet_side(POOL_PORT_CAPTURES) - flow_side
    for f in findings:
        assert {e["kind"] for e in f["evidence"]} == {"behaviour"}
        assert all("weakest evidence" in e["detail"] for e in f["evidence"])
        assert f["confidence"] < 0.5, "counters alone are weaker than dissection or intel"
    # Every flow the exporter sent reached the store, paired.
    with Store(tmp_path).connect() as db:
        stored = db.execute("SELECT count(*) FROM flows").fetchone()
    assert stored is not None and stored[0] == status.flows > 0


@pytest.mark.parametrize("version", VERSIONS)
def test_listed_pool_addresses_are_found_as_a_scan_finds_them(tmp_path: Path, version: int) -> None:
    """Intel on addresses needs no payload: the collected flows and the capture agree."""
    captures = [ZEEK / "bitcoin-mining.pcap", NDPI / "mining.pcapng", REAL / "neg_jsonrpc_tcp_electrum.pcap"]
    listed = tmp_path / "pools.txt"
    listed.write_text("74.84.128.158\n185.71.66.39\n")
    collector = collect(captures, version, tmp_path / "store", [listed])
    assert collector.status().flows > 0
    flow_side = {
        (f["host"], p["ip"])
        for f in (f.to_json() for f in Store(tmp_path / "store").findings())
        if any(e["kind"] == "intel" for e in f["evidence"])
        for p in f["pools"]
    }
    options = ScanOptions(intel=load_default([listed]))
    packet_side = {
        (f["host"], p["ip"])
        for c in captures
        for f in scan_json(c, options=options)
        if any(e["kind"] == "intel" and "listed address" in e["detail"] for e in f["evidence"])
        for p in f["pools"]
        if p["ip"] in ("74.84.128.158", "185.71.66.39")
    }
    assert flow_side == packet_side == {("10.0.2.15", "74.84.128.158"), ("147.229.13.222", "185.71.66.39")}


def test_tls_miner_on_an_unusual_port_is_left_to_packets(tmp_path: Path) -> None:
    """The real TLS miner uses port 3443: from counters alone it is not claimed (a scan of
    the capture finds it by its timing); the flow is still stored."""
    capture = REAL / "sv1_cpuminer_sha256d_tls_t1.pcap"
    collector = collect([capture], 10, tmp_path)
    assert collector.status().flows == 1
    assert Store(tmp_path).findings() == []
    assert mining_pools(scan_json(capture)) == {("127.0.0.1", "127.0.0.6", 3443)}


def _datagrams(capture: Path, version: int) -> list[bytes]:
    """What softflowd sends for a capture, caught on a plain socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    export(capture, sock.getsockname()[1], version)
    got = []
    try:
        while True:
            got.append(sock.recv(65535))
    except TimeoutError:
        pass
    finally:
        sock.close()
    return got


@pytest.fixture(scope="module")
def real_datagrams() -> list[bytes]:
    capture = ZEEK / "bitcoin-mining.pcap"
    return [d for v in VERSIONS for d in _datagrams(capture, v)]


def test_real_datagrams_decode(real_datagrams: list[bytes]) -> None:
    decoder = _engine.FlowDecoder()
    for d in real_datagrams:
        decoder.feed("127.0.0.1", 9995, d, 0)
    records = decoder.take()
    assert records.num_rows > 0 and decoder.totals.malformed == 0
    assert {e.version for e in decoder.exporters()} == set(VERSIONS)


def test_read_directly_is_what_the_parser_reads(real_datagrams: list[bytes]) -> None:
    """softflowd's v9 and IPFIX data sets, read without the parser once it has accepted
    their template (the default), give the records and counters the parser gives."""
    direct, parsed = _engine.FlowDecoder(), _engine.FlowDecoder(direct=False)
    for d in real_datagrams:
        direct.feed("127.0.0.1", 9995, d, 0)
        parsed.feed("127.0.0.1", 9995, d, 0)
    assert direct.totals.direct > 0 and parsed.totals.direct == 0
    assert direct.take().equals(parsed.take())
    for name in ("datagrams", "records", "malformed", "no_template", "untimed"):
        assert getattr(direct.totals, name) == getattr(parsed.totals, name), name


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_datagrams_never_crash_the_decoder(real_datagrams: list[bytes], data: st.DataObject) -> None:
    """Truncated, bit-flipped, wrong-length and random datagrams, after and among real
    ones: counted and dropped, never a crash; the real ones still decode."""
    decoder = _engine.FlowDecoder()
    parsed = _engine.FlowDecoder(direct=False)  # v9 and IPFIX without direct reads: the same
    sent = 0
    for d in real_datagrams:
        decoder.feed("127.0.0.1", 9995, d, 0)
        parsed.feed("127.0.0.1", 9995, d, 0)
        sent += 1
        choice = data.draw(st.integers(0, 4))
        mutated = bytearray(d)
        if choice == 0:
            mutated = mutated[: data.draw(st.integers(0, len(d)))]
        elif choice == 1 and mutated:
            i = data.draw(st.integers(0, len(d) - 1))
            mutated[i] ^= data.draw(st.integers(1, 255))
        elif choice == 2 and len(mutated) >= 4:
            mutated[2:4] = b"\xff\xff"  # count / length fields claiming the most
        elif choice == 3:
            mutated = bytearray(data.draw(st.binary(max_size=1500)))
        else:
            mutated += data.draw(st.binary(max_size=64))
        decoder.feed("127.0.0.2", 9995, bytes(mutated), 0)
        parsed.feed("127.0.0.2", 9995, bytes(mutated), 0)
        sent += 1
    totals = decoder.totals
    assert parsed.totals.malformed == totals.malformed
    assert totals.datagrams == sent
    assert len(decoder.drain_log()) <= 256
    records = decoder.take()
    assert records.equals(parsed.take())
    from_real = pa.compute.sum(pa.compute.equal(records["exporter"], "127.0.0.1")).as_py()
    clean = _engine.FlowDecoder()
    for d in real_datagrams:
        clean.feed("127.0.0.1", 9995, d, 0)
    assert from_real == clean.take().num_rows


def _v5(seq: int, count: int, rng: random.Random) -> bytes:
    head = struct.pack("!HHIIIIBBH", 5, count, 100_000, 1_790_000_000, 0, seq, 0, 0, 0)
    body = b"".join(
        struct.pack(
            "!IIIHHIIIIHHBBBBHHBBH",
            rng.getrandbits(32),
            rng.getrandbits(32),
            0,
            0,
            0,
            10,
            1000,
            50_000,
            90_000,
            rng.randrange(1024, 65535),
            3333,
            0,
            0x1B,
            6,
            0,
            0,
            0,
            0,
            0,
            0,
        )
        for _ in range(count)
    )
    return head + body


def test_hostile_datagrams_over_udp_and_a_bounded_flood(tmp_path: Path) -> None:
    """Over the real socket: garbage among valid exports is dropped and counted, and a
    flood (bounded in count and time) is handled or counted as dropped by the kernel."""
    collector = Collector(Store(tmp_path), CollectOptions(port=0, poll_s=0.1, window_s=3600))
    worker = threading.Thread(target=collector.run, kwargs={"duration_s": 30})
    worker.start()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", collector.port)
    rng = random.Random(7)
    try:
        for i in range(200):
            sender.sendto(_v5(i * 30, 30, rng), target)
            sender.sendto(rng.randbytes(rng.randrange(0, 1400)), target)
            sender.sendto(_v5(0, 30, rng)[: rng.randrange(0, 100)], target)
        time.sleep(0.5)
        before = collector.status()
        assert before.records == 200 * 30
        assert before.malformed >= 200
        assert before.missing == 0
        sent, started = 0, time.monotonic()
        datagram = _v5(0, 30, rng)
        while sent < 300_000 and time.monotonic() - started < 3.0:
            sender.sendto(datagram, target)
            sent += 1
        send_s = time.monotonic() - started
        time.sleep(1.0)
    finally:
        sender.close()
        collector.stop.set()
        worker.join(timeout=30)
    after = collector.status()
    handled = after.datagrams - before.datagrams
    dropped = (after.kernel_drops or 0) - (before.kernel_drops or 0)
    overflow = after.overflow - before.overflow
    print(
        f"flood: sent {sent} datagrams in {send_s:.2f} s ({sent / send_s:,.0f}/s); "
        f"decoded {handled}, dropped {overflow} for want of memory and {dropped} by the kernel"
    )
    assert handled > 0
    # Every datagram sent is accounted for: decoded, or dropped and counted.
    assert handled + overflow + dropped == sent
    assert after.kernel_drops is not None, "the kernel's drop counter is read from /proc/net/udp"


def test_collect_command_as_a_process(tmp_path: Path) -> None:
    """`minewatch collect` in its own process, softflowd exporting IPFIX to it, stopped by
    Ctrl-C (SIGINT) in the middle of its window: what it received is still recorded, and
    `minewatch findings` reads it. A busy port is a usage error."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    store = tmp_path / "store"
    exe = Path(sys.executable).parent / "minewatch"
    cmd = [str(exe), "collect", "--listen", f"127.0.0.1:{port}", "--store", str(store)]
    proc = subprocess.Popen([*cmd, "--duration", "120"], stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.5)  # interpreter start-up and bind
        busy = subprocess.run([*cmd, "--duration", "5"], capture_output=True, text=True, timeout=30)
        assert busy.returncode == 2 and f"127.0.0.1:{port}" in busy.stderr
        export(REAL / "sv1_cpuminer_sha256d_t1.pcap", port, 10)
        time.sleep(3.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "exporters 1 " in err and "findings 1 " in err, err
    out = subprocess.run(
        [str(exe), "findings", "--store", str(store), "--since", "2026-01-01", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [finding] = [json.loads(line) for line in out.splitlines()]
    assert (finding["host"], finding["pools"][0]["port"]) == ("127.0.0.1", 3333)


def test_engine_and_schema_module_agree_on_export_records() -> None:
    """The decoder's Arrow output is EXPORT_RECORD_SCHEMA, and the pairer's columns are
    RECORD_SCHEMA's (engine/src/netflow.rs, pairing.rs; minewatch.model.schema)."""
    from minewatch.model.schema import EXPORT_RECORD_SCHEMA, RECORD_SCHEMA

    records = _engine.FlowDecoder().take()
    assert records.schema.equals(EXPORT_RECORD_SCHEMA)
    paired = _engine.Pairer(0).push(records)
    for field in paired.schema:
        if field.name != "exporter":
            assert RECORD_SCHEMA.field(field.name).type == field.type, field.name
