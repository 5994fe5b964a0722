"""Throughput and memory of minewatch's packet path against ndpiReader, a bare libpcap
loop and NFStream (when it installs), on one generated mixed capture, in one run.

    .venv/bin/python bench/scan.py [--size 1.7GB] [--keep]

Prints packets/s and Gbit/s per CPU-second and wall time on all cores, ratios to
ndpiReader, and peak anonymous memory of each tool (sampled from /proc; the mapped
capture's page cache is not counted). Then scans a capture a quarter as long with the
same hosts and traffic mix: peak memory must follow the flows open at once, not length.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
PY = sys.executable
MINEWATCH = str(Path(PY).parent / "minewatch")
HOSTS = 5000
DURATION_S = 900


@dataclass(frozen=True)
class Run:
    name: str
    wall: float
    cpu: float
    anon_mib: float
    out: str


def _anon_kib(pid: int) -> int:
    try:
        with Path(f"/proc/{pid}/status").open() as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(name: str, cmd: list[str]) -> Run:
    """Run `cmd`; its wall and CPU seconds (all threads), peak anonymous memory, stdout."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _anon_kib(proc.pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    wall = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return Run(name, wall, usage.ru_utime + usage.ru_stime, peak[0] / 1024, out)


# The engine alone, timed inside the process: interpreter start-up and imports excluded.
ENGINE = """
import resource, sys, time
from pathlib import Path
from minewatch.sources import EngineOptions, FileCapture
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
opts = EngineOptions(workers=int(sys.argv[2]), parallel_min_bytes=0)
c0, w0 = cpu(), time.perf_counter()
rows = sum(b.num_rows for kind, b in FileCapture(Path(sys.argv[1]), opts).batches() if kind == "flows")
print(time.perf_counter() - w0, cpu() - c0, rows)
"""


def generate(path: Path, size: str, duration: int) -> None:
    cmd = [
        MINEWATCH,
        "generate",
        str(path),
        "--size",
        size,
        "--hosts",
        str(HOSTS),
        "--duration",
        str(duration),
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def table(rows: list[Run], packets: int, size_bits: int) -> None:
    ndpi = next((r for r in rows if r.name.startswith("ndpiReader")), None)
    print(f"\n{packets} packets, {size_bits / 8e9:.2f} GB")
    head = f"{'tool':52} {'wall s':>7} {'CPU s':>7} {'Mpkt/s/CPU':>10} {'Gbit/s/CPU':>10}"
    print(head + f" {'Mpkt/s wall':>11} {'anon MiB':>8} {'x ndpi':>7}")
    for r in rows:
        per_cpu = packets / r.cpu / 1e6
        ratio = f"{per_cpu / (packets / ndpi.cpu / 1e6):.2f}" if ndpi else "-"
        print(
            f"{r.name:52} {r.wall:7.2f} {r.cpu:7.2f} {per_cpu:10.2f} {size_bits / r.cpu / 1e9:10.2f}"
            f" {packets / r.wall / 1e6:11.2f} {r.anon_mib:8.0f} {ratio:>7}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1.7GB")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mw-bench-"))
    cap = work / "mixed.pcap"
    t = time.perf_counter()
    generate(cap, args.size, DURATION_S)
    print(f"generated {cap.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t:.0f} s")
    loop = work / "pcap_loop"
    subprocess.run(["gcc", "-O2", "-o", str(loop), str(HERE / "pcap_loop.c"), "-lpcap"], check=True)
    subprocess.run(["cat", str(cap)], check=True, stdout=subprocess.DEVNULL)  # warm the page cache
    cores = len(os.sched_getaffinity(0))
    rows = [timed("libpcap loop (the limit)", [str(loop), str(cap)])]
    packets = int(rows[0].out.split()[0])
    for workers in sorted({1, cores}):
        r = timed("engine", [PY, "-c", ENGINE, str(cap), str(workers)])
        wall, cpu, _ = r.out.split()
        rows.append(
            Run(f"minewatch engine alone, {workers} thread(s)", float(wall), float(cpu), r.anon_mib, "")
        )
    for workers in sorted({1, cores}):
        cmd = [MINEWATCH, "scan", str(cap), "--json", "--threads", str(workers)]
        r = timed(f"minewatch scan --json (whole process), {workers} thread(s)", cmd)
        rows.append(r)
        print(f"minewatch scan, {workers} thread(s): {len(r.out.splitlines())} findings")
    if shutil.which("ndpiReader"):
        rows.append(timed("ndpiReader", ["ndpiReader", "-i", str(cap), "-q"]))
    nfs = subprocess.run([PY, "-c", "import nfstream"], capture_output=True)
    if nfs.returncode == 0:
        code = f"import nfstream; print(sum(1 for _ in nfstream.NFStreamer(source={str(cap)!r}, n_meters=1)))"
        rows.append(timed("NFStream", [PY, "-c", code]))
    else:
        print("NFStream: not importable in this environment; not measured")
    table(rows, packets, cap.stat().st_size * 8)

    # Same hosts and mix, a quarter of the length: peak memory should hardly move.
    short = work / "short.pcap"
    quarter = f"{int(cap.stat().st_size / 4)}B"
    generate(short, quarter, DURATION_S // 4)
    print("\npeak anonymous memory of `minewatch scan --json --threads 1` against capture length")
    for path in (short, cap):
        r = timed("scan", [MINEWATCH, "scan", str(path), "--json", "--threads", "1"])
        print(
            f"  {path.stat().st_size / 1e9:5.2f} GB, {DURATION_S if path == cap else DURATION_S // 4:4d} s: {r.anon_mib:5.0f} MiB"
        )
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
