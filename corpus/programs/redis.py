"""redis-server (plain 6379, TLS 6380) with redis-py: a subscriber holds a pub/sub
connection with PING health checks; a publisher connection of the same client app publishes
to its channel periodically or at Poisson times."""

from __future__ import annotations

import asyncio

from corpus.programs import Program, ServerCommand
from corpus.spec import Cell, Session


def server(cell: Cell) -> list[ServerCommand]:
    return [
        ServerCommand(
            (
                "redis-server",
                "--bind",
                cell.ip,
                "--port",
                "6379",
                "--tls-port",
                "6380",
                "--tls-cert-file",
                str(cell.cert),
                "--tls-key-file",
                str(cell.key),
                "--tls-ca-cert-file",
                str(cell.ca),
                "--tls-auth-clients",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(cell.dir),
                "--protected-mode",
                "no",
                "--maxclients",
                "10000",
                "--loglevel",
                "warning",
                "--daemonize",
                "no",
            )
        )
    ]


async def session(s: Session) -> None:
    import redis.asyncio as aioredis

    tls = s.setting.tls
    kw: dict[str, object] = {"ssl": True, "ssl_ca_certs": str(s.ca)} if tls else {}
    health = int(s.keepalive())
    sub_conn = aioredis.Redis(host=s.host, port=s.port, health_check_interval=health, **kw)  # type: ignore[arg-type]
    pub_conn = aioredis.Redis(host=s.host, port=s.port, health_check_interval=health, **kw)  # type: ignore[arg-type]
    channel = f"events:{s.slot}"
    pubsub = sub_conn.pubsub()
    await pubsub.subscribe(channel)

    async def listen() -> None:
        while True:
            await pubsub.get_message(ignore_subscribe_messages=True, timeout=health)

    reader = asyncio.create_task(listen())
    try:
        async for _ in s.ticks():
            await pub_conn.publish(channel, s.text(10, 400))
    finally:
        reader.cancel()
        await pubsub.unsubscribe(channel)
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await sub_conn.aclose()
        await pub_conn.aclose()


PROGRAM = Program("redis", "redis.corpus.test", 6379, 6380, server, session)
