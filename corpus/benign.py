"""Make the benign corpus: real server programs and client libraries in private network
namespaces, one capture per (program, setting, link profile), and a manifest.

    python -m corpus.benign --scale quick --out DIR --seed 1
    python -m corpus.benign --scale full --out /work/corpus/benign --seed 1
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import itertools
import json
import logging
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from corpus import netns
from corpus.drive import Tally
from corpus.programs import NAMES, Program, program
from corpus.spec import Capture, Cell, Manifest, Setting, load_settings
from corpus.tlsgen import Certs, make_certs

log = logging.getLogger("corpus.benign")
ROOT = Path(__file__).resolve().parents[1]
CLIENT_NAMESPACES = 2


@dataclass(frozen=True)
class Scale:
    name: str
    profiles: tuple[str, ...]
    first_setting_only: bool
    seconds: float  # wall time of one cell
    parallel: int  # cells at once
    slot_factor: float  # times each setting's `slots`
    fixed_slots: int = 0  # when set, every cell gets this many concurrent sessions


SCALES = {
    # Every program once, side by side: about 95 s of wall time.
    "quick": Scale("quick", ("wan",), True, 88.0, 9, 1.0, fixed_slots=2),
    # 22 settings x 3 profiles = 66 cells of 10 min, 17 at a time: 4 rounds, about 42 min,
    # ~12,000 sessions of >= 70 s (a slot holds ~2.7 sessions of mean 3 min in 10 min).
    "full": Scale("full", tuple(netns.NETEM), False, 600.0, 17, 1.6),
}


@dataclass(frozen=True)
class Job:
    prog: Program
    setting: Setting
    profile: str
    seed: str

    @property
    def stem(self) -> str:
        return f"{self.prog.name}__{self.setting.name}__{self.profile}"


def plan_jobs(scale: Scale, seed: int, programs: tuple[str, ...]) -> list[Job]:
    """The captures to make, programs interleaved so that cells running at once mix heavy
    servers (PostgreSQL, dovecot, sshd) with light ones."""
    settings = load_settings()
    per_program: list[list[Job]] = []
    for name in programs:
        mine = [s for s in settings if s.program == name]
        per_program.append(
            [
                Job(program(name), setting, profile, f"{seed}:{name}:{setting.name}:{profile}")
                for setting in (mine[:1] if scale.first_setting_only else mine)
                for profile in scale.profiles
            ]
        )
    rounds = itertools.zip_longest(*per_program)
    return [job for row in rounds for job in row if job is not None]


def _wait_listening(
    t: netns.Topology, port: int, timeout: float, procs: list[subprocess.Popen[bytes]]
) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a server exited before listening on port {port} (see server.log)")
        out = subprocess.run(t.in_server(["ss", "-Hltn"]), capture_output=True, text=True).stdout
        if f":{port} " in out:
            return
        time.sleep(0.3)
    raise TimeoutError(f"server did not listen on port {port} within {timeout:.0f} s")


def _popen(argv: list[str], logfile: Path) -> subprocess.Popen[bytes]:
    with logfile.open("ab") as fh:
        return subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


class Runner:
    def __init__(self, out: Path, work: Path, certs: Certs, scale: Scale) -> None:
        self.out, self.work, self.certs, self.scale = out, work, certs, scale
        self.stopping = False
        self.cells: queue.Queue[int] = queue.Queue()
        for k in range(1, 255):
            self.cells.put(k)

    def slots(self, job: Job) -> int:
        if self.scale.fixed_slots:
            return self.scale.fixed_slots
        return max(CLIENT_NAMESPACES, round(job.setting.slots * self.scale.slot_factor))

    def run(self, job: Job) -> Capture:
        if self.stopping:
            raise RuntimeError("interrupted")
        k = self.cells.get()
        try:
            with netns.topology(
                k,
                netns.NETEM[job.profile],
                clients=CLIENT_NAMESPACES,
                names=[job.prog.host],
                seed=hash_seed(job.seed),
            ) as t:
                return self._in(t, job)
        finally:
            self.cells.put(k)

    def _in(self, t: netns.Topology, job: Job) -> Capture:
        d = self.work / job.stem
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)
        port = job.prog.port(job.setting.tls)
        cell = Cell(
            d,
            t.server_ip,
            job.prog.host,
            port,
            job.setting,
            self.certs.cert,
            self.certs.key,
            self.certs.ca,
            self.slots(job),
        )
        pcap = self.out / f"{job.stem}.pcap"
        dump = _popen(
            t.in_server(
                ["tcpdump", "-i", t.capture_dev, "-w", str(pcap), "-s", "0", "-U", "-Z", "root", "tcp"]
            ),
            d / "tcpdump.log",
        )
        started = time.monotonic()
        servers: list[subprocess.Popen[bytes]] = []
        try:
            servers = self._start_servers(t, job, cell, d)
            log.info("%s: server up in %.1f s", job.stem, time.monotonic() - started)
            tally = self._drive(t, job, cell)
        finally:
            _stop(servers)
            time.sleep(1)  # the last FINs reach tcpdump
            _stop([dump])
            _keep_logs(d, self.out / "logs" / job.stem)
        return Capture(
            pcap.name,
            job.prog.name,
            job.setting.name,
            "tls" if job.setting.tls else "plain",
            job.profile,
            t.server_ip,
            port,
            job.prog.host if job.setting.tls else None,
            tally.sessions,
            round(time.monotonic() - started, 1),
            tally.long_sessions,
            tally.errors,
        )

    def _start_servers(
        self, t: netns.Topology, job: Job, cell: Cell, d: Path
    ) -> list[subprocess.Popen[bytes]]:
        """The program's server processes, listening; a server that does not come up gets one
        more try (a busy machine can be slow to start prosody or PostgreSQL)."""
        commands = job.prog.server(cell)
        for attempt in (1, 2):
            servers = []
            for cmd in commands:
                argv = list(cmd.argv) if not cmd.user else ["runuser", "-u", cmd.user, "--", *cmd.argv]
                servers.append(_popen(t.in_server(argv), d / "server.log"))
            try:
                _wait_listening(t, cell.port, 45, servers)
                return servers
            except (TimeoutError, RuntimeError) as exc:
                log.warning("%s: attempt %d: %s", job.stem, attempt, exc)
                _stop(servers)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _drive(self, t: netns.Topology, job: Job, cell: Cell) -> Tally:
        per = [
            cell.slots // CLIENT_NAMESPACES + (j < cell.slots % CLIENT_NAMESPACES) for j in range(t.clients)
        ]
        procs, offset = [], 0
        for j, n in enumerate(per):
            argv = [
                sys.executable,
                "-m",
                "corpus.drive",
                "--program",
                job.prog.name,
                "--setting",
                job.setting.name,
                "--host",
                job.prog.host,
                "--port",
                str(cell.port),
                "--ca",
                str(cell.ca),
                "--dir",
                str(cell.dir),
                "--seed",
                job.seed,
                "--slots",
                str(n),
                "--slot-offset",
                str(offset),
                "--seconds",
                str(self.scale.seconds),
            ]
            argv += ["--quick"] if self.scale.fixed_slots else []
            offset += n
            err = (cell.dir / f"drive{j}.log").open("ab")
            procs.append(subprocess.Popen(t.in_client(j, argv), stdout=subprocess.PIPE, stderr=err))
        total = Tally()
        for p in procs:
            try:
                out, _ = p.communicate(timeout=self.scale.seconds + 120)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
            for line in out.decode().splitlines()[-1:]:
                part = Tally(**json.loads(line))
                total.sessions += part.sessions
                total.long_sessions += part.long_sessions
                total.errors += part.errors
        return total


def _keep_logs(src: Path, dst: Path) -> None:
    """The cell's server, client and tcpdump logs, beside the captures (the cell folder goes)."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.glob("*.log"):
        shutil.copy(f, dst / f.name)
    for f in src.glob("*.err"):
        shutil.copy(f, dst / f.name)


