"""A bounded fetch of one web page: the size, time and redirect caps, robots.txt, an
optional HTTP proxy, and the address policy of `minewatch.probe.policy`.

The name is resolved once and the connection goes to that address (the Host header and
TLS SNI keep the name), so a DNS answer cannot turn public into private between the check
and the connect. Through a proxy the proxy resolves, so the check is on our own answer.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.parse
import urllib.robotparser
from dataclasses import dataclass, field

from minewatch.probe.policy import Policy

__all__ = ["AGENT", "Failure", "FetchLimits", "Fetcher", "Page", "Redirect"]

AGENT = "minewatch-sites/0.1"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ROBOTS_CAP = 512 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB of robots.txt
_GONE_STATUS = frozenset({404, 410, 451})
# getaddrinfo's "no such name" (NXDOMAIN) and "no address of that kind": the name is gone.
_NO_NAME = frozenset(e for e in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)) if e is not None)


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 2 * 1024 * 1024
    timeout_s: float = 10.0  # for the whole fetch: robots, redirects and body together
    max_redirects: int = 5


@dataclass(frozen=True)
class Redirect:
    status: int
    source: str
    target: str


@dataclass(frozen=True)
class Page:
    """A fetched page: the final URL and address, the hops that led there, the body (cut at
    the size cap: `truncated` says so) decoded as text."""

    url: str
    address: str
    status: int
    content_type: str
    text: str
    truncated: bool = False
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True)
class Failure:
    """Why a page was not fetched: `kind` is refused (policy), robots, timeout, redirects,
    error (network or HTTP)."""

    url: str
    kind: str
    reason: str
    redirects: tuple[Redirect, ...] = ()
    # The site is not there: its name does not resolve, nothing listens, or the server says
    # the page is not found, gone or withdrawn for legal reasons (404, 410, 451). A timeout
    # or a proxy's error is not "gone": it says nothing about the site.
    gone: bool = False


@dataclass(frozen=True)
class _Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    truncated: bool
    address: str


class _Stop(Exception):
    """Internal: ends a fetch with its Failure."""

    def __init__(self, kind: str, reason: str, gone: bool = False) -> None:
        super().__init__(reason)
        self.kind, self.reason, self.gone = kind, reason, gone


@dataclass
class Fetcher:
    """Fetches pages under `limits` and `policy`; `proxy` is an http:// proxy URL."""

    limits: FetchLimits = field(default_factory=FetchLimits)
    policy: Policy = field(default_factory=Policy)
    proxy: str | None = None
    agent: str = AGENT
    _robots: dict[str, urllib.robotparser.RobotFileParser] = field(default_factory=dict)

    def fetch(self, url: str) -> Page | Failure:
        """The page at `url` after at most `max_redirects` redirects, or why not."""
        deadline = time.monotonic() + self.limits.timeout_s
        hops: list[Redirect] = []
        current = url
        try:
            while True:
                self._check_robots(current, deadline)
                resp = self._get(current, deadline, self.limits.max_bytes)
                location = resp.headers.get("Location")
                if resp.status not in _REDIRECTS or not location:
                    return _page(current, resp, tuple(hops))
                target = urllib.parse.urljoin(current, location)
                hops.append(Redirect(resp.status, current, target))
                if len(hops) > self.limits.max_redirects:
                    raise _Stop("redirects", f"more than {self.limits.max_redirects} redirects")
                current = target
        except _Stop as stop:
            return Failure(current, stop.kind, stop.reason, tuple(hops), stop.gone)

    def _check_robots(self, url: str, deadline: float) -> None:
        parts = urllib.parse.urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._read_robots(origin, deadline)
        if not self._robots[origin].can_fetch(self.agent, url):
            raise _Stop("robots", f"robots.txt of {origin} disallows {parts.path or '/'}")

    def _read_robots(self, origin: str, deadline: float) -> urllib.robotparser.RobotFileParser:
        rules = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        resp = self._get(origin + "/robots.txt", deadline, _ROBOTS_CAP)
        # RFC 9309 2.3.1: a 4xx (or a redirect we do not follow) means no rules; a 5xx
        # means the site is unreachable for crawling, so everything is disallowed.
        if resp.status >= 500:
            rules.parse(["User-agent: *", "Disallow: /"])
        elif 200 <= resp.status < 300:
            rules.parse(resp.body.decode("utf-8", "replace").splitlines())
        else:
            rules.parse([])
        return rules

    def _get(self, url: str, deadline: float, cap: int) -> _Response:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Stop("error", f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        # Through a proxy the proxy resolves (and the user chose it): no address of ours.
        address = "" if self.proxy else self._resolve(parts.hostname, port)
        conn = self._connection(parts.scheme, parts.hostname, address, port, _remaining(deadline))
        target = url if self.proxy and parts.scheme == "http" else (parts.path or "/")
        if not (self.proxy and parts.scheme == "http") and parts.query:
            target += "?" + parts.query
        try:
            conn.request("GET", target, headers={"Host": parts.netloc, "User-Agent": self.agent})
            resp = conn.getresponse()
            body, truncated = _read_capped(resp, cap, deadline, conn)
            return _Response(resp.status, resp.headers, body, truncated, address)
        except TimeoutError:
            raise _Stop("timeout", f"no complete answer within {self.limits.timeout_s:g} s") from None
        except ConnectionRefusedError as exc:
            raise _Stop("error", f"{type(exc).__name__}: {exc}", gone=not self.proxy) from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Stop("error", f"{type(exc).__name__}: {exc}") from None
        finally:
            conn.close()

    def _resolve(self, host: str, port: int) -> str:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            missing = isinstance(exc, socket.gaierror) and exc.errno in _NO_NAME
            raise _Stop("error", f"cannot resolve {host}: {exc}", gone=missing) from None
        # Every address of the name must pass: a name with one private answer is refused.
        addresses = [str(info[4][0]) for info in infos]
        for addr in addresses:
            why = self.policy.refusal(addr)
            if why is not None:
                why = why.replace("probe with --probe-private", "fetch with --allow-private")
                raise _Stop("refused", f"{host} -> {addr}: {why}")
        return addresses[0]

    def _connection(
        self, scheme: str, host: str, address: str, port: int, timeout: float
    ) -> http.client.HTTPConnection:
        if self.proxy:
            proxy = urllib.parse.urlsplit(self.proxy)
            conn_cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
            conn = conn_cls(proxy.hostname or "", proxy.port or 8080, timeout=timeout)
            conn.pinned = None  # the proxy is the user's choice; it resolves the name
            if scheme == "https":
                conn.set_tunnel(host, port)
            return conn
        conn = (_PinnedHTTPS if scheme == "https" else _PinnedHTTP)(host, port, timeout=timeout)
        conn.pinned = address
        return conn


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address resolved and checked before, not to a fresh lookup."""

    pinned: str | None = None

    def connect(self) -> None:
        where = self.pinned or self.host
        self.sock = socket.create_connection((where, self.port), self.timeout)
        if self._tunnel_host:  # type: ignore[attr-defined]
            self._tunnel()  # type: ignore[attr-defined]


class _PinnedHTTPS(_PinnedHTTP):
    default_port = 443

    def connect(self) -> None:
        super().connect()
        server = self._tunnel_host or self.host  # type: ignore[attr-defined]
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=server)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Stop("timeout", "time cap reached")
    return left


def _read_capped(
    resp: http.client.HTTPResponse, cap: int, deadline: float, conn: http.client.HTTPConnection
) -> tuple[bytes, bool]:
    """At most `cap` bytes of the body, reading in chunks so a slow server meets the deadline."""
    chunks: list[bytes] = []
    size = 0
    while size <= cap:
        if conn.sock is not None:
            conn.sock.settimeout(_remaining(deadline))
        chunk = resp.read1(65536)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > deadline:
            raise _Stop("timeout", "time cap reached while reading the body")
    return b"".join(chunks)[:cap], True


def _page(url: str, resp: _Response, hops: tuple[Redirect, ...]) -> Page | Failure:
    if resp.status >= 400:
        return Failure(url, "error", f"HTTP {resp.status}", hops, resp.status in _GONE_STATUS)
    ctype = resp.headers.get("Content-Type", "")
    charset = resp.headers.get_content_charset() or "utf-8"
    try:
        text = resp.body.decode(charset, "replace")
    except LookupError:
        text = resp.body.decode("utf-8", "replace")
    return Page(url, resp.address, resp.status, ctype, text, resp.truncated, hops)
