"""WebSocket over TLS (the `websockets` library on both ends). Gateway role: Discord's gateway
shape: server hello {"op":10, heartbeat_interval}, client identify, client heartbeat {"op":1}
every interval (41.25 s), server ack {"op":11}, server dispatches {"op":0} at Poisson times.
Chat role: random messages both ways, with the library's own WebSocket pings."""

from __future__ import annotations

import asyncio
import json
import random
import ssl
from pathlib import Path
from typing import Any

from corpus import serve as _serve
from corpus.programs import Program, ServerCommand
from corpus.spec import Cell, Session

EVENTS = ("MESSAGE_CREATE", "PRESENCE_UPDATE", "TYPING_START", "GUILD_MEMBER_UPDATE")


def server(cell: Cell) -> list[ServerCommand]:
    return [ServerCommand(_serve.command("websocket", cell))]


async def _gateway(ws: Any, hello: dict[str, Any]) -> None:
    rng = random.Random(hello.get("seed", 0))
    mean = float(hello.get("push_mean", 0))
    seq = 0

    async def push() -> None:
        nonlocal seq
        while mean > 0:
            await asyncio.sleep(rng.expovariate(1 / mean))
            seq += 1
            d = {"id": str(rng.getrandbits(60)), "content": "x" * rng.randint(10, 400)}
            await ws.send(json.dumps({"op": 0, "t": rng.choice(EVENTS), "s": seq, "d": d}))

    task = asyncio.create_task(push())
    try:
        async for raw in ws:
            msg = json.loads(raw)
            if msg.get("op") == 1:
                await ws.send(json.dumps({"op": 11}))
    finally:
        task.cancel()


async def _handler(ws: Any) -> None:
    await ws.send(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
    hello = json.loads(await ws.recv())
    if hello.get("role") == "gateway":
        await ws.send(
            json.dumps({"op": 0, "t": "READY", "s": 0, "d": {"session_id": "x" * 32, "guilds": []}})
        )
        await _gateway(ws, hello)
        return
    async for raw in ws:  # chat: the room answers each line after a human pause
        await asyncio.sleep(0.2)
        await ws.send(json.dumps({"from": "peer", "text": str(raw)[::-1]}))


async def serve(ip: str, port: int, cert: Path, key: Path) -> None:
    from websockets.asyncio.server import serve as ws_serve

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    async with ws_serve(_handler, ip, port, ssl=ctx, ping_interval=None, max_queue=64) as srv:
        await srv.serve_forever()


async def session(s: Session) -> None:
    from websockets.asyncio.client import connect

    gateway = s.setting.role == "gateway"
    url = f"wss://{s.host}:{s.port}/?v=10&encoding=json"
    ping = None if gateway else s.keepalive()
    async with connect(url, ssl=s.tls_context(), ping_interval=ping) as ws:
        json.loads(await ws.recv())
        push_mean = s.setting.mean_s if gateway else 0
        await ws.send(
            json.dumps(
                {
                    "op": 2,
                    "role": s.setting.role,
                    "push_mean": push_mean,
                    "seed": s.rng.getrandbits(32),
                    "d": {"token": "t" * 59, "intents": 513},
                }
            )
        )
        drain = asyncio.create_task(_drain(ws))
        try:
            if gateway:
                await _heartbeats(ws, s)
            else:
                async for _ in s.ticks():
                    await ws.send(json.dumps({"text": s.text(3, 200)}))
        finally:
            drain.cancel()


async def _drain(ws: Any) -> None:
    async for _ in ws:
        pass


async def _heartbeats(ws: Any, s: Session) -> None:
    interval = s.keepalive()
    loop = asyncio.get_running_loop()
    end = loop.time() + s.duration
    await asyncio.sleep(interval * s.rng.random())  # Discord: the first beat after interval * jitter
    seq = 0
    while loop.time() + interval < end:
        seq += 1
        await ws.send(json.dumps({"op": 1, "d": seq}))
        await asyncio.sleep(interval)
    await asyncio.sleep(max(0.0, end - loop.time()))


PROGRAM = Program("websocket", "gateway.corpus.test", 80, 443, server, session)
