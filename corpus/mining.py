"""Record real miners against our own pool, each in its own network namespace, into pcaps and a manifest.

    python -m corpus.mining --bin /work/miners/bin --out /work/corpus/mining --scale full

Per session: a server namespace with the pool (corpus.pool) and tcpdump (full snaplen, the pool's
port only), a client namespace with the miner (nice 19) and no route beyond the pool's /30, netem
on both ends of the veth. DIR/manifest.json is rewritten after every session, and sessions whose
pcap is already listed are skipped, so a run can be stopped and resumed. Root only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from corpus.mining_ns import Link, link, ns_exec
from corpus.mining_plan import Scale, SessionPlan, plan_sessions

__all__ = ["Capture", "DifficultyChange", "Manifest", "main", "record"]

log = logging.getLogger("corpus.mining")
REPO = Path(__file__).resolve().parents[1]
JOB_JITTER = 0.1  # each job interval varies +-10 % at random (a pool's clock is not a metronome)
GRACE_S = 2.0  # after the miner stops: its FIN and the pool's answer cross a netem link too


@dataclass(frozen=True)
class DifficultyChange:
    t_s: float  # seconds from the start of the capture
    difficulty: float


@dataclass(frozen=True)
class Capture:
    """One session of the manifest; times in seconds, difficulty in the dialect's unit."""

    file: str
    miner: str
    version: str
    algorithm: str
    protocol: str
    transport: str
    difficulty: float
    vardiff_target_s: float | None
    difficulty_changes: list[DifficultyChange]
    job_interval_s: float
    jobs_sent: int
    threads: int
    netem: str
    netem_rtt_ms: float
    netem_jitter_ms: float
    netem_loss_pct: float
    pool_ip: str
    pool_port: int
    client_ip: str
    sni: str | None
    seconds: float
    connections: int
    shares_accepted: int
    hashes_per_difficulty_1: float
    share_hashrate_hs: float
    pool_log: str
    miner_log: str
    start_epoch: float


@dataclass(frozen=True)
class Manifest:
    captures: list[Capture]
    version: int = 1
    kind: str = "mining"

    def write(self, path: Path) -> None:
        body = {"version": self.version, "kind": self.kind, "captures": [asdict(c) for c in self.captures]}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=1) + "\n")
        tmp.replace(path)

    @staticmethod
    def read(path: Path) -> Manifest:
        if not path.exists():
            return Manifest([])
        raw = json.loads(path.read_text())["captures"]
        return Manifest([_capture(c) for c in raw])


def _capture(raw: dict[str, Any]) -> Capture:
    changes = [DifficultyChange(**d) for d in raw["difficulty_changes"]]
    return Capture(**{**raw, "difficulty_changes": changes})


def miner_version(binary: Path) -> str:
    """'2.5.1' or '6.26.0': the first version-looking word of `--version`."""
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    words = (out.stdout + out.stderr).split()
    return next((w for w in words if w[:1].isdigit() and "." in w), "unknown")


def miner_command(plan: SessionPlan, bins: Path, cert: Path, log_file: Path) -> list[str]:
    """The miner's command line; cpuminer logs to stdout, XMRig (not on a terminal) only to `log_file`."""
    m = plan.miner
    if m.program == "cpuminer":
        scheme = "stratum+tcps" if plan.tls else "stratum+tcp"
        cmd = [str(bins / "minerd"), "-a", m.algorithm, "-t", str(plan.threads)]
        cmd += ["-o", f"{scheme}://{plan.server_name}:{plan.port}", "-u", plan.worker, "-p", "x"]
        return cmd + (["--cert", str(cert)] if plan.tls else [])
    cmd = [str(bins / "xmrig"), "-a", m.algorithm, "-o", f"{plan.server_name}:{plan.port}", "-u", plan.worker]
    cmd += ["-p", "x", "-t", str(plan.threads), "--donate-level=1", "--no-color", "--print-time=30"]
    cmd += [f"--log-file={log_file}"]
    if m.algorithm.startswith("rx/"):
        cmd += ["--randomx-mode=light", "--randomx-init=1"]
    if plan.tls and plan.sni:
        cmd += ["--sni"]  # XMRig sends no server name unless asked
    return cmd + (["--tls"] if plan.tls else [])


