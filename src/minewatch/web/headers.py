"""Headers every answer carries: the pages run no script and load nothing from elsewhere,
cannot be framed, and send no referrer. A route may set its own policy (the bulletin does)."""

from __future__ import annotations

from minewatch.web.limits import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders"]

_POLICY = (
    b"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'"
)
_FIXED = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The API's own docs page loads its script from a CDN: it gets no policy of ours.
        docs = scope["path"] in ("/docs", "/redoc")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in _FIXED if h[0] not in names]
                if b"content-security-policy" not in names and not docs:
                    headers.append((b"content-security-policy", _POLICY))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
