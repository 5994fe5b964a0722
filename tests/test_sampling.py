"""Sampled flow export against a real sampling exporter: Debian's pmacct (pmacctd with its
nfprobe plugin) reads a capture, keeps 1 in N packets at random (`sampling_rate`), says so
in NetFlow v9 / IPFIX sampler options, and sends to the collector on loopback. The bytes
collected, scaled by the announced rate, must come within 5% of what the same exporter
counts unsampled; unsampled export keeps a rate of 1."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import socket
import struct
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from minewatch import _engine
from minewatch.collect import CollectOptions, Collector
from minewatch.detect.behaviour import flow_eligible
from minewatch.model.sampling import scaled_counts, scaled_rate
from minewatch.model.schema import RECORD_SCHEMA
from minewatch.scan import ScanOptions
from minewatch.store import Store
from tests.conftest import NDPI

PMACCTD = shutil.which("pmacctd") or "/usr/sbin/pmacctd"
needs_pmacct = pytest.mark.skipif(
    not Path(PMACCTD).exists(), reason="pmacct is not installed (scripts/setup)"
)

# Times pmacctd replays the merged capture: random 1-in-10 sampling of its 71,000 packets
# has a relative error of 2.7% (one standard deviation, from its packet sizes; see
# `sampling_error`), too close to 5%; ten replays bring it to 0.85%, so 5% is about six
# standard deviations.
REPLAYS = 10
RATE = 10
TOLERANCE = 0.05


def _pcap_records(path: Path) -> list[tuple[float, bytes, int]] | None:
    """(time, frame, original length) of a classic Ethernet pcap; None for anything else."""
    data = path.read_bytes()
    layouts = {
        b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
        b"\xa1\xb2\xc3\xd4": (">", 1e-6),
        b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
        b"\xa1\xb2\x3c\x4d": (">", 1e-9),
    }
    layout = layouts.get(data[:4])
    if layout is None or len(data) < 24 or struct.unpack(layout[0] + "I", data[20:24])[0] != 1:
        return None
    end, unit = layout
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(end + "IIII", data[off : off + 16])
        frame = data[off + 16 : off + 16 + incl]
        if len(frame) < incl or orig > 65_535:  # a fuzzer's capture claims 4 GB frames
            return None
        out.append((sec + frac * unit, frame, orig))
        off += 16 + incl
    return out


@pytest.fixture(scope="module")
def merged_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nDPI's classic Ethernet captures one after another in one file (in a temporary
    folder, never the repository), each shifted to start a second after the last ended
    (and none longer than an hour)."""
    path = tmp_path_factory.mktemp("sampling") / "ndpi-merged.pcap"
    clock = 1_700_000_000.0
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for capture in sorted((NDPI).glob("*.pcap")):
            records = _pcap_records(capture)
            if not records:
                continue
            start = records[0][0]
            for ts, frame, orig in records:
                at = clock + min(max(ts - start, 0.0), 3600.0)  # some span years
                out.write(struct.pack("<IIII", int(at), int(at % 1 * 1e6), len(frame), orig))
                out.write(frame)
            clock = at + 1.0
    return path


def sampling_error(capture: Path, rate: int, replays: int) -> float:
    """Relative standard deviation of the byte total that random 1-in-`rate` sampling of
    `replays` copies of the capture estimates: sqrt((rate - 1) * sum(b^2)) / sum(b)."""
    sizes = [orig for _, _, orig in _pcap_records(capture) or []]
    total, squares = sum(sizes) * replays, sum(s * s for s in sizes) * replays
    return math.sqrt((rate - 1) * squares) / total


def pmacct_export(capture: Path, port: int, version: int, rate: int, folder: Path) -> None:
    """pmacctd reads the capture `REPLAYS` times, samples 1 in `rate` packets and exports
    every flow to the collector, then exits (flushing its flow cache)."""
    config = folder / f"pmacctd-v{version}-{rate}.conf"
    lines = [
        "daemonize: false",
        f"pcap_savefile: {capture}",
        f"pcap_savefile_replay: {REPLAYS}",
        "plugins: nfprobe",
        f"nfprobe_receiver: 127.0.0.1:{port}",
        f"nfprobe_version: {version}",
        "aggregate: src_host, dst_host, src_port, dst_port, proto, tos",
    ]
    if rate > 1:
        lines.append(f"sampling_rate: {rate}")
    config.write_text("\n".join(lines) + "\n")
    subprocess.run([PMACCTD, "-f", str(config)], capture_output=True, check=True, timeout=120)


