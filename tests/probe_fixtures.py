"""Servers for the probe tests, all on 127.0.0.1: a tiny pool of each dialect (plain or
TLS), an HTTPS server, and real mosquitto and prosody processes with configs in tmp_path.
Each counts the connections it accepts."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from corpus.pool import EventKind, Pool, PoolSettings
from tests.ports import free_port

__all__ = [
    "Listener",
    "connects",
    "free_port",
    "https_server",
    "mosquitto",
    "pool_thread",
    "prosody",
    "self_signed",
]


def self_signed(folder: Path, name: str = "pool.test") -> tuple[Path, Path]:
    """A self-signed certificate and its key, as PEM files in `folder`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    crt, pem = folder / f"{name}.crt", folder / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return crt, pem


def _server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    return ctx


@contextmanager
def pool_thread(settings: PoolSettings) -> Iterator[Pool]:
    """Our own pool (corpus/pool.py) running on an event loop in a thread of its own, for
    code that runs its own loop (the CLI, `Prober.probe`)."""
    loop = asyncio.new_event_loop()
    ready, stop = threading.Event(), threading.Event()
    pool = Pool(settings)
    failed: list[BaseException] = []

    async def serve() -> None:
        async with pool:
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.02)

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            failed.append(e)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    if failed:
        raise failed[0]
    try:
        yield pool
    finally:
        stop.set()
        thread.join(10)


def connects(pool: Pool) -> int:
    """Connections the pool accepted."""
    return sum(1 for e in pool.events if e.event is EventKind.CONNECT)


class Listener:
    """A TCP listener that accepts, notes the time, and hangs up: counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)  # so that the thread sees the stop flag
        self._stop = threading.Event()
        self.port = int(self.sock.getsockname()[1])
        self.accept_times: list[float] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accept_times.append(time.monotonic())
            conn.close()


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def https_server(cert: tuple[Path, Path]) -> Iterator[int]:
    """Python's http.server wrapped in TLS on a free port."""
    httpd = HTTPServer(("127.0.0.1", 0), _Hello)
    httpd.socket = _server_context(cert).wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@contextmanager
def _process(args: list[str], ports: list[int]) -> Iterator[None]:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for port in ports:
            _wait_port(port, proc)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def mosquitto(folder: Path, cert: tuple[Path, Path]) -> Iterator[tuple[int, int]]:
    """A real mosquitto broker: (plain port, TLS port)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.skip("mosquitto is not installed (scripts/setup installs it)")
    plain, tls = free_port(), free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"user root\nallow_anonymous true\npersistence false\n"
        f"listener {plain} 127.0.0.1\n"
        f"listener {tls} 127.0.0.1\ncertfile {cert[0]}\nkeyfile {cert[1]}\n"
    )
    with _process([binary, "-c", str(conf)], [plain, tls]):
        yield plain, tls


@contextmanager
def prosody(folder: Path) -> Iterator[int]:
    """A real prosody XMPP server: its client port."""
    binary = shutil.which("prosody")
    if binary is None:
        pytest.skip("prosody is not installed (scripts/setup installs it)")
    port = free_port()
    data = folder / "prosody-data"
    data.mkdir()
    conf = folder / "prosody.cfg.lua"
    conf.write_text(
        f'pidfile = "{folder / "prosody.pid"}"\n'
        f'data_path = "{data}"\n'
        "daemonize = false\nrun_as_root = true\n"
        'log = { { levels = { min = "error" }, to = "console" } }\n'
        'modules_enabled = { "roster", "saslauth", "disco", "ping" }\n'
        f'c2s_ports = {{ {port} }}\nc2s_interfaces = {{ "127.0.0.1" }}\n'
        "s2s_ports = { }\nhttp_ports = { }\nhttps_ports = { }\ncomponent_ports = { }\n"
        "c2s_require_encryption = false\n"
        'VirtualHost "localhost"\n'
    )
    with _process([binary, "--config", str(conf)], [port]):
        yield port
