"""A loopback web server for the sites tests: fixed pages, plus the special paths the
fetcher's bounds are tested on (redirects, robots.txt, oversized and slow pages)."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROBOTS = "User-agent: *\nDisallow: /private/\n"
BIG_BYTES = 3 * 1024 * 1024


def _handler(pages: dict[str, str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in {"Content-Type": "text/html; charset=utf-8", **(headers or {})}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path
            if path == "/robots.txt":
                self._send(200, ROBOTS.encode(), {"Content-Type": "text/plain"})
            elif path.startswith("/redirect/"):
                n = int(path.rsplit("/", 1)[1])
                target = "/redirect/" + str(n - 1) if n > 1 else "/pool-en-0.html"
                self._send(302, b"", {"Location": target})
            elif path == "/big":
                self._send(200, b"<p>mining pool</p>" + b" " * BIG_BYTES)
            elif path == "/slow":
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(50):  # bounded: at most 5 s
                    self.wfile.write(b"<p>x</p>")
                    self.wfile.flush()
                    time.sleep(0.1)
            elif path in pages:
                self._send(200, pages[path].encode())
            else:
                self._send(404, b"not found")

    return Handler


@contextmanager
def serve(pages: dict[str, str]) -> Iterator[str]:
    """A server on 127.0.0.1 (a free port) for the block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(pages))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def forward_proxy() -> Iterator[tuple[str, list[str]]]:
    """A plain-HTTP forward proxy on 127.0.0.1 that relays GETs of absolute URLs (loopback
    targets only, as the tests use it); yields its URL and the list of URLs it relayed."""
    seen: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            parts = urllib.parse.urlsplit(self.path)
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=5)
            conn.request("GET", parts.path or "/")
            resp = conn.getresponse()
            body = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() in ("content-type", "location"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            conn.close()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def virtual_hosts(sites: dict[str, dict[str, str]]) -> Iterator[str]:
    """A loopback HTTP forward proxy that is also the origin of the sites it knows:
    `sites[name][path]` is the page (a dict the test may change while it runs; a name
    with no entry answers the way a proxy does for a name that does not resolve, 502).
    Yields the proxy URL. With it, tests fetch real names (`exchange.example`) without
    touching DNS or any address beyond 127.0.0.1."""

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            parts = urllib.parse.urlsplit(self.path)
            pages = sites.get(parts.hostname or "")
            if pages is None:
                status, body = 502, b"cannot resolve"
            elif parts.path == "/robots.txt":
                status, body = 404, b""
            elif parts.path in pages:
                status, body = 200, pages[parts.path].encode()
            else:
                status, body = 404, b"not found"
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
