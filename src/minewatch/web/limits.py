"""Bounds on what the network may send: request bodies by size, and requests per client
address by rate, each in bounded memory."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyLimit", "RateLimiter"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: a body over the limit for its path (the longest matching prefix)
    gets 413, whether it says its length or streams it."""

    def __init__(self, app: ASGIApp, limits: dict[str, int], default: int) -> None:
        self.app, self.default = app, default
        self.limits = sorted(limits.items(), key=lambda kv: -len(kv[0]))

    def _limit(self, path: str) -> int:
        return next((n for prefix, n in self.limits if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    await _refuse(send, limit)
                    return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer now and tell the app the client has gone: whatever it answers
                    # after that is dropped.
                    refused = True
                    if not started:
                        await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked)


async def _refuse(send: Send, limit: int) -> None:
    body = b'{"detail":"request body larger than %d bytes"}' % limit
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """At most `count` events per `per_s` seconds per key; remembers at most `keys` keys."""

    def __init__(self, count: int, per_s: float, keys: int = 100_000) -> None:
        self.count, self.per_s, self.keys = count, per_s, keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        t = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.pop(key, None) or deque(maxlen=self.count)
            while events and t - events[0] >= self.per_s:
                events.popleft()
            allowed = len(events) < self.count
            if allowed:
                events.append(t)
            self._events[key] = events
            while len(self._events) > self.keys:
                self._events.popitem(last=False)
            return allowed
