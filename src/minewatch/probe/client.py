"""One connection to a target: plain, TLS with SNI or TLS without; greetings sent and
answers read, each bounded in bytes and time.

The certificate is not verified (pools use self-signed ones) but its subject and issuer
are kept. The connection goes to the address given and nowhere else: redirects
(`client.reconnect`, HTTP Location) are recorded in the answer, never followed.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from types import TracebackType

from minewatch.model.schema import MessageKind
from minewatch.probe.greetings import Greeting
from minewatch.probe.result import Certificate, Target, Transport

__all__ = ["Bounds", "Connection", "ConnectFailed", "certificate_of"]

# After the first bytes of an answer that is not JSON lines (an HTTP status line, an XMPP
# stream header, a TLS alert), wait this long for the rest rather than a full timeout.
_FOREIGN_GRACE_S = 0.3


@dataclass(frozen=True)
class Bounds:
    """Seconds to connect (TCP and TLS handshake) and to wait for an answer; bytes read."""

    connect_s: float = 5.0
    answer_s: float = 5.0
    max_bytes: int = 16_384


class ConnectFailed(Exception):
    """The connection (or its TLS handshake) did not come up; `reason` says why."""

    def __init__(self, reason: str, refused: bool = False, tls: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused
        self.tls = tls


def _context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Pools present self-signed certificates: the probe looks, it does not trust.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def certificate_of(der: bytes | None) -> Certificate | None:
    """Subject and issuer of a DER certificate (RFC 4514 strings), None if unreadable."""
    if not der:
        return None
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
        subject, issuer = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
    except ValueError:  # unreadable, or names that are not valid text
        return None
    return Certificate(subject, issuer, subject == issuer)


def _complete(greeting: Greeting, buf: bytes) -> bool:
    """Whether `buf` holds a whole answer to `greeting`."""
    if greeting.kind == MessageKind.SV2_FRAME:
        return len(buf) >= 6 and len(buf) >= 6 + int.from_bytes(buf[3:6], "little")
    for line in buf.split(b"\n")[:-1]:
        # Pools may push set_difficulty or a job first: wait for the reply to id 1.
        if b'"id":1' in line.replace(b" ", b"") or not line.lstrip().startswith(b"{"):
            return True
    return False


class Connection:
    """An open connection; `async with Connection.open(...)` closes it."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        transport: Transport,
        bounds: Bounds,
        opened: float,
    ) -> None:
        self.reader, self.writer, self.transport, self.bounds = reader, writer, transport, bounds
        self.opened = opened
        self.closed = False
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self.certificate = certificate_of(der)

    @classmethod
    async def open(cls, target: Target, transport: Transport, bounds: Bounds) -> Connection:
        """Connect to `target.ip` (never a name: nothing is resolved here). TLS_SNI sends
        `target.name` as SNI; TLS sends none (Python sends no SNI for an IP address)."""
        ctx = None if transport == Transport.PLAIN else _context()
        sni = _sni(target.name) if transport == Transport.TLS_SNI else None
        started = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    target.ip, target.port, ssl=ctx, server_hostname=sni, limit=bounds.max_bytes
                ),
                bounds.connect_s,
            )
        except TimeoutError:
            raise ConnectFailed(f"no connection within {bounds.connect_s:g} s") from None
        except ConnectionRefusedError:
            raise ConnectFailed("connection refused", refused=True) from None
        except (ssl.SSLError, ConnectionResetError) as e:
            raise ConnectFailed(f"TLS handshake failed: {e}", tls=ctx is not None) from None
        except OSError as e:
            raise ConnectFailed(e.strerror or str(e)) from None
        except ValueError as e:  # a name the TLS layer will not send, after all
            raise ConnectFailed(f"TLS not attempted: {e}", tls=True) from None
        return cls(reader, writer, transport, bounds, started)

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        except (OSError, TimeoutError, ssl.SSLError):
            return

    async def exchange(self, greeting: Greeting) -> tuple[bytes, float]:
        """Send `greeting`; return the answer (at most `max_bytes`) and the seconds from
        sending to its first byte (or to giving up). Sets `closed` when the server hung up."""
        sent = time.monotonic()
        try:
            self.writer.write(greeting.data)
            await self.writer.drain()
        except (OSError, ssl.SSLError):
            self.closed = True
            return b"", time.monotonic() - sent
        buf, first = b"", None
        deadline = sent + self.bounds.answer_s
        while len(buf) < self.bounds.max_bytes and not _complete(greeting, buf):
            wait = deadline - time.monotonic()
            if buf and not buf.lstrip().startswith(b"{") and greeting.kind != MessageKind.SV2_FRAME:
                wait = min(wait, (first or sent) + _FOREIGN_GRACE_S - time.monotonic())
            if wait <= 0:
                break
            try:
                chunk = await asyncio.wait_for(self.reader.read(self.bounds.max_bytes - len(buf)), wait)
            except TimeoutError:
                break
            except (OSError, ssl.SSLError):
                chunk = b""
            if not chunk:
                self.closed = True
                break
            first = first or time.monotonic()
            buf += chunk
        return buf, (first or time.monotonic()) - sent


def _sni(name: str | None) -> str | None:
    """`name` if it can be sent as SNI (a host name IDNA encodes: labels of 1-63
    characters); a name from a capture may be anything, and then none is sent."""
    if not name:
        return None
    try:
        name.encode("idna")
    except UnicodeError:
        return None
    return name
