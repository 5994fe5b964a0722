"""Servers for the probe tests, all on 127.0.0.1: a tiny pool of each dialect (plain or
TLS), an HTTPS server, and real mosquitto and prosody processes with configs in tmp_path.
Each counts the connections it accepts."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

__all__ = ["MiniPool", "free_port", "https_server", "mosquitto", "prosody", "self_signed"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def _v1_answer(msg: dict[str, object], eth: bool) -> list[dict[str, object]]:
    params = msg.get("params")
    if msg.get("method") != "mining.subscribe" or not isinstance(params, list):
        return [{"id": msg.get("id"), "result": None, "error": [20, "Unknown method", None]}]
    if eth:
        if "EthereumStratum/1.0.0" not in params:
            return [{"id": msg.get("id"), "result": None, "error": [20, "Not EthereumStratum", None]}]
        return [{"id": msg.get("id"), "result": [["mining.notify", "ae68", "EthereumStratum/1.0.0"], "080c"]}]
    return [
        {"id": msg.get("id"), "result": [[["mining.notify", "ae6812eb"]], "08000002", 4], "error": None},
        {"id": None, "method": "mining.set_difficulty", "params": [1]},
    ]


def _xmrig_answer(msg: dict[str, object]) -> list[dict[str, object]]:
    if msg.get("method") != "login":
        return [{"id": msg.get("id"), "jsonrpc": "2.0", "error": {"code": -1, "message": "Unknown method"}}]
    job = {"blob": "0707" + "00" * 74, "job_id": "1", "target": "b88d0600", "seed_hash": "ab" * 32}
    return [{"id": msg.get("id"), "jsonrpc": "2.0", "error": None, "result": {"id": "r1", "job": job}}]


class MiniPool:
    """A pool that speaks one dialect (`stratum-v1`, `ethereum-stratum`, `xmrig`,
    `stratum-v2`), plain or TLS, in a thread of its own. `accepts` counts connections."""

    def __init__(self, dialect: str, cert: tuple[Path, Path] | None = None, port: int = 0) -> None:
        self.dialect, self.cert, self.port = dialect, cert, port
        self.accepts = 0
        self.accept_times: list[float] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MiniPool:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        ctx = _server_context(self.cert) if self.cert else None
        server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port, ssl=ctx)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepts += 1
        self.accept_times.append(time.monotonic())
        try:
            if self.dialect == "stratum-v2":
                await self._sv2(reader, writer)
            else:
                await self._json(reader, writer)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _json(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            try:
                msg = json.loads(line)
            except ValueError:
                return  # not JSON: hang up, as pools do
            if self.dialect == "xmrig":
                out = _xmrig_answer(msg)
            else:
                out = _v1_answer(msg, self.dialect == "ethereum-stratum")
            writer.write(b"".join(json.dumps(o).encode() + b"\n" for o in out))
            await writer.drain()

    async def _sv2(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readexactly(6)
        length = int.from_bytes(head[3:6], "little")
        if head[:3] != b"\x00\x00\x00" or length > 1024:
            return
        await reader.readexactly(length)
        payload = struct.pack("<HI", 2, 0)  # SetupConnection.Success: used_version, flags
        writer.write(struct.pack("<HB", 0, 0x01) + len(payload).to_bytes(3, "little") + payload)
        await writer.drain()
        await reader.read(1)


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
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
