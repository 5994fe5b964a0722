"""One miner's connection to the test pool: dialect sniffing, the dialogue, jobs, vardiff and the log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from corpus.pool_jobs import Dialect, eth_job, sv1_job, sv2_setup_success, xmrig_job

__all__ = ["EventKind", "PoolEvent", "Session", "SessionConfig", "Vardiff"]

# A line longer than this is not a mining message; the miners' longest (a V1 notify) is ~1 kB.
MAX_LINE = 64 * 1024
SV2_HEADER = 6
JOBS_REMEMBERED = 32  # a share for an older job is logged at the current difficulty


class EventKind(StrEnum):
    LISTEN = "listen"
    CONNECT = "connect"
    LOGIN = "login"
    DIFFICULTY = "difficulty"
    JOB = "job"
    SHARE = "share"
    DISCONNECT = "disconnect"


@dataclass(frozen=True)
class PoolEvent:
    """One line of the pool's ground-truth log; `t` is Unix time in seconds."""

    t: float
    event: EventKind
    session: int
    peer: str = ""
    dialect: str | None = None
    difficulty: float | None = None
    job_id: str | None = None
    accepted: bool | None = None
    detail: str | None = None


@dataclass(frozen=True)
class SessionConfig:
    """What a session needs from the pool's settings."""

    dialects: frozenset[Dialect]
    difficulty: float
    vardiff_target_s: float | None
    job_interval_s: float
    job_jitter: float
    algo: str


@dataclass
class Vardiff:
    """Moves the difficulty towards one share per `target_s` (None: fixed difficulty).

    Like ckpool it waits for evidence (several shares or several target intervals) and changes
    only when the rate is off by more than half, at most fourfold per step.
    """

    difficulty: float
    target_s: float | None
    window_start: float
    shares: int = 0

    def retarget(self, now: float) -> float | None:
        """The new difficulty, or None when it stays."""
        if self.target_s is None:
            return None
        elapsed = now - self.window_start
        if self.shares < 6 and elapsed < 3 * self.target_s:
            return None
        observed = elapsed / max(self.shares, 0.5)
        factor = min(4.0, max(0.25, self.target_s / observed))
        self.window_start, self.shares = now, 0
        if 0.67 < factor < 1.5:
            return None
        self.difficulty = float(f"{self.difficulty * factor:.6g}")
        return self.difficulty


