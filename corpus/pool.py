"""A small asyncio mining pool that real miners accept, plain or TLS, for the mining corpus.

    async with Pool(PoolSettings(tls=True, difficulty=0.01)) as pool:
        ...  # point a miner at pool.host:pool.port (stratum+tcps:// / stratum+ssl://)

    python -m corpus.pool --port 3333 --tls --difficulty 0.01 --job-interval 30 --log shares.jsonl

It speaks Stratum V1, XMRig's JSON-RPC, EthereumStratum/1.0.0 and a plaintext Stratum V2
SetupConnection, sniffed from the first bytes of each connection. Every share, job and difficulty
change is written as one JSON line (the corpus's ground truth). Loopback or private namespaces only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import logging
import signal
import ssl
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from corpus.pool_jobs import Dialect
from corpus.pool_session import EventKind, PoolEvent, Session, SessionConfig

__all__ = ["Dialect", "EventKind", "Pool", "PoolEvent", "PoolSettings", "main", "self_signed_cert"]

log = logging.getLogger("corpus.pool")


@dataclass(frozen=True)
class PoolSettings:
    """One listening port of the pool.

    difficulty: the starting (or fixed) share difficulty, in the dialect's own unit (V1: the
    miner's `set_difficulty`; XMRig: 2^32 / target). vardiff_target_s: seconds per share that
    vardiff aims at, None for a fixed difficulty. job_interval_s: new unprompted jobs, with
    +- job_jitter of it at random.
    """

    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    dialects: frozenset[Dialect] = frozenset(Dialect)
    difficulty: float = 1.0
    vardiff_target_s: float | None = None
    job_interval_s: float = 30.0
    job_jitter: float = 0.0
    algo: str = "cn/r"
    server_name: str = "pool.minewatch.test"
    log_path: Path | None = None
    # where to write the certificate PEM for clients that verify it (cpuminer's --cert)
    cert_out: Path | None = None

    def session_config(self) -> SessionConfig:
        return SessionConfig(
            self.dialects,
            self.difficulty,
            self.vardiff_target_s,
            self.job_interval_s,
            self.job_jitter,
            self.algo,
        )


def self_signed_cert(name: str, host: str) -> tuple[bytes, bytes]:
    """A fresh P-256 key and a one-year self-signed certificate for `name` (and `host` if an IP): PEMs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    alt: list[x509.GeneralName] = [x509.DNSName(name)]
    with contextlib.suppress(ValueError):
        alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert.write_bytes(cert_pem)
        key.write_bytes(key_pem)
        ctx.load_cert_chain(cert, key)
    return ctx


@dataclass
class _Log:
    """The in-memory events and the JSON-lines file, written line by line so a killed pool loses nothing."""

    path: Path | None
    events: list[PoolEvent] = field(default_factory=list)
    _file: IO[str] | None = None

    def open(self) -> None:
        if self.path:
            self._file = self.path.open("a", encoding="utf-8")

    def emit(self, event: PoolEvent) -> None:
        self.events.append(event)
        if self._file:
            self._file.write(json.dumps({k: v for k, v in asdict(event).items() if v is not None}) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file:
            self._file.close()


class Pool:
    """The pool, as an async context manager; `host` and `port` are valid inside it."""

    def __init__(self, settings: PoolSettings) -> None:
        self.settings = settings
        self.cert_pem: bytes | None = None
        self._log = _Log(settings.log_path)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_sid = 1

    @property
    def events(self) -> list[PoolEvent]:
        return self._log.events

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def port(self) -> int:
        assert self._server is not None, "the pool is not started"
        return int(self._server.sockets[0].getsockname()[1])

    def shares_accepted(self) -> int:
        return sum(1 for e in self.events if e.event is EventKind.SHARE and e.accepted)

    async def __aenter__(self) -> Self:
        ctx = None
        if self.settings.tls:
            self.cert_pem, key_pem = self_signed_cert(self.settings.server_name, self.settings.host)
            ctx = _server_context(self.cert_pem, key_pem)
            if self.settings.cert_out:
                self.settings.cert_out.write_bytes(self.cert_pem)
        self._log.open()
        self._server = await asyncio.start_server(
            self._accept, self.settings.host, self.settings.port, ssl=ctx, limit=64 * 1024
        )
        detail = f"{self.host}:{self.port} tls={self.settings.tls}"
        self._log.emit(PoolEvent(time.time(), EventKind.LISTEN, 0, detail=detail))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server:
            await self._server.wait_closed()
        self._log.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sid, self._next_sid = self._next_sid, self._next_sid + 1
        session = Session(sid, reader, writer, self.settings.session_config(), self._log.emit)
        task = asyncio.current_task()
        if task:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            if task:
                self._tasks.discard(task)


def _parse(argv: list[str] | None) -> PoolSettings:
    p = argparse.ArgumentParser(prog="python -m corpus.pool", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3333)
    p.add_argument("--tls", action="store_true", help="TLS with a fresh self-signed certificate")
    p.add_argument("--dialects", default=",".join(d.value for d in Dialect), help="comma-separated")
    p.add_argument("--difficulty", type=float, default=1.0)
    p.add_argument("--vardiff", type=float, default=None, metavar="SECONDS", help="target seconds per share")
    p.add_argument("--job-interval", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--job-jitter", type=float, default=0.0, metavar="FRACTION")
    p.add_argument("--algo", default="cn/r", help="XMRig algorithm name put in jobs")
    p.add_argument("--server-name", default="pool.minewatch.test", help="certificate name")
    p.add_argument("--log", type=Path, default=None, help="JSON-lines event log")
    p.add_argument("--cert-out", type=Path, default=None, help="write the TLS certificate (PEM) here")
    a = p.parse_args(argv)
    return PoolSettings(
        host=a.host,
        port=a.port,
        tls=a.tls,
        dialects=frozenset(Dialect(d) for d in a.dialects.split(",") if d),
        difficulty=a.difficulty,
        vardiff_target_s=a.vardiff,
        job_interval_s=a.job_interval,
        job_jitter=a.job_jitter,
        algo=a.algo,
        server_name=a.server_name,
        log_path=a.log,
        cert_out=a.cert_out,
    )


async def _serve(settings: PoolSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Pool(settings) as pool:
        log.info("listening on %s:%d (tls=%s)", pool.host, pool.port, settings.tls)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_serve(_parse(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