def _until_quiet(collector: Collector, bound_s: float = 20.0) -> None:
    """Until the collector has decoded no datagram for half a second (bounded): pmacctd
    has exited, but its last datagrams may still be on loopback or being decoded, and a
    loaded machine (CI runs tests two at a time) takes longer than a fixed pause."""
    deadline = time.monotonic() + bound_s
    seen = -1
    while time.monotonic() < deadline:
        now = collector.status().datagrams
        if now == seen:
            return
        seen = now
        time.sleep(0.5)


def collected(
    capture: Path, version: int, rate: int, folder: Path, unannounced: int = 1, store_only: bool = False
) -> tuple[int, set[float], int]:
    """(bytes, the sampling rates seen, malformed datagrams) of what the collector stored
    from pmacct's export; `unannounced`: the rate it assumes where none is announced."""
    store = folder / f"store-v{version}-{rate}-{unannounced}"
    options = CollectOptions(
        port=0,
        poll_s=0.2,
        window_s=3600,
        scan=ScanOptions(),
        unannounced_rate=unannounced,
        store_only=store_only,
    )
    collector = Collector(Store(store), options)
    worker = threading.Thread(target=collector.run, kwargs={"duration_s": 120})
    worker.start()
    try:
        pmacct_export(capture, collector.port, version, rate, folder)
        _until_quiet(collector)
    finally:
        collector.stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive()
    status = collector.status()
    assert not status.kernel_drops and not status.missing, f"datagrams lost on loopback: {status}"
    with Store(store).connect() as db:
        total = db.execute("SELECT sum(c2s_bytes + s2c_bytes) FROM flows").fetchone()
        rates = db.execute("SELECT DISTINCT sampling_rate FROM flows").fetchall()
    assert total is not None and total[0]
    return int(total[0]), {r[0] for r in rates}, collector.status().malformed


@pytest.fixture(scope="module")
def unsampled(merged_capture: Path, tmp_path_factory: pytest.TempPathFactory) -> int:
    """The bytes pmacct counts of the capture without sampling (the reference)."""
    total, rates, malformed = collected(merged_capture, 9, 1, tmp_path_factory.mktemp("unsampled"))
    assert rates == {1.0} and malformed == 0, "unsampled export keeps a rate of 1"
    return total


