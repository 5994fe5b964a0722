"""Detection throughput over flow records in Parquet, against nfdump filtering the same
records, and a DuckDB join against the same 5,000 listed addresses, in one run.

    .venv/bin/python bench/flows.py [--records 20000000] [--unique 2000000] [--keep]

The records are made once as NetFlow v5 datagrams and given to both sides: nfcapd (from
Debian's nfdump) receives them on loopback and writes its file; minewatch's decoder reads
the same datagrams and writes them as flow records in Parquet (FLOW_SCHEMA). Each file is
then repeated until there are --records records on each side. Prints records per second
per CPU-second (all threads of the process, start-up included), wall rates on two
processes, peak anonymous memory, and the ratios the issue sets as targets.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from scan import Run, timed  # noqa: E402  (bench/scan.py's measuring helper)

LISTED = 5000
BATCH = 262_144
POOL_PORT_SHARE = 0.002  # records to port 3333 (the port filter's hits)
LISTED_SHARE = 0.01  # records to a listed address
MINERS = 4502  # hosts behind them (the bulletin's count of mining IPs)
CLIENTS = 200_000
SERVERS = 1_000_000


def make_records(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n one-way v5 records (big-endian structured array) and the listed addresses."""
    rng = np.random.default_rng(seed)
    v5 = np.dtype(
        [
            ("src", ">u4"),
            ("dst", ">u4"),
            ("nexthop", ">u4"),
            ("input", ">u2"),
            ("output", ">u2"),
            ("packets", ">u4"),
            ("bytes", ">u4"),
            ("first", ">u4"),
            ("last", ">u4"),
            ("sport", ">u2"),
            ("dport", ">u2"),
            ("pad1", "u1"),
            ("flags", "u1"),
            ("proto", "u1"),
            ("tos", "u1"),
            ("src_as", ">u2"),
            ("dst_as", ">u2"),
            ("src_mask", "u1"),
            ("dst_mask", "u1"),
            ("pad2", ">u2"),
        ]
    )
    assert v5.itemsize == 48
    r = np.zeros(n, v5)
    listed = rng.integers(0x0B000000, 0xDF000000, LISTED, dtype=np.uint64).astype(np.uint32)
    # Many records per host, as in a real network: CLIENTS subscribers, SERVERS servers.
    clients = rng.integers(0x0A000000, 0x0AFFFFFF, CLIENTS, dtype=np.uint64)
    servers = rng.integers(0x0B000000, 0xDF000000, SERVERS, dtype=np.uint64)
    r["src"] = rng.choice(clients, n)
    r["dst"] = rng.choice(servers, n)
    # The listed traffic comes from MINERS hosts, each talking to one listed pool, in many
    # flow records (reconnects, active-timeout re-exports), as a province's miners would.
    hit = rng.random(n) < LISTED_SHARE
    miner_src = rng.integers(0x0A000000, 0x0AFFFFFF, MINERS, dtype=np.uint64).astype(np.uint32)
    miner_pool = rng.choice(listed, MINERS)
    who = rng.integers(0, MINERS, hit.sum())
    r["src"][hit] = miner_src[who]
    r["dst"][hit] = miner_pool[who]
    r["sport"] = rng.integers(32768, 61000, n)
    r["sport"][hit] = 40000  # a miner's one long connection, re-exported
    r["dport"] = rng.choice(np.array([443, 80, 53, 8080, 993], np.uint16), n)
    r["dport"][rng.random(n) < POOL_PORT_SHARE] = 3333
    r["proto"] = 6
    r["flags"] = 0x1B
    r["packets"] = np.maximum(1, rng.lognormal(3, 1.5, n)).astype(np.uint32)
    r["bytes"] = r["packets"] * rng.integers(60, 1400, n).astype(np.uint32)
    # Uptime ms within the hour before the export's uptime of 4,000,000 ms.
    r["first"] = rng.integers(400_000, 3_000_000, n)
    r["last"] = r["first"] + rng.integers(0, 900_000, n).astype(np.uint32)
    return r, listed


