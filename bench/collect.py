"""The NetFlow collector under load on loopback, beside nfcapd receiving the same datagrams.

    .venv/bin/python bench/collect.py [--rates 20000,50000,100000,150000] [--seconds 3] [--no-inline]
        [--format v5|v9|ipfix]

For each offered rate (datagrams per second: NetFlow v5 of 30 records, or with
--format v9 or ipfix export packets of 25 records as a carrier router's template has
them, the template resent once a round of the list; sent by a separate
process, paced every 10 ms, bounded in count and time) it runs minewatch's collector with
its detectors, then store-first (`collect --store-only`: decode, pair, write), then
nfcapd, and prints what each took in, stored and dropped. A rate is loss-free for a
receiver when it stored every record sent. The sender shares this 2-core machine with the receiver, so the top rates
measure the machine as much as the receivers.

Store-first runs entirely in the engine (socket, decode, pairing, Parquet); the "per core"
figures are records per CPU-second of this process (all its threads, from the collector's
start to its stop, so receiving on loopback included), live and in-process without a
socket (`_engine.store_datagrams`: decode, pair, build, encode, fsync).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import Process
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from flows import datagrams, ipfix_messages, make_records  # noqa: E402


def send(port: int, rate: int, seconds: float, grams: list[bytes]) -> None:
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    per_tick = max(1, rate // 100)
    start = time.perf_counter()
    sent = 0
    while sent < rate * seconds:
        for _ in range(per_tick):
            out.sendto(grams[sent % len(grams)], ("127.0.0.1", port))
            sent += 1
        lag = start + sent / rate - time.perf_counter()
        if lag > 0:
            time.sleep(lag)
    out.close()


def free_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


def run_minewatch(
    rate: int, seconds: float, grams: list[bytes], store_only: bool = False
) -> tuple[int, int, int, int]:
    """Datagrams decoded, dropped for memory, dropped by the kernel; and flows analysed
    (with detection) or one-way records in the store's files (store-only)."""
    import pyarrow.parquet as pq

    from minewatch.collect import CollectOptions, Collector
    from minewatch.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        options = CollectOptions(port=0, poll_s=0.5, window_s=3600, store_only=store_only)
        collector = Collector(Store(Path(tmp)), options)
        cpu = time.process_time()  # this process's threads only: the sender is another process
        worker = threading.Thread(target=collector.run, kwargs={"duration_s": seconds + 30})
        worker.start()
        sender = Process(target=send, args=(collector.port, rate, seconds, grams))
        sender.start()
        sender.join()
        time.sleep(2.0)
        collector.stop.set()
        worker.join()
        cpu = time.process_time() - cpu
        st = collector.status()
        if not store_only:
            return st.datagrams, st.overflow, st.kernel_drops or 0, st.flows
        # Every record is a flow of its own here (a one-way export): rows are records.
        stored = sum(pq.read_metadata(p).num_rows for p in Path(tmp).glob("flows/*/*/part-*.parquet"))
        CPU_RATES.append(stored / cpu if cpu else 0.0)
        FOLLOW_RATES.append(follow_rate(Path(tmp)))
        return st.datagrams, st.overflow, st.kernel_drops or 0, stored


FOLLOW_RATES: list[float] = []
CPU_RATES: list[float] = []  # store-only: records stored per CPU-second of the collector


def store_first_rate(grams: list[bytes]) -> float:
    """Records per CPU-second of the engine's store-first path without a socket: decode,
    pair, build the stored columns, encode Parquet, fsync and rename (`store_datagrams`)."""
    from minewatch import _engine
    from minewatch.store import STORED_FLOW_SCHEMA, STORED_FLOW_VERSION

    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        records, _, _ = _engine.store_datagrams(
            grams, tmp, "bench", STORED_FLOW_SCHEMA, STORED_FLOW_VERSION, "netflow://bench"
        )
        cpu = time.process_time() - cpu
    return records / cpu


