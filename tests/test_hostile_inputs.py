"""Every route of the service, API and console, under a generated corpus of hostile values
on SQLite and a real PostgreSQL: ids beyond 64 bits, digits that are not ASCII, NaN and
Infinity, dates that overflow with their offset, lone surrogates, NUL, odd Unicode, deep
nesting, wrong kinds and bodies that are not UTF-8. Each value goes into each path
parameter, query parameter, body field (down into a finding's evidence and attribution)
and form field in turn, the rest of the request kept valid, so the value reaches the code
behind the validators. Every answer must be a documented one: no 5xx, and nothing logged
as an error with a traceback. A route the corpus does not cover fails the test, so a new
route cannot slip past it."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from tests.service_fixtures import PASSWORD, Service, make_service, placed

# Values a JSON body may carry. json.dumps writes NaN and Infinity as those literals and a
# lone surrogate as the escape `\ud800`, as an attacker's client would.
DEEP_LIST: Any = 1
for _ in range(40):
    DEEP_LIST = [DEEP_LIST]
JSON_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**31,
    2**63,
    99999999999999999999,
    10**30,
    -(2**64),
    1e308,
    float("nan"),
    float("inf"),
    -0.0,
    0.5,
    "",
    "²",
    "١٢٣",
    "\x00",
    "\ud800",
    "a\udfffb",
    "\u202etxt.exe",
    "🙂" * 300,
    "x" * 5000,
    "'; DROP TABLE cases;--",
    "<script>alert(1)</script>",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2026-02-30T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "2026-11-27T00:00:00",
    "NaN",
    [],
    {},
    DEEP_LIST,
    {"$ne": 1},
    ["a"] * 2000,
)
# The same for places three deep and more (a finding's evidence, say), to keep the corpus
# inside a minute: the kinds of value, not every one.
NESTED_VALUES: tuple[Any, ...] = (
    None,
    True,
    -1,
    2**63,
    1e308,
    float("nan"),
    "",
    "\x00",
    "\ud800",
    "x" * 5000,
    "9999-12-31T23:59:59-14:00",
    [],
    {},
)
# Values for path segments, query strings and form fields (text, percent-encoded when sent).
TEXT_VALUES: tuple[str, ...] = (
    "",
    "0",
    "-1",
    "1.5",
    "1e3",
    " 7",
    "²",
    "١٢٣",
    "99999999999999999999",
    "9" * 400,
    "\x00",
    "\udcff",
    "🙂",
    "x" * 3000,
    "9999-12-31",
    "0000-00-00",
    "2026-02-30",
    "'; DROP TABLE cases;--",
    "<script>",
    "../../etc/passwd",
    "//evil.example/",
    "\\\\evil",
)
# Whole bodies of the wrong shape, sent as they are.
RAW_BODIES: tuple[bytes, ...] = (
    b"",
    b"null",
    b"[]",
    b"\xff\xfe{}",
    b'{"a": NaN}',
    b"[" * 5000 + b"]" * 5000,
    b'{"x": ' + b"9" * 5000 + b"}",
    b'{"x": 1e400}',
    b'{"x": "\\ud800"}',
    b"\xed\xa0\x80",
    "{}".encode("utf-16"),
    b'{"findings": [' + b"{}," * 50 + b"{}]}",
)

# The console's forms and queries, by route (they read them by hand, so the spec cannot say).
FORMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/login"): ("name", "password", "csrf"),
    ("POST", "/logout"): ("csrf",),
    ("POST", "/cases/{case_id}"): ("action", "deadline", "verdict", "unit_code", "assignee", "into", "note"),
    ("POST", "/tips/{tip_id}"): ("action", "case_id"),
    ("POST", "/users"): ("action", "name", "unit_code", "role", "password", "user_id"),
    ("POST", "/tip"): ("location", "organisation", "description", "contact", "unit_code"),
}
QUERIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/login"): ("failed",),
    ("GET", "/lang/{code}"): ("back",),
    ("GET", "/"): ("status", "severity", "unit", "host", "overdue", "page"),
    ("GET", "/cases/{case_id}"): ("done",),
    ("GET", "/dashboard"): (),
    ("GET", "/meters"): (),
    ("GET", "/users"): (),
    ("GET", "/report"): ("format",),
    ("GET", "/tip"): (),
}
# A valid form per console POST (before one field is made hostile); "{csrf}" is filled in.
FORM_BASE: dict[str, dict[str, str]] = {
    "/login": {"name": "admin", "password": "wrong password!", "csrf": "{pre}"},
    "/logout": {"csrf": "nothing"},  # a wrong token: signing out the fuzzer would end the run
    "/cases/{case_id}": {"action": "triage", "note": "n", "csrf": "{csrf}"},
    "/tips/{tip_id}": {"action": "dismiss", "csrf": "{csrf}"},
    "/users": {
        "action": "add",
        "name": "fuzz-person",
        "unit_code": "320213",
        "role": "analyst",
        "password": "a long enough password",
        "csrf": "{csrf}",
    },
    "/tip": {
        "location": "无锡",
        "description": "矿机很吵",
        "organisation": "",
        "contact": "",
        "unit_code": "",
    },
}
# A valid JSON body per API route that takes one.
JSON_BASE: dict[str, Any] = {
    "/api/v1/sign-in": {"name": "nobody", "password": "wrong password!"},
    "/api/v1/cases/{case_id}/actions": {"action": "triage", "note": "n"},
    "/api/v1/tips/{tip_id}/link": {"case_id": 1},
    "/api/v1/public/tips": {"location": "无锡", "description": "矿机很吵"},
    "/api/v1/users": {"name": "fuzz-person", "unit_code": "320213", "role": "analyst", "password": "x" * 12},
    "/api/v1/users/{user_id}/active": {"active": True},
}
# Routes whose answer is not the service's to give (the framework's docs and files).
FRAMEWORK = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/static"}
# Routes that end the fuzzer's own session when they succeed: only ever sent without CSRF.
ENDS_SESSION = {("POST", "/api/v1/sign-out")}
SIGN_IN = {"/api/v1/sign-in", "/login"}


@dataclass(frozen=True)
class Sent:
    method: str
    route: str
    url: str
    what: str  # which value in which place, for the failure message
    status: int


class _Traces(logging.Handler):
    """Every record logged with a traceback, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)


