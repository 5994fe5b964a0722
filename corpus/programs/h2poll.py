"""HTTP/2 long-poll over TLS: hypercorn serving a small ASGI app, httpx[http2] clients. Each
request is held up to `wait` seconds (the keepalive range, 20-60 s) and answered small: an
event when one arrives first (Poisson, mean mean_s), else an empty 204. Push services work so."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from corpus import serve as _serve
from corpus.programs import Program, ServerCommand
from corpus.spec import Cell, Pattern, Session


def server(cell: Cell) -> list[ServerCommand]:
    return [ServerCommand(_serve.command("h2poll", cell))]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    q = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    rng = random.Random(q.get("seed", "0"))
    wait, mean = float(q.get("wait", "30")), float(q.get("mean", "0"))
    event_at = rng.expovariate(1 / mean) if mean > 0 else wait + 1
    await asyncio.sleep(min(wait, event_at))
    if event_at < wait:
        body = json.dumps({"id": rng.getrandbits(48), "type": "notify", "data": "x" * rng.randint(20, 300)})
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})
    else:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def serve(ip: str, port: int, cert: Path, key: Path) -> None:
    from hypercorn.asyncio import serve as hc_serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{ip}:{port}"]
    config.certfile, config.keyfile = str(cert), str(key)
    config.alpn_protocols = ["h2", "http/1.1"]
    config.keep_alive_timeout = 120
    config.loglevel = "WARNING"
    await hc_serve(app, config)  # type: ignore[arg-type]


async def session(s: Session) -> None:
    import httpx

    mean = s.setting.mean_s if s.setting.pattern is not Pattern.IDLE else 0
    loop = asyncio.get_running_loop()
    end = loop.time() + s.duration
    timeout = httpx.Timeout(90.0)
    async with httpx.AsyncClient(http2=True, verify=s.tls_context(), timeout=timeout) as client:
        while (left := end - loop.time()) > 1:
            wait = min(left, s.keepalive())
            params = {"wait": f"{wait:.1f}", "mean": str(mean), "seed": str(s.rng.getrandbits(32))}
            r = await client.get(f"https://{s.host}:{s.port}/v1/poll", params=params)
            if r.status_code == 200:
                await asyncio.sleep(s.rng.uniform(0.05, 0.5))  # the app handles the event


PROGRAM = Program("h2poll", "push.corpus.test", 80, 443, server, session)