def follow_rate(store: Path) -> float:
    """Records/s that `detect --follow` detects over the store's new files (one window)."""
    from minewatch.follow import Follower, FollowOptions
    from minewatch.intel.indicators import load_default
    from minewatch.store import Store

    follower = Follower(Store(store), FollowOptions(intel=load_default([])))
    follower.step()
    st = follower.status()
    return st.records / st.busy_s if st.busy_s else 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process, all its threads (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_nfcapd(rate: int, seconds: float, grams: list[bytes]) -> int:
    """Records nfcapd stored; its records per CPU-second go to NFCAPD_CPU_RATES."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = subprocess.Popen(
            ["nfcapd", "-w", tmp, "-b", "127.0.0.1", "-p", str(port), "-B", "8388608", "-t", "3600"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        sender = Process(target=send, args=(port, rate, seconds, grams))
        sender.start()
        sender.join()
        time.sleep(2.0)
        cpu = cpu_seconds(proc.pid)
        proc.terminate()
        proc.wait(timeout=60)
        [f] = [p for p in Path(tmp).iterdir() if p.name.startswith("nfcapd.") and "current" not in p.name]
        out = subprocess.run(
            ["nfdump", "-r", str(f), "-I"], capture_output=True, text=True, check=True
        ).stdout
        records = next(int(line.split(":")[1]) for line in out.splitlines() if line.startswith("Flows:"))
        NFCAPD_CPU_RATES.append(records / cpu if cpu else 0.0)
        return records


NFCAPD_CPU_RATES: list[float] = []  # nfcapd: records stored per CPU-second of its process


def engine_rates(grams: list[bytes]) -> tuple[float, float]:
    """Records/s of the decoder alone (fed from Python, datagram by datagram) and of the
    pairer alone, on the same datagrams."""
    import pyarrow as pa

    from minewatch import _engine

    decoder = _engine.FlowDecoder()
    t = time.perf_counter()
    for _ in range(5):
        for g in grams:
            decoder.feed("127.0.0.1", 2055, g, 0)
    decode_s = time.perf_counter() - t
    records = pa.Table.from_batches([decoder.take()]).slice(0, 262_144).combine_chunks().to_batches()[0]
    t = time.perf_counter()
    _engine.Pairer(0).push(records)
    pair_s = time.perf_counter() - t
    return decoder.totals.records / decode_s, records.num_rows / pair_s


def main() -> int:
    import logging

    logging.disable(logging.WARNING)  # sequence gaps from the replayed datagrams
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="20000,50000,100000,150000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--no-inline",
        action="store_true",
        help="skip the collector with in-line detection (its run leaves this process busier)",
    )
    parser.add_argument("--format", choices=("v5", "v9", "ipfix"), default="v5")
    args = parser.parse_args()
    records, _ = make_records(300_000, 2)
    if args.format == "v5":
        grams = datagrams(records)
    else:
        grams = ipfix_messages(records, 9 if args.format == "v9" else 10)
    per = len(records) / len(grams)  # records a datagram, on average over a round
    decode_rate, pair_rate = engine_rates(grams)
    print(
        f"engine alone: decoder {decode_rate:,.0f} records/s (fed from Python), pairer {pair_rate:,.0f} records/s"
    )
    print(
        f"store-first in-process (decode, pair, Parquet, no socket): {store_first_rate(grams):,.0f} records per CPU-second"
    )
    print(f"{args.format} datagrams, {per:.2f} records each on average")
    print(
        "| offered datagrams/s (records/s) | sent datagrams | with detection: datagrams decoded | "
        "dropped: memory / kernel | store-only: records stored | dropped: memory / kernel | "
        "store-only records per CPU-second | detect --follow records/s | nfcapd records stored | "
        "nfcapd records per CPU-second | store-only per core, of nfcapd's |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for rate in (int(r) for r in args.rates.split(",")):
        sent = int(rate * args.seconds)
        offered = sent * per  # records
        inline = "- | - |"
        if not args.no_inline:
            decoded, overflow, kernel, _ = run_minewatch(rate, args.seconds, grams)
            inline = f"{decoded:,} ({decoded / sent:.0%}) | {overflow:,} / {kernel:,} |"
        _, s_overflow, s_kernel, s_records = run_minewatch(rate, args.seconds, grams, store_only=True)
        stored = run_nfcapd(rate, args.seconds, grams)
        print(
            f"| {rate:,} ({rate * per:,.0f}) | {sent:,} | {inline} "
            f"{s_records:,} ({s_records / offered:.0%}) | {s_overflow:,} / {s_kernel:,} | "
            f"{CPU_RATES[-1]:,.0f} | {FOLLOW_RATES[-1]:,.0f} | {stored:,} ({stored / offered:.0%}) | "
            f"{NFCAPD_CPU_RATES[-1]:,.0f} | {CPU_RATES[-1] / max(NFCAPD_CPU_RATES[-1], 1.0):.0%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
