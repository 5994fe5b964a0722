"""TLS variants of real sessions: the same application messages, at the same moments, as
they would cross the wire inside TLS.

The behavioural model needs encrypted mining to learn from, and real captures of it are
few. A real plaintext session fixes everything timing shows (who speaks, when, how much);
wrapping each message in a TLS record changes only its size (record header and AEAD tag)
and adds a handshake in front. Variants also move the client away from the pool (a
round-trip time the loopback captures lack) and stretch or squeeze time (pools tune the
share rate with their difficulty), so the model does not learn one pool's clock.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from minewatch.model.schema import Direction, MessageKind
from minewatch.protocols.base import WireMessage
from minewatch.synth.generator import ACK, Packet, TcpConv
from minewatch.synth.packets import client_hello, ipv4, tcp_frame

__all__ = ["AppMessage", "TlsVariant", "app_messages", "rate_variant", "tls_session"]

MSS = 1448
# Bytes a TLS record adds to its plaintext: 5 of header, then TLS 1.3's content type and
# 16-byte tag, or TLS 1.2 GCM's 8-byte explicit nonce and 16-byte tag.
RECORD_OVERHEAD = {"1.3": 22, "1.2": 29}


@dataclass(frozen=True)
class AppMessage:
    """One application message as seen in a real session: seconds, who sent it, bytes."""

    t: float
    from_client: bool
    size: int


def app_messages(conn: Sequence[WireMessage]) -> list[AppMessage]:
    """One connection's messages as the engine cut them, with the sizes the wire carried
    (a JSON line lost its newline in the cutting)."""
    return [
        AppMessage(
            m.ts, m.direction == Direction.CLIENT_TO_SERVER, len(m.data) + (m.kind == MessageKind.JSON_LINE)
        )
        for m in conn
    ]


@dataclass(frozen=True)
class TlsVariant:
    rtt_s: float = 0.0
    time_scale: float = 1.0
    version: str = "1.3"
    seed: int = 0
    sni: str | None = None  # the server name the ClientHello sends


def _record(rng: random.Random, size: int, version: str) -> bytes:
    body = size + RECORD_OVERHEAD[version] - 5
    return b"\x17\x03\x03" + body.to_bytes(2, "big") + rng.randbytes(body)


def _send(conv: TcpConv, t: float, from_client: bool, data: bytes) -> Iterator[Packet]:
    """Segments of one write, then the receiver's ACK."""
    for i in range(0, len(data), MSS):
        yield conv.send(t + i / MSS * 1e-5, from_client, data[i : i + MSS])
    if from_client:
        ack = tcp_frame(conv.s, conv.c, conv.sp, conv.cp, conv.sseq, conv.cseq, ACK, b"", False)
    else:
        ack = tcp_frame(conv.c, conv.s, conv.cp, conv.sp, conv.cseq, conv.sseq, ACK, b"", False)
    yield t + 0.0002, ack


def tls_session(
    messages: Sequence[AppMessage],
    variant: TlsVariant,
    client: str = "10.1.0.2",
    server: str = "198.18.0.9",
    port: int = 443,
) -> list[Packet]:
    """The packets of one TCP connection carrying `messages` inside TLS, time-ordered.
    The capture point is at the client: replies appear one round trip after requests."""
    rng = random.Random(variant.seed)
    conv = TcpConv(ipv4(client), ipv4(server), rng.randint(32768, 60999), port)
    t0 = messages[0].t if messages else 0.0
    start = 1_790_000_000.0 + rng.random()
    out: list[Packet] = list(conv.open(start))
    rtt = variant.rtt_s
    # Handshake: ClientHello; ServerHello with certificate; Finished; session tickets.
    hello_t = start + 0.001 + rtt
    out.extend(_send(conv, hello_t, True, client_hello(variant.sni, b"")))
    out.extend(_send(conv, hello_t + rtt + 0.002, False, rng.randbytes(rng.randint(2400, 4200))))
    out.extend(_send(conv, hello_t + rtt + 0.004, True, rng.randbytes(80)))
    out.extend(_send(conv, hello_t + 2 * rtt + 0.005, False, rng.randbytes(2 * 250)))
    begin = hello_t + 2 * rtt + 0.01
    last = begin
    for m in messages:
        t = begin + (m.t - t0) * variant.time_scale + (0.0 if m.from_client else rtt)
        last = max(last, t)
        out.extend(_send(conv, t, m.from_client, _record(rng, m.size, variant.version)))
    out.extend(conv.close(last + 0.5))
    out.sort(key=lambda p: p[0])
    return out


def rate_variant(messages: list[AppMessage], factor: int, seed: int) -> list[AppMessage]:
    """The session as a proxy aggregating `factor` such rigs would send it: every client
    message and the answers right behind it (within a second) repeated `factor` times at
    random moments of the session; the pool's unprompted pushes (jobs) kept as they were,
    since the pool's cadence does not follow the rigs'."""
    rng = random.Random(seed)
    start, end = messages[0].t, messages[-1].t
    exchanges: list[list[AppMessage]] = []
    pushes: list[AppMessage] = []
    for m in messages:
        if m.from_client:
            exchanges.append([m])
        elif exchanges and m.t - exchanges[-1][-1].t < 1.0:
            exchanges[-1].append(m)
        else:
            pushes.append(m)
    out = list(pushes) + [m for ex in exchanges for m in ex]
    for _ in range(factor - 1):
        for ex in exchanges:
            shift = rng.uniform(start, end) - ex[0].t
            out.extend(AppMessage(m.t + shift, m.from_client, m.size) for m in ex)
    return sorted(out, key=lambda m: m.t)
