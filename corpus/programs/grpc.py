"""gRPC over TLS (grpcio on both ends, HTTP/2 keepalive pings): a server-streaming feed that
pushes updates at Poisson times, and a bidi stream where the client reports periodically and
the server acknowledges. Messages are raw bytes through generic handlers: no generated code."""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from corpus import serve as _serve
from corpus.programs import Program, ServerCommand
from corpus.spec import Cell, Session

# gRPC's c-ares resolver would skip the namespace's /etc/hosts.
os.environ.setdefault("GRPC_DNS_RESOLVER", "native")

SERVER_OPTIONS = [
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
]


def server(cell: Cell) -> list[ServerCommand]:
    return [ServerCommand(_serve.command("grpc", cell))]


async def _subscribe(request: bytes, context: Any) -> AsyncIterator[bytes]:
    q = json.loads(request)
    rng = random.Random(q["seed"])
    seq = 0
    while True:
        await asyncio.sleep(rng.expovariate(1 / q["mean"]))
        seq += 1
        yield json.dumps(
            {"seq": seq, "price": rng.uniform(1, 100), "pad": "x" * rng.randint(0, 200)}
        ).encode()


async def _report(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
    n = 0
    async for _ in requests:
        n += 1
        yield json.dumps({"ack": n}).encode()


async def serve(ip: str, port: int, cert: Path, key: Path) -> None:
    import grpc

    handler = grpc.method_handlers_generic_handler(
        "corpus.Feed",
        {
            "Subscribe": grpc.unary_stream_rpc_method_handler(_subscribe),
            "Report": grpc.stream_stream_rpc_method_handler(_report),
        },
    )
    srv = grpc.aio.server(options=SERVER_OPTIONS)
    srv.add_generic_rpc_handlers((handler,))
    creds = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
    srv.add_secure_port(f"{ip}:{port}", creds)
    await srv.start()
    await srv.wait_for_termination()


async def session(s: Session) -> None:
    import grpc

    options = [
        ("grpc.keepalive_time_ms", int(s.keepalive() * 1000)),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    creds = grpc.ssl_channel_credentials(root_certificates=s.ca.read_bytes())
    async with grpc.aio.secure_channel(f"{s.host}:{s.port}", creds, options=options) as channel:
        if s.setting.role == "stream":
            call = channel.unary_stream("/corpus.Feed/Subscribe")
            req = json.dumps({"seed": s.rng.getrandbits(32), "mean": s.setting.mean_s}).encode()
            stream = call(req)

            async def read() -> None:
                async for _ in stream:
                    pass

            try:
                await asyncio.wait_for(read(), s.duration)
            except TimeoutError:
                stream.cancel()
        else:
            queue: asyncio.Queue[bytes | None] = asyncio.Queue()

            async def outgoing() -> AsyncIterator[bytes]:
                while (item := await queue.get()) is not None:
                    yield item

            bidi = channel.stream_stream("/corpus.Feed/Report")(outgoing())

            async def acks() -> None:
                async for _ in bidi:
                    pass

            reader = asyncio.create_task(acks())
            async for i in s.ticks():
                await queue.put(json.dumps({"n": i, "cpu": s.rng.random(), "note": s.text(5, 120)}).encode())
            await queue.put(None)
            await asyncio.wait_for(reader, 10)


PROGRAM = Program("grpc", "rpc.corpus.test", 80, 443, server, session)
