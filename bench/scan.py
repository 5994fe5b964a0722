"""Throughput of minewatch's packet engine against ndpiReader, a bare libpcap loop and
NFStream (when it installs), on one generated mixed capture, in one run.

    .venv/bin/python bench/scan.py [--size 1.5GB] [--keep]

Prints packets/s and Gbit/s per CPU-second and wall time on all cores, ratios to
ndpiReader, and peak memory (max RSS) of each tool.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
PY = sys.executable


def timed(cmd: list[str]) -> tuple[float, float, float, str]:
    """Run `cmd`; return wall seconds, its CPU seconds, its own max RSS in MiB, stdout."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


ENGINE = """
import sys
from minewatch import _engine
from minewatch.sources.base import EngineOptions
from minewatch.model.schema import MESSAGE_SCHEMA
from minewatch.scan import dissect_messages
import pyarrow as pa
f, m, s = _engine.scan_file(sys.argv[1], EngineOptions().to_engine(), int(sys.argv[2]))
sessions = dissect_messages(pa.Table.from_batches(m, schema=MESSAGE_SCHEMA))
# RSS counts the mapped capture's pages; anonymous memory is what the flow state costs.
anon = next(ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("RssAnon"))
print(s.packets, sum(b.num_rows for b in f), len(sessions), f"anon {int(anon) // 1024} MiB")
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1.7GB")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mw-bench-"))
    cap = work / "mixed.pcap"
    t = time.perf_counter()
    subprocess.run(
        [
            str(Path(PY).parent / "minewatch"),
            "generate",
            str(cap),
            "--size",
            args.size,
            "--hosts",
            "5000",
            "--duration",
            "900",
        ],
        check=True,
    )
    print(f"generated {cap.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t:.0f} s")
    loop = work / "pcap_loop"
    subprocess.run(["gcc", "-O2", "-o", str(loop), str(HERE / "pcap_loop.c"), "-lpcap"], check=True)
    subprocess.run(["cat", str(cap)], check=True, stdout=subprocess.DEVNULL)  # warm the page cache
    rows = []
    wall, cpu, rss, out = timed([str(loop), str(cap)])
    packets = int(out.split()[0])
    rows.append(("libpcap loop", wall, cpu, rss))
    for workers in (1, os.cpu_count() or 1):
        wall, cpu, rss, out = timed([PY, "-c", ENGINE, str(cap), str(workers)])
        rows.append((f"minewatch engine+dissect, {workers} thread(s)", wall, cpu, rss))
        print("minewatch:", out.strip(), "(packets, flows, mining sessions, anonymous memory at end)")
    if shutil.which("ndpiReader"):
        wall, cpu, rss, _ = timed(["ndpiReader", "-i", str(cap), "-q"])
        rows.append(("ndpiReader", wall, cpu, rss))
    nfs = subprocess.run([PY, "-c", "import nfstream"], capture_output=True)
    if nfs.returncode == 0:
        code = f"import nfstream; print(sum(1 for _ in nfstream.NFStreamer(source={str(cap)!r}, n_meters=1)))"
        wall, cpu, rss, _ = timed([PY, "-c", code])
        rows.append(("NFStream", wall, cpu, rss))
    else:
        print("NFStream: not importable in this environment; not measured")
    size_bits = cap.stat().st_size * 8
    ndpi = next((r for r in rows if r[0] == "ndpiReader"), None)
    print(f"\n{packets} packets, {size_bits / 8e9:.2f} GB")
    print(
        f"{'tool':44} {'wall s':>7} {'cpu s':>7} {'Mpkt/s/cpu':>10} {'Gbit/s/cpu':>10} {'Mpkt/s wall':>11} {'RSS MiB':>8} {'x ndpi':>7}"
    )
    for name, wall, cpu, rss in rows:
        per_cpu = packets / cpu / 1e6
        ratio = f"{per_cpu / (packets / ndpi[2] / 1e6):.2f}" if ndpi else "-"
        print(
            f"{name:44} {wall:7.2f} {cpu:7.2f} {per_cpu:10.2f} {size_bits / cpu / 1e9:10.2f} {packets / wall / 1e6:11.2f} {rss:8.0f} {ratio:>7}"
        )
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