@pytest.fixture
def service(tmp_path: Path, db_url: str) -> Iterator[Service]:
    made = make_service(tmp_path, db_url, tips_per_window=100_000, tick_s=None)
    yield made
    made.close()


class Fuzzer:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.client = TestClient(service.app, raise_server_exceptions=False, follow_redirects=False)
        self.sent: list[Sent] = []
        self.covered: set[tuple[str, str]] = set()
        self._sign_in()
        self.service.push([placed("10.20.0.1", "320213"), placed("10.30.0.1", "320102")])

    def _sign_in(self) -> None:
        self.client.cookies.clear()
        r = self.client.post("/api/v1/sign-in", json={"name": "admin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrf"]
        r = self.client.get("/login")
        self.pre = self.client.cookies.get("mw_pre") or ""

    def _signed_in(self) -> None:
        """Hostile values may legitimately end the session (a role changed, say): sign in again."""
        if self.client.get("/api/v1/me").status_code != 200:
            self._sign_in()

    def send(self, method: str, route: str, url: str, what: str, **kwargs: Any) -> None:
        headers = {"X-CSRF-Token": self.csrf, "Authorization": f"Bearer {self.service.token}"}
        if (method, route) in ENDS_SESSION:
            headers.pop("X-CSRF-Token")
        headers.update(kwargs.pop("headers", {}))
        if route in SIGN_IN:  # else the throttle answers 429 before the code behind it sees the value
            self.service.app.state.throttle = type(self.service.app.state.throttle)()
        r = self.client.request(method, url, headers=headers, **kwargs)
        self.sent.append(Sent(method, route, url[:120], what[:160], r.status_code))
        self.covered.add((method, route))

    def fill(self, template: str, values: dict[str, str]) -> str:
        for name, value in values.items():
            template = template.replace("{" + name + "}", quote(value, safe="", errors="surrogatepass"))
        return template


def _path_names(route: str) -> list[str]:
    return [part[1:-1] for part in route.split("/") if part.startswith("{")]


def _valid_path(route: str) -> dict[str, str]:
    return {name: "1" if name != "code" else "en" for name in _path_names(route)}


def _fields(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value: each key of each object, the first item of each list."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _fields(item, (*prefix, key))
    elif isinstance(value, list) and value:
        yield (*prefix, 0)
        yield from _fields(value[0], (*prefix, 0))


def _with(value: Any, place: tuple[Any, ...], new: Any) -> Any:
    out = copy.deepcopy(value)
    holder = out
    for step in place[:-1]:
        holder = holder[step]
    holder[place[-1]] = new
    return out


def _routes(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route, into included routers (FastAPI keeps those apart)."""
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            out.extend(_routes(included.routes, prefix + route.include_context.prefix))
            continue
        if isinstance(route, Mount) or route.path in FRAMEWORK:
            continue
        assert isinstance(route, APIRoute | Route), route
        out.extend((m, prefix + route.path) for m in sorted(route.methods or ()) if m != "HEAD")
    return out


def _push_body() -> dict[str, Any]:
    return {"findings": [placed("10.20.0.7", "320213")]}


def _fuzz_api(f: Fuzzer, method: str, route: str) -> None:
    spec = f.service.app.openapi()["paths"][route][method.lower()]
    base_body = _push_body() if route == "/api/v1/findings" else JSON_BASE.get(route)
    path = _valid_path(route)
    for name in _path_names(route):
        for text in TEXT_VALUES:
            url = f.fill(route, {**path, name: text})
            f.send(method, route, url, f"path {name}={text!r}", json=base_body if base_body else None)
    url = f.fill(route, path)
    for param in spec.get("parameters", []):
        if param["in"] != "query":
            continue
        for text in TEXT_VALUES:
            query = _form({param["name"]: text}).decode()
            f.send(method, route, f"{url}?{query}", f"query {param['name']}={text!r}")
    if "requestBody" not in spec:
        return
    assert base_body is not None, f"no valid body for {route} in JSON_BASE"
    f.send(method, route, url, "the valid body", json=base_body)
    for place in _fields(base_body):
        for value in JSON_VALUES if len(place) <= 3 else NESTED_VALUES:
            body = json.dumps(_with(base_body, place, value)).encode()
            f.send(method, route, url, f"{place}={value!r}"[:160], content=body, headers=_JSON)
        body = copy.deepcopy(base_body)
        holder = body
        for step in place[:-1]:
            holder = holder[step]
        del holder[place[-1]]
        f.send(method, route, url, f"{place} missing", content=json.dumps(body).encode(), headers=_JSON)
    for raw in RAW_BODIES:
        f.send(method, route, url, f"raw body {raw[:30]!r}", content=raw, headers=_JSON)


_JSON = {"Content-Type": "application/json"}
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _form(fields: dict[str, str]) -> bytes:
    return "&".join(
        f"{quote(k)}={quote(v, safe='', errors='surrogatepass')}" for k, v in fields.items()
    ).encode()


def _fuzz_console(f: Fuzzer, method: str, route: str) -> None:
    path = _valid_path(route)
    for name in _path_names(route):
        for text in TEXT_VALUES:
            f.send(method, route, f.fill(route, {**path, name: text}), f"path {name}={text!r}")
    url = f.fill(route, path)
    if method == "GET":
        assert (method, route) in QUERIES, f"no query names for {route} in QUERIES"
        f.send(method, route, url, "no query")
        for name in QUERIES[(method, route)]:
            for text in TEXT_VALUES:
                f.send(method, route, url + "?" + _form({name: text}).decode(), f"query {name}={text!r}")
        return
    assert (method, route) in FORMS, f"no form fields for {route} in FORMS"
    base = {k: v.format(csrf=f.csrf, pre=f.pre) for k, v in FORM_BASE[route].items()}
    for name in FORMS[(method, route)]:
        for text in TEXT_VALUES:
            form = _form({**base, name: text})
            f.send(method, route, url, f"form {name}={text!r}", content=form, headers=_FORM)
    for raw in (b"", b"%", b"a=%ZZ&b", b"\xff\xfe", b"csrf=" + b"x" * 70000):
        f.send(method, route, url, f"raw form {raw[:20]!r}", content=raw, headers=_FORM)
        f.send(
            method,
            route,
            url,
            f"raw form {raw[:20]!r} as multipart",
            content=raw,
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )


# Headers every route reads (the cookies, the language, the CSRF token, the sensor token).
HEADERS: tuple[tuple[str, str | bytes], ...] = (
    ("Cookie", "mw_session="),
    ("Cookie", "mw_session=" + "x" * 5000),
    ("Cookie", "mw_session=%00; mw_lang=%ED%A0%80"),
    ("Cookie", "mw_lang=" + "x" * 300),
    ("Accept-Language", "zh-CN;q=NaN, en;q=1e400, *;q=-1"),
    ("Accept-Language", ",".join(["xx"] * 2000)),
    ("X-CSRF-Token", "\x00" * 300),
    ("Authorization", "Bearer " + "x" * 5000),
    ("Authorization", b"Basic \xff\xfe"),
    ("Content-Type", "application/json; charset=utf-16"),
    ("Content-Type", "multipart/form-data"),
    ("X-Forwarded-For", "1.2.3.4, " * 200),
)


def _fuzz_headers(f: Fuzzer, method: str, route: str) -> None:
    url = f.fill(route, _valid_path(route))
    f.send(method, route, url, "as it is")
    for name, value in HEADERS:
        f.send(method, route, url, f"header {name}: {value[:40]!r}", headers={name: value})


def test_no_input_gets_a_5xx_or_a_traceback(service: Service) -> None:
    traces = _Traces()
    logging.getLogger().addHandler(traces)
    try:
        fuzzer = Fuzzer(service)
        routes = _routes(service.app.routes)
        api = set(service.app.openapi()["paths"])
        for method, route in routes:
            fuzzer._signed_in()
            began, count = time.monotonic(), len(fuzzer.sent)
            _fuzz_headers(fuzzer, method, route)
            if route in api:
                _fuzz_api(fuzzer, method, route)
            else:
                _fuzz_console(fuzzer, method, route)
            print(
                f"{method} {route}: {len(fuzzer.sent) - count} requests in {time.monotonic() - began:.1f} s"
            )
    finally:
        logging.getLogger().removeHandler(traces)
    failed = [s for s in fuzzer.sent if s.status >= 500]
    assert not failed, f"{len(failed)} of {len(fuzzer.sent)} answers were 5xx, e.g. " + "; ".join(
        f"{s.status} {s.method} {s.url} with {s.what}" for s in failed[:8]
    )
    assert not traces.records, [r.getMessage()[:200] for r in traces.records[:5]]
    assert fuzzer.covered == set(routes)
    assert len(fuzzer.sent) > 3000  # the corpus is what it says
    # And the hostile values were refused with a 4xx, not taken: none of them made a case.
    statuses = {s.status for s in fuzzer.sent}
    # (307: "/api/v1/cases/" is sent to "/api/v1/cases", the framework's slash redirect.)
    assert statuses <= {200, 201, 204, 303, 307, 400, 401, 403, 404, 405, 409, 413, 422, 429}, sorted(
        statuses
    )