def hash_seed(text: str) -> int:
    """A stable 32-bit seed from TEXT (Python's hash() changes per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _on_term(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(scale: Scale, out: Path, seed: int, programs: tuple[str, ...], command: str) -> Manifest:
    """Run every job of SCALE; the manifest is rewritten after each capture."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(command=command)
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        hosts = [program(n).host for n in programs]
        runner = Runner(out, work, make_certs(work / "tls", hosts), scale)
        jobs = plan_jobs(scale, seed, programs)
        log.info("%d captures, %d at a time, %.0f s each", len(jobs), scale.parallel, scale.seconds)
        with concurrent.futures.ThreadPoolExecutor(scale.parallel) as pool:
            futures = {pool.submit(runner.run, j): j for j in jobs}
            try:
                _collect(futures, manifest, out)
            except KeyboardInterrupt:
                # Queued cells must not start, and running ones end when their processes die:
                # otherwise leaving this block would wait for all of them.
                runner.stopping = True
                pool.shutdown(wait=False, cancel_futures=True)
                _cleanup_all()
                raise
    return manifest


def _collect(futures: dict[concurrent.futures.Future[Capture], Job], manifest: Manifest, out: Path) -> None:
    """Each capture into the manifest as it finishes; the manifest is rewritten every time."""
    for fut in concurrent.futures.as_completed(futures):
        job = futures[fut]
        try:
            cap = fut.result()
        except Exception:
            log.exception("capture %s failed", job.stem)
            continue
        manifest.captures.append(cap)
        manifest.captures.sort(key=lambda c: c.file)
        manifest.write(out / "manifest.json")
        log.info(
            "%s: %d sessions (%d >= 70 s, %d errors)",
            cap.file,
            cap.sessions,
            cap.long_sessions,
            cap.errors,
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m corpus.benign", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=sorted(SCALES), default="quick")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--programs", default=",".join(NAMES), help="comma-separated subset")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        ap.error("needs root (network namespaces, tcpdump)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    signal.signal(signal.SIGTERM, _on_term)
    programs = tuple(p for p in a.programs.split(",") if p)
    command = shlex.join(["python", "-m", "corpus.benign", *(argv if argv is not None else sys.argv[1:])])
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    try:
        run(SCALES[a.scale], a.out, a.seed, programs, command)
    except KeyboardInterrupt:
        log.warning("interrupted: removing namespaces")
        _cleanup_all()
        return 130
    return 0


def _cleanup_all() -> None:
    """Every namespace this process made (the topology context managers of the worker
    threads may not get to run)."""
    tag = f"mwc{os.getpid() % 100000}"
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    for name in names:
        if name.startswith(tag) and name[len(tag) : len(tag) + 1] in ("s", "r", "c"):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout
            for pid in pids.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            subprocess.run(["rm", "-rf", f"/etc/netns/{name}"], capture_output=True)


if __name__ == "__main__":
    raise SystemExit(main())