@needs_pmacct
@pytest.mark.parametrize("version", [9, 10])
def test_pmacct_export_read_directly_is_what_the_parser_reads(
    merged_capture: Path, version: int, tmp_path: Path
) -> None:
    """pmacct's real v9 and IPFIX export (its templates and options as it sends them),
    caught on a plain socket: data read without the parser once it has accepted their
    template give the parser's records and counters."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    got: list[bytes] = []
    done = threading.Event()

    def receive() -> None:
        while not done.is_set() and len(got) < 100_000:
            with contextlib.suppress(TimeoutError):
                got.append(sock.recv(65535))

    receiver = threading.Thread(target=receive)
    receiver.start()
    try:
        pmacct_export(merged_capture, sock.getsockname()[1], version, 1, tmp_path)
        time.sleep(1.0)
    finally:
        done.set()
        receiver.join(timeout=10)
        sock.close()
    direct, parsed = _engine.FlowDecoder(), _engine.FlowDecoder(direct=False)
    for d in got:
        direct.feed("127.0.0.1", 9995, d, 0)
        parsed.feed("127.0.0.1", 9995, d, 0)
    assert direct.totals.direct > len(got) // 2
    assert direct.take().equals(parsed.take())
    for name in ("datagrams", "records", "malformed", "no_template", "untimed"):
        assert getattr(direct.totals, name) == getattr(parsed.totals, name), name


@needs_pmacct
def test_the_margin_is_wide_enough(merged_capture: Path) -> None:
    assert sampling_error(merged_capture, RATE, REPLAYS) < TOLERANCE / 5


@needs_pmacct
@pytest.mark.parametrize("version", [9, 10])
def test_sampled_bytes_scaled_by_the_announced_rate_match_the_capture(
    merged_capture: Path, unsampled: int, version: int, tmp_path: Path
) -> None:
    total, rates, malformed = collected(merged_capture, version, RATE, tmp_path)
    assert rates == {float(RATE)}
    assert malformed == 0
    assert abs(total / unsampled - 1.0) < TOLERANCE, f"scaled {total} against {unsampled} unsampled"


@needs_pmacct
def test_unsampled_ipfix_keeps_rate_one(merged_capture: Path, unsampled: int, tmp_path: Path) -> None:
    total, rates, _ = collected(merged_capture, 10, 1, tmp_path)
    assert rates == {1.0}
    assert total == unsampled, "v9 and IPFIX count the same packets"


@needs_pmacct
@pytest.mark.parametrize("store_only", [False, True])
def test_an_assumed_rate_scales_what_announces_none(
    merged_capture: Path, unsampled: int, store_only: bool, tmp_path: Path
) -> None:
    """A router that samples without exporting its sampler options (`collect
    --sampling-rate N`, as nfcapd's -s N): pmacct's unsampled export announces no rate, so
    every flow takes the assumed one and its bytes are scaled by it, on both collectors."""
    total, rates, _ = collected(merged_capture, 9, 1, tmp_path, unannounced=RATE, store_only=store_only)
    assert rates == {float(RATE)}
    assert total == RATE * unsampled
    # The store's journal says the rate was assumed for this run, not announced.
    [journal] = (tmp_path / f"store-v9-1-{RATE}" / "writers").glob("*.json")
    assert json.loads(journal.read_text())["assumed_rate"] == RATE


@needs_pmacct
@pytest.mark.parametrize("version", [9, 10])
def test_an_announced_rate_wins_over_the_assumed_one(
    merged_capture: Path, unsampled: int, version: int, tmp_path: Path
) -> None:
    total, rates, _ = collected(merged_capture, version, RATE, tmp_path, unannounced=7 * RATE)
    assert rates == {float(RATE)}
    assert abs(total / unsampled - 1.0) < TOLERANCE, f"scaled {total} against {unsampled} unsampled"


def test_an_assumed_rate_out_of_range_is_refused() -> None:
    for bad in (0.0, 0.5, float("nan"), float("inf"), 2e6):
        with pytest.raises(ValueError, match="unannounced_rate: a sampling rate"):
            _engine.FlowDecoder(unannounced_rate=bad)
        with pytest.raises(ValueError, match="unannounced_rate: a sampling rate"):
            _engine.StoreCollector("127.0.0.1", 0, unannounced_rate=bad)
        with pytest.raises(ValueError, match="unannounced_rate: a sampling rate"):
            _engine.Collector("127.0.0.1", 0, unannounced_rate=bad)


def _record(rate: float, c2s: int, s2c: int) -> pa.Table:
    first = datetime(2026, 11, 27, tzinfo=UTC)
    row = {
        "ip_proto": 6,
        "first_seen": first,
        "last_seen": first + timedelta(minutes=10),
        "c2s_bursts": None,
        "application": None,
        "c2s_packets": c2s,
        "s2c_packets": s2c,
        "sampling_rate": rate,
    }
    schema = pa.schema([RECORD_SCHEMA.field(n) for n in row])
    return pa.Table.from_pylist([row], schema)


@pytest.mark.parametrize(
    ("rate", "c2s", "s2c", "judged"),
    [
        (1.0, 10, 10, True),
        (10.0, 100, 100, True),  # 10 sampled packets each way
        (10.0, 90, 100, False),  # 9 sampled: too few to judge
        (100.0, 5000, 5000, True),
        (1000.0, 50_000, 50_000, False),  # beyond MAX_FLOW_MODEL_RATE: withheld
    ],
)
def test_flow_model_judges_sampled_records_only_with_enough_sampled_packets(
    rate: float, c2s: int, s2c: int, judged: bool
) -> None:
    assert flow_eligible(_record(rate, c2s, s2c)).to_pylist() == [judged]


@pytest.mark.parametrize(("rate", "clause"), [(None, False), (1.0, False), (10.0, True), (2.5, True)])
def test_scaled_counts_clause_reads_back(rate: float | None, clause: bool) -> None:
    text = "flow record ..." + scaled_counts(rate)
    assert scaled_rate(text) == (rate if clause else None)