class Session:
    """Speaks to one miner until it leaves; every share and difficulty change goes to `emit`."""

    def __init__(
        self,
        sid: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        config: SessionConfig,
        emit: Callable[[PoolEvent], None],
    ) -> None:
        self.sid, self.reader, self.writer, self.config, self._emit = sid, reader, writer, config, emit
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else ""
        self.dialect: Dialect | None = None
        self.vardiff = Vardiff(config.difficulty, config.vardiff_target_s, time.time())
        self.seq = 0
        self.height = 3_100_000 + random.randrange(1000)
        self._jobs: asyncio.Task[None] | None = None
        self._job_difficulty: dict[str, float] = {}  # insertion-ordered: oldest first

    def event(self, kind: EventKind, **fields: Any) -> None:
        self._emit(
            PoolEvent(
                time.time(), kind, self.sid, self.peer, self.dialect.value if self.dialect else None, **fields
            )
        )

    async def run(self) -> None:
        self.event(EventKind.CONNECT)
        try:
            first = await self.reader.readexactly(1)
            if first == b"\x00":
                await self._sv2(first)
            else:
                await self._json_lines(first)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, OSError) as exc:
            self.event(EventKind.DISCONNECT, detail=type(exc).__name__)
        else:
            self.event(EventKind.DISCONNECT)
        finally:
            if self._jobs:
                self._jobs.cancel()
            with contextlib.suppress(Exception):
                self.writer.close()

    # -- transport -------------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        await self.writer.drain()

    async def _json_lines(self, first: bytes) -> None:
        line = first + await self.reader.readuntil(b"\n")
        while line:
            if len(line) > MAX_LINE:
                raise ValueError("line too long")
            if line.strip():
                await self._handle(json.loads(line))
            line = await self.reader.readline()

    async def _sv2(self, first: bytes) -> None:
        """Plaintext Stratum V2: answer SetupConnection with .Success; read (and drop) later frames."""
        if Dialect.SV2 not in self.config.dialects:
            return
        self.dialect = Dialect.SV2
        header = first + await self.reader.readexactly(SV2_HEADER - 1)
        while header:
            msg_type, length = header[2], int.from_bytes(header[3:6], "little")
            await self.reader.readexactly(length)
            if msg_type == 0x00:
                self.event(EventKind.LOGIN, detail="SetupConnection")
                self.writer.write(sv2_setup_success())
                await self.writer.drain()
            header = await self.reader.read(SV2_HEADER)
            if header and len(header) < SV2_HEADER:
                header += await self.reader.readexactly(SV2_HEADER - len(header))

    # -- dialogue --------------------------------------------------------------------------

    async def _handle(self, msg: dict[str, Any]) -> None:
        method, mid, params = msg.get("method"), msg.get("id"), msg.get("params")
        if self.dialect is None:
            self.dialect = self._sniff(method, params)
            if self.dialect not in self.config.dialects:
                raise ValueError(f"dialect {self.dialect} not served on this port")
        if self.dialect is Dialect.XMRIG:
            await self._xmrig(method, mid, params)
        else:
            await self._stratum(method, mid, params)

    @staticmethod
    def _sniff(method: Any, params: Any) -> Dialect:
        if method in ("login", "getjob", "submit", "keepalived"):
            return Dialect.XMRIG
        if isinstance(params, list) and "EthereumStratum/1.0.0" in params:
            return Dialect.ETHSTRATUM
        return Dialect.SV1

    async def _stratum(self, method: Any, mid: Any, params: Any) -> None:
        """Stratum V1 and EthereumStratum/1.0.0 share everything but the subscribe answer and the jobs."""
        xn1 = f"{self.sid:08x}"
        if method == "mining.subscribe":
            if self.dialect is Dialect.ETHSTRATUM:
                result: Any = [["mining.notify", f"{self.sid:032x}", "EthereumStratum/1.0.0"], xn1[-4:]]
            else:
                subs = [["mining.set_difficulty", xn1], ["mining.notify", xn1]]
                result = [subs, xn1, 4]
            await self.send({"id": mid, "result": result, "error": None})
        elif method == "mining.authorize":
            self.event(EventKind.LOGIN, detail=str((params or [""])[0]))
            await self.send({"id": mid, "result": True, "error": None})
            await self._start_jobs()
        elif method == "mining.submit":
            self._share(str(params[1]) if isinstance(params, list) and len(params) > 1 else None)
            await self.send({"id": mid, "result": True, "error": None})
        elif method == "mining.configure":
            await self.send({"id": mid, "result": {"version-rolling": False}, "error": None})
        elif mid is not None:
            # extranonce.subscribe, suggest_difficulty and the like: agree and carry on
            await self.send({"id": mid, "result": True, "error": None})

    async def _xmrig(self, method: Any, mid: Any, params: Any) -> None:
        rpc_id = f"{self.sid:016x}"
        if method == "login":
            login = params.get("login", "") if isinstance(params, dict) else ""
            self.event(EventKind.LOGIN, detail=str(login), difficulty=self.vardiff.difficulty)
            job = self._next_xmrig_job()
            result = {"id": rpc_id, "job": job, "extensions": ["algo", "keepalive"], "status": "OK"}
            await self.send({"id": mid, "jsonrpc": "2.0", "error": None, "result": result})
            await self._start_jobs(first_sent=True)
        elif method == "submit":
            self._share(params.get("job_id") if isinstance(params, dict) else None)
            await self.send({"id": mid, "jsonrpc": "2.0", "error": None, "result": {"status": "OK"}})
        elif method == "keepalived":
            await self.send({"id": mid, "jsonrpc": "2.0", "error": None, "result": {"status": "KEEPALIVED"}})
        elif method == "getjob":
            await self.send({"id": mid, "jsonrpc": "2.0", "error": None, "result": self._next_xmrig_job()})
        else:
            error = {"code": -1, "message": "unknown method"}
            await self.send({"id": mid, "jsonrpc": "2.0", "error": error, "result": None})

    def _share(self, job_id: str | None) -> None:
        """Log a share at its job's difficulty: one found just before a retarget counts at the old one."""
        self.vardiff.shares += 1
        difficulty = self._job_difficulty.get(job_id or "", self.vardiff.difficulty)
        self.event(EventKind.SHARE, difficulty=difficulty, job_id=job_id, accepted=True)

    def _job_sent(self, job_id: str) -> None:
        self._job_difficulty[job_id] = self.vardiff.difficulty
        while len(self._job_difficulty) > JOBS_REMEMBERED:
            del self._job_difficulty[next(iter(self._job_difficulty))]
        self.event(EventKind.JOB, job_id=job_id, difficulty=self.vardiff.difficulty)

    # -- jobs ------------------------------------------------------------------------------

    async def _start_jobs(self, first_sent: bool = False) -> None:
        if self._jobs is not None:
            return
        self.event(EventKind.DIFFICULTY, difficulty=self.vardiff.difficulty)
        if not first_sent:
            await self._push_job(new_difficulty=True)
        self._jobs = asyncio.create_task(self._job_loop())

    async def _job_loop(self) -> None:
        jitter = self.config.job_jitter
        while True:
            await asyncio.sleep(self.config.job_interval_s * random.uniform(1 - jitter, 1 + jitter))
            new = self.vardiff.retarget(time.time())
            if new is not None:
                self.event(EventKind.DIFFICULTY, difficulty=new)
            await self._push_job(new_difficulty=new is not None)

    async def _push_job(self, new_difficulty: bool) -> None:
        self.seq += 1
        self.height += 1
        if self.dialect is Dialect.XMRIG:
            job = self._next_xmrig_job(advance=False)
            await self.send({"jsonrpc": "2.0", "method": "job", "params": job})
            return
        if new_difficulty:
            await self.send(
                {"id": None, "method": "mining.set_difficulty", "params": [self.vardiff.difficulty]}
            )
        if self.dialect is Dialect.ETHSTRATUM:
            ejob = eth_job(self.seq)
            params, job_id = ejob.params(), ejob.job_id
        else:
            vjob = sv1_job(self.seq, self.height)
            params, job_id = vjob.params(clean=True), vjob.job_id
        await self.send({"id": None, "method": "mining.notify", "params": params})
        self._job_sent(job_id)

    def _next_xmrig_job(self, advance: bool = True) -> dict[str, Any]:
        if advance:
            self.seq += 1
        job = xmrig_job(self.seq, self.height, self.vardiff.difficulty, self.config.algo)
        self._job_sent(job.job_id)
        return job.params(f"{self.sid:016x}")