def datagrams(records: np.ndarray) -> list[bytes]:
    out = []
    for seq, start in enumerate(range(0, len(records), 30)):
        chunk = records[start : start + 30]
        head = np.array(
            [(5, len(chunk), 4_000_000, 1_790_000_000, 0, start, 0, 0, 0)],
            np.dtype(
                [
                    ("v", ">u2"),
                    ("c", ">u2"),
                    ("up", ">u4"),
                    ("s", ">u4"),
                    ("ns", ">u4"),
                    ("seq", ">u4"),
                    ("et", "u1"),
                    ("ei", "u1"),
                    ("si", ">u2"),
                ]
            ),
        )
        del seq
        out.append(head.tobytes() + chunk.tobytes())
    return out


IPFIX_PER_MESSAGE = 25  # 54- (IPFIX) or 46-byte (v9) records: under a 1,500-byte MTU
# Template 256 as a carrier router's: addresses, ports, protocol, TCP flags, packets and
# bytes in 8 bytes, interfaces, then start and end: IPFIX in milliseconds since 1970, v9
# in milliseconds of uptime (4 bytes).
TEMPLATE_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 8), (1, 8), (10, 4), (14, 4)]
TIME_FIELDS = {10: [(152, 8), (153, 8)], 9: [(22, 4), (21, 4)]}