def _wait_for(pred: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start within {timeout_s:g} s")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout_s: float = 10) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _pool_cmd(plan: SessionPlan, lk: Link, pool_log: Path, cert: Path) -> list[str]:
    cmd = ns_exec(lk.server_ns) + ["nice", "-n", "10", sys.executable, "-m", "corpus.pool"]
    cmd += ["--host", lk.server_ip, "--port", str(plan.port), "--difficulty", f"{plan.difficulty:g}"]
    cmd += ["--job-interval", f"{plan.job_interval_s:g}", "--job-jitter", f"{JOB_JITTER:g}"]
    cmd += ["--algo", plan.miner.algorithm]
    cmd += ["--dialects", "xmrig" if plan.miner.program == "xmrig" else "sv1", "--log", str(pool_log)]
    cmd += ["--server-name", plan.server_name, "--cert-out", str(cert)]
    if plan.vardiff_target_s:
        cmd += ["--vardiff", f"{plan.vardiff_target_s:g}"]
    return cmd + (["--tls"] if plan.tls else [])


def _run_processes(plan: SessionPlan, lk: Link, bins: Path, out: Path, tmp: Path) -> tuple[float, float]:
    """Capture, pool and miner for `plan.seconds`; returns (capture start, miner run time), Unix seconds."""
    pcap, pool_log, cert = out / f"{plan.stem}.pcap", out / f"{plan.stem}.pool.jsonl", tmp / "cert.pem"
    dump_cmd = ns_exec(lk.server_ns) + ["tcpdump", "-i", lk.server_if, "-s", "0", "-U", "-Z", "root"]
    dump_cmd += ["-w", str(pcap)]
    dump = subprocess.Popen([*dump_cmd, f"tcp port {plan.port}"], stderr=subprocess.PIPE, text=True)
    procs: list[subprocess.Popen[Any]] = [dump]
    try:
        assert dump.stderr is not None
        dump.stderr.readline()  # "listening on ...": the capture is armed
        start = time.time()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs.append(
            subprocess.Popen(_pool_cmd(plan, lk, pool_log, cert), env=env, stderr=subprocess.DEVNULL)
        )
        _wait_for(lambda: pool_log.exists() and pool_log.stat().st_size > 0, 15, "the pool")
        miner_log = out / f"{plan.stem}.miner.log"
        with miner_log.open("w") as mlog:
            cmd = ns_exec(lk.client_ns) + ["nice", "-n", "19", *miner_command(plan, bins, cert, miner_log)]
            miner = subprocess.Popen(cmd, stdout=mlog, stderr=subprocess.STDOUT)
            procs.append(miner)
            t0 = time.time()
            while time.time() - t0 < plan.seconds and miner.poll() is None:
                time.sleep(0.5)
            ran = time.time() - t0
            # SIGTERM: both miners exit cleanly on it, and SIGINT is ignored when we run in the background
            _stop(miner, signal.SIGTERM)
        time.sleep(GRACE_S)
        return start, ran
    finally:
        for proc in reversed(procs):
            _stop(proc)
        if dump.stderr:
            dump.stderr.close()


def _read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def capture_of(plan: SessionPlan, lk: Link, version: str, start: float, ran: float, out: Path) -> Capture:
    """The manifest entry, with shares, jobs and difficulty changes counted from the pool's log."""
    events = _read_events(out / f"{plan.stem}.pool.jsonl")
    shares = [e for e in events if e["event"] == "share" and e.get("accepted")]
    changes = [
        DifficultyChange(round(e["t"] - start, 3), e["difficulty"])
        for e in events
        if e["event"] == "difficulty"
    ]
    work = sum(e["difficulty"] for e in shares) * plan.miner.hashes_per_difficulty_1
    return Capture(
        file=f"{plan.stem}.pcap",
        miner=plan.miner.program,
        version=version,
        algorithm=plan.miner.algorithm,
        protocol="xmrig-jsonrpc" if plan.miner.program == "xmrig" else "stratum-v1",
        transport="tls" if plan.tls else "tcp",
        difficulty=plan.difficulty,
        vardiff_target_s=plan.vardiff_target_s,
        difficulty_changes=changes,
        job_interval_s=plan.job_interval_s,
        jobs_sent=sum(1 for e in events if e["event"] == "job"),
        threads=plan.threads,
        netem=plan.netem.name,
        netem_rtt_ms=plan.netem.rtt_ms,
        netem_jitter_ms=plan.netem.jitter_ms,
        netem_loss_pct=plan.netem.loss_pct,
        pool_ip=lk.server_ip,
        pool_port=plan.port,
        client_ip=lk.client_ip,
        sni=plan.server_name if plan.tls and plan.sni else None,
        seconds=round(ran, 2),
        connections=sum(1 for e in events if e["event"] == "connect"),
        shares_accepted=len(shares),
        hashes_per_difficulty_1=plan.miner.hashes_per_difficulty_1,
        share_hashrate_hs=round(work / ran, 3) if ran else 0.0,
        pool_log=f"{plan.stem}.pool.jsonl",
        miner_log=f"{plan.stem}.miner.log",
        start_epoch=round(start, 3),
    )


def record(plan: SessionPlan, bins: Path, out: Path, version: str) -> Capture:
    """Record one session into `out` and return its manifest entry."""
    with tempfile.TemporaryDirectory() as tmp, link(plan.index, plan.netem, (plan.server_name,)) as lk:
        start, ran = _run_processes(plan, lk, bins, out, Path(tmp))
        return capture_of(plan, lk, version, start, ran, out)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m corpus.mining", description=__doc__.splitlines()[0])
    p.add_argument("--bin", type=Path, default=Path("/work/miners/bin"), help="dir with minerd and xmrig")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--scale", type=Scale, choices=list(Scale), default=Scale.QUICK)
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--count", type=int, default=None, help="number of sessions (default: by scale)")
    p.add_argument("--seconds", type=float, default=None, help="override each session's length")
    p.add_argument("--only", default=None, help="only this miner (e.g. xmrig-cnr)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Record the planned sessions; 0 when all were recorded, 1 when some failed."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # SIGTERM unwinds like Ctrl-C, so the session's processes stop and its namespaces go
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    a = _parse(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    versions = {"cpuminer": miner_version(a.bin / "minerd"), "xmrig": miner_version(a.bin / "xmrig")}
    manifest_path = a.out / "manifest.json"
    done = Manifest.read(manifest_path).captures
    failed = 0
    for plan in plan_sessions(a.scale, a.seed, a.count):
        if a.only and plan.miner.name != a.only or any(c.file == f"{plan.stem}.pcap" for c in done):
            continue
        if a.seconds:
            plan = dataclasses.replace(plan, seconds=a.seconds)
        log.info("session %s (%g s)", plan.stem, plan.seconds)
        try:
            cap = record(plan, a.bin, a.out, versions[plan.miner.program])
        except (OSError, subprocess.SubprocessError, TimeoutError) as exc:
            log.error("session %s failed: %s", plan.stem, exc)
            failed += 1
            continue
        done.append(cap)
        Manifest(done).write(manifest_path)
        log.info("  %d shares, %d jobs, %s", cap.shares_accepted, cap.jobs_sent, cap.difficulty_changes)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
