"""End-to-end precision and recall of `minewatch scan` on the corpora, against nDPI.

    .venv/bin/python bench/precision.py --corpus /work/corpus/benign --corpus /work/corpus/mining [--ndpi]

Every capture of each corpus (made by `python -m corpus.benign` / `python -m corpus.mining`)
is scanned with the whole pipeline, as a user would: every detector, fusion, the shipped
models. A session is a TCP connection of a minute or more (to the pool's port, in the
mining corpus); it counts as flagged when any mining evidence names its connection.
Prints, per program and in all: sessions, flagged, the rate per 10,000 with its one-sided
95% upper bound (benign), recall (mining, TLS and plain apart), and the same for
ndpiReader (Debian's libndpi-bin) where `--ndpi` asks for it: its flows whose protocol is
"Mining".
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from minewatch.model.findings import Activity  # noqa: E402
from minewatch.scan import ScanOptions, scan_paths  # noqa: E402
from minewatch.sources.base import EngineOptions  # noqa: E402
from minewatch.sources.pcap import read_tables  # noqa: E402
from train_behaviour import corpus_captures, long_sessions, upper95  # noqa: E402


@dataclass
class Tally:
    sessions: int = 0
    flagged: int = 0
    ndpi_flagged: int = 0

    def add(self, other: Tally) -> None:
        self.sessions += other.sessions
        self.flagged += other.flagged
        self.ndpi_flagged += other.ndpi_flagged


def _ndpi_mining(path: Path) -> set[tuple[str, int, str, int]]:
    """Client and server endpoints of the flows ndpiReader calls Mining."""
    out = subprocess.run(["ndpiReader", "-i", str(path), "-v", "2", "-q"], capture_output=True, text=True)
    found = set()
    for line in out.stdout.splitlines():
        if "Mining" not in line:
            continue
        m = re.search(r"TCP\s+\[?([\d.]+)\]?:(\d+)\s+<?->\s+\[?([\d.]+)\]?:(\d+)", line)
        if m:
            a, ap, b, bp = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
            found |= {(a, ap, b, bp), (b, bp, a, ap)}
    return found


def tally(path: Path, port: int | None, ndpi: bool) -> Tally:
    flows, _, _ = read_tables(path, EngineOptions(workers=1))
    sessions = long_sessions(flows, port)
    result = scan_paths([path], ScanOptions(engine=EngineOptions(workers=1)))
    flagged_conns = {
        ev.conn_id
        for f in result.findings
        if f.activity == Activity.MINING
        for ev in f.evidence
        if ev.conn_id is not None
    }
    ids = set(sessions["conn_id"].to_pylist())
    t = Tally(len(ids), len(ids & flagged_conns))
    # Evidence keeps only the strongest reasons: a host flagged without a connection named
    # counts all its sessions to the flagged pools.
    rows = sessions.to_pylist()
    for f in result.findings:
        if f.activity == Activity.MINING and not any(ev.conn_id in ids for ev in f.evidence):
            pools = {(p.ip, p.port) for p in f.pools}
            t.flagged += sum(
                1 for r in rows if r["client_ip"] == f.host and (r["server_ip"], r["server_port"]) in pools
            )
    if ndpi:
        mining = _ndpi_mining(path)
        t.ndpi_flagged = sum(
            1 for r in rows if (r["client_ip"], r["client_port"], r["server_ip"], r["server_port"]) in mining
        )
    return t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, action="append", required=True)
    parser.add_argument("--ndpi", action="store_true", help="also run ndpiReader (libndpi-bin)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.ndpi and shutil.which("ndpiReader") is None:
        parser.error("--ndpi: ndpiReader not found (apt-get install libndpi-bin)")
    report: dict[str, object] = {}
    for root in args.corpus:
        kind, captures = corpus_captures(root)
        by: dict[str, Tally] = {}
        for c in captures:
            key = f"{c.family} ({'tls' if c.tls else 'plain'})" if kind == "mining" else c.family
            by.setdefault(key, Tally()).add(tally(c.path, c.server_port, args.ndpi))
        total = Tally()
        for t in by.values():
            total.add(t)
        rows = {k: vars(t) for k, t in sorted(by.items())}
        if kind == "benign":
            summary = {
                "sessions": total.sessions,
                "flagged": total.flagged,
                "per_10k": round(1e4 * total.flagged / max(total.sessions, 1), 2),
                "per_10k_upper95": round(1e4 * upper95(total.flagged, total.sessions), 2),
                "ndpi_flagged": total.ndpi_flagged if args.ndpi else None,
            }
        else:
            tls = Tally()
            for k, t in by.items():
                if k.endswith("(tls)"):
                    tls.add(t)
            summary = {
                "sessions": total.sessions,
                "found": total.flagged,
                "recall": round(total.flagged / max(total.sessions, 1), 4),
                "tls_sessions": tls.sessions,
                "tls_recall": round(tls.flagged / max(tls.sessions, 1), 4),
                "ndpi_recall": round(total.ndpi_flagged / max(total.sessions, 1), 4) if args.ndpi else None,
            }
        report[f"{kind}:{root}"] = {"summary": summary, "by_program": rows}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