def ipfix_messages(records: np.ndarray, version: int = 10) -> list[bytes]:
    """The same flows as `datagrams` makes, as IPFIX (or, version 9, NetFlow v9): a
    message with the template first (a sender going round the list resends it once a
    round, as exporters do now and then), then data messages of IPFIX_PER_MESSAGE records."""
    export_ms = 1_790_000_000_000
    uptime_ms = 4_000_000  # the v5 header's, which `first` and `last` count from
    time = ">u8" if version == 10 else ">u4"
    rec = np.zeros(
        len(records),
        np.dtype(
            [
                ("src", ">u4"),
                ("dst", ">u4"),
                ("sport", ">u2"),
                ("dport", ">u2"),
                ("proto", "u1"),
                ("flags", "u1"),
                ("packets", ">u8"),
                ("bytes", ">u8"),
                ("input", ">u4"),
                ("output", ">u4"),
                ("start", time),
                ("end", time),
            ]
        ),
    )
    fields = TEMPLATE_FIELDS + TIME_FIELDS[version]
    assert rec.itemsize == sum(length for _, length in fields)
    for name in ("src", "dst", "sport", "dport", "proto", "flags", "packets", "bytes"):
        rec[name] = records[name]
    rec["input"], rec["output"] = 1, 2
    if version == 10:
        rec["start"] = export_ms - (uptime_ms - records["first"].astype(np.uint64))
        rec["end"] = export_ms - (uptime_ms - records["last"].astype(np.uint64))
    else:
        rec["start"], rec["end"] = records["first"], records["last"]

    def message(seq: int, set_id: int, body: bytes, count: int) -> bytes:
        sets = struct.pack("!HH", set_id, 4 + len(body)) + body
        if version == 10:
            return struct.pack("!HHIII", 10, 16 + len(sets), export_ms // 1000, seq, 0) + sets
        return struct.pack("!HHIIII", 9, count, uptime_ms, export_ms // 1000, seq, 0) + sets

    template = struct.pack("!HH", 256, len(fields)) + b"".join(struct.pack("!HH", t, n) for t, n in fields)
    out = [message(0, 2 if version == 10 else 0, template, 1)]
    for start in range(0, len(rec), IPFIX_PER_MESSAGE):
        chunk = rec[start : start + IPFIX_PER_MESSAGE]
        # IPFIX counts records before the message; v9 counts packets.
        seq = start if version == 10 else len(out)
        out.append(message(seq, 256, chunk.tobytes(), len(chunk)))
    return out


def nfcapd_file(grams: list[bytes], folder: Path) -> Path:
    """nfcapd receives the datagrams on loopback, paced so nothing is lost."""
    folder.mkdir(parents=True)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    proc = subprocess.Popen(
        ["nfcapd", "-w", str(folder), "-b", "127.0.0.1", "-p", str(port), "-B", "33554432", "-t", "3600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i, g in enumerate(grams):
        out.sendto(g, ("127.0.0.1", port))
        if i % 500 == 499:
            time.sleep(0.01)
    time.sleep(2.0)
    proc.terminate()
    proc.wait(timeout=60)
    files = [p for p in folder.iterdir() if p.name.startswith("nfcapd.") and "current" not in p.name]
    if len(files) != 1:
        raise SystemExit(f"nfcapd wrote {len(files)} files in {folder}")
    return files[0]


def parquet_file(grams: list[bytes], path: Path) -> int:
    """minewatch's decoder on the same datagrams; one-way records written as the store
    writes flow records (random records have no reverse, so one record each, as in
    nfdump's file)."""
    from minewatch import _engine
    from minewatch.model.schema import FLOW_SCHEMA, MINING_TYPE
    from minewatch.sources.flowexport import pair_records
    from minewatch.store import with_address_numbers

    decoder = _engine.FlowDecoder()
    for g in grams:
        decoder.feed("127.0.0.1", 2055, g, 0)
    flows = pair_records(pa.Table.from_batches([decoder.take()]))
    n = flows.num_rows
    flows = flows.append_column("source", pa.repeat(pa.scalar("bench"), n))
    flows = flows.append_column("server_name", pa.nulls(n, pa.string()))
    flows = flows.append_column("mining", pa.nulls(n, MINING_TYPE))
    # As the store writes them (minewatch.store): with the numeric address columns.
    stored = with_address_numbers(flows.cast(FLOW_SCHEMA))
    pq.write_table(stored, path, row_group_size=BATCH, compression="lz4")
    return n


def nfdump_rate(name: str, folder: Path, flt: str, records: int) -> tuple[Run, float]:
    run = timed(name, ["nfdump", "-R", str(folder), "-q", "-o", "csv", flt])
    return run, records / run.cpu


# --- the minewatch side, run as its own process ---------------------------------------------


def _detect_file(args: tuple[str, str, str, int]) -> int:
    paths, which, listed_path, threads = args
    from minewatch.detect.registry import by_name
    from minewatch.detect.stored import detect_stored
    from minewatch.intel.indicators import parse_indicator_file

    intel = parse_indicator_file(Path(listed_path))
    chosen = [*by_name("intel-server-ip", "intel-server-name", "intel-dns-query")]
    if which == "intel+behaviour":
        chosen.extend(by_name("behaviour-flow-counters"))
    files = [Path(p) for p in paths.split(",")]
    return sum(1 for _ in detect_stored(files, intel, threads=threads, chosen=chosen))


def detect(folder: Path, which: str, listed: Path, workers: int, first: int | None) -> None:
    """One process; DuckDB reads on `workers` threads, the detectors run on the rows it
    keeps. `first`: only that many of the files."""
    files = ",".join(sorted(str(p) for p in folder.glob("*.parquet"))[:first])
    print(_detect_file((files, which, str(listed), workers)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000_000)
    parser.add_argument("--unique", type=int, default=2_000_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--detect", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--which", default="intel", help=argparse.SUPPRESS)
    parser.add_argument("--listed", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)  # DuckDB threads
    args = parser.parse_args()
    if args.detect:
        detect(args.detect, args.which, args.listed, args.workers, args.first)
        return 0
    if shutil.which("nfcapd") is None:
        raise SystemExit("bench/flows.py needs nfdump (Debian package nfdump): scripts/setup installs it")
    copies = max(1, -(-args.records // args.unique))
    work = Path(tempfile.mkdtemp(prefix="minewatch-flows-"))
    try:
        t = time.perf_counter()
        records, listed = make_records(args.unique, 1)
        grams = datagrams(records)
        nf = nfcapd_file(grams, work / "nfcapd-src")
        nf_dir, pq_dir = work / "nfdump", work / "parquet"
        nf_dir.mkdir()
        pq_dir.mkdir()
        n = parquet_file(grams, pq_dir / "part-0.parquet")
        for i in range(copies):
            shutil.copy(nf, nf_dir / f"nfcapd.20261124{i:04d}")
            if i:
                shutil.copy(pq_dir / "part-0.parquet", pq_dir / f"part-{i}.parquet")
        total = n * copies
        nf_count = int(
            subprocess.run(
                ["nfdump", "-r", str(nf), "-q", "-o", "csv"], capture_output=True, check=True
            ).stdout.count(b"\n")
        )
        listed_path = work / "listed.txt"
        listed_path.write_text(
            "".join(
                f"{int(a) >> 24}.{int(a) >> 16 & 255}.{int(a) >> 8 & 255}.{int(a) & 255}\n" for a in listed
            )
        )
        print(
            f"made {n:,} records ({nf_count:,} in nfdump's file) x {copies} = {total:,} each side "
            f"in {time.perf_counter() - t:.0f} s; Parquet {sum(p.stat().st_size for p in pq_dir.iterdir()) / 1e6:.0f} MB, "
            f"nfdump {sum(p.stat().st_size for p in nf_dir.iterdir()) / 1e6:.0f} MB"
        )
        if nf_count != n:
            print(f"warning: nfcapd stored {nf_count} records of {n}")
        ip_list = " ".join(line for line in listed_path.read_text().split())
        rows: list[tuple[Run, float, str]] = []
        port_run, port_rate = nfdump_rate("nfdump port filter", nf_dir, "dst port 3333", total)
        rows.append((port_run, port_rate, "`dst port 3333`"))
        ip_run, ip_rate = nfdump_rate("nfdump address list", nf_dir, f"dst ip in [ {ip_list} ]", total)
        rows.append((ip_run, ip_rate, "`dst ip in [5,000 addresses]`"))
        duck = (
            "import duckdb,sys; db=duckdb.connect(); db.execute('SET threads=1');"
            f"db.execute(\"CREATE TABLE ips AS SELECT column0 AS ip FROM read_csv('{listed_path}', header=false)\");"
            f"print(db.execute(\"SELECT count(*) FROM read_parquet('{pq_dir}/*.parquet') f JOIN ips ON f.server_ip = ips.ip\").fetchone()[0])"
        )
        duck_run = timed("DuckDB join, 1 thread", [sys.executable, "-c", duck])
        rows.append((duck_run, total / duck_run.cpu, "join with 5,000 addresses"))
        me = [sys.executable, __file__, "--detect", str(pq_dir), "--listed", str(listed_path)]
        intel_run = timed("minewatch intel", [*me, "--which", "intel"])
        rows.append((intel_run, total / intel_run.cpu, "address, name and DNS indicators; 1 process"))
        both_run = timed("minewatch intel + behaviour", [*me, "--which", "intel+behaviour"])
        rows.append((both_run, total / both_run.cpu, "plus the flow behavioural score; 1 process"))
        both2 = timed(
            "minewatch intel + behaviour, 2 threads", [*me, "--which", "intel+behaviour", "--workers", "2"]
        )
        rows.append((both2, total / both2.cpu, "DuckDB reading on 2 threads"))
        # One file of the ten: start-up apart (marginal rate), and memory against length.
        one = timed(
            "minewatch intel + behaviour, 1 file", [*me, "--which", "intel+behaviour", "--first", "1"]
        )
        marginal = (total - n) / (both_run.cpu - one.cpu)
        print(
            f"\n{total:,} flow records each; rates in M records per CPU-second (all threads, start-up included)\n"
        )
        print("| tool | M records/s per CPU-s | wall s | M records/s wall | peak anon MiB | hits | note |")
        print("|---|---|---|---|---|---|---|")
        for run, rate, note in rows:
            hits = (
                run.out.strip().count("\n") + 1
                if "nfdump" in run.name and run.out.strip()
                else run.out.strip()
            )
            print(
                f"| {run.name} | {rate / 1e6:.1f} | {run.wall:.2f} | {total / run.wall / 1e6:.1f} | "
                f"{run.anon_mib:.0f} | {hits} | {note} |"
            )
        print(f"\nintel matching / nfdump port filter: {rows[3][1] / port_rate:.2f} (target at least 0.6)")
        print(f"intel matching / nfdump address-list filter: {rows[3][1] / ip_rate:.2f}")
        print(
            f"intel + behaviour, marginal rate beyond start-up ({one.cpu:.2f} CPU-s for {n:,} records): "
            f"{marginal / 1e6:.1f} M records/s per CPU-s, {marginal / port_rate:.2f} of nfdump's port filter"
        )
        print(f"intel + behaviour on two cores: {total / both2.wall / 1e6:.1f} M records/s wall (target 10)")
        print(
            f"memory: {one.anon_mib:.0f} MiB peak for {n:,} records, {both_run.anon_mib:.0f} MiB for {total:,} "
            f"(batches of {BATCH:,})"
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
