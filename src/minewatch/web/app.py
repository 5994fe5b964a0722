"""The service: `create_app(settings)` wires the database, the API, the console, the
public tip page, the limits and the headers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from minewatch import __version__
from minewatch.attribute.attributor import Attributor
from minewatch.cases.db import connect
from minewatch.cases.workflow import tick
from minewatch.web import api, console
from minewatch.web.auth import LoginThrottle
from minewatch.web.deps import ServiceSettings
from minewatch.web.headers import SecurityHeaders
from minewatch.web.limits import BodyLimit, RateLimiter

__all__ = ["create_app", "from_environment"]

log = logging.getLogger(__name__)

# Bytes a request may carry: a sensor's batch of up to 1,000 findings; a tip's form; the rest.
BODY_LIMITS = {"/api/v1/findings": 8 << 20, "/api/v1/public/tips": 16 << 10, "/tip": 16 << 10}
BODY_DEFAULT = 64 << 10


def create_app(settings: ServiceSettings) -> FastAPI:
    engine = connect(settings.db_url)
    app = FastAPI(
        lifespan=_ticking,
        title="minewatch",
        version=__version__,
        description="Cases of cryptocurrency mining, from findings to their close.",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessionmaker(engine, expire_on_commit=False)
    app.state.throttle = LoginThrottle()
    app.state.tip_limiter = RateLimiter(settings.tips_per_window, settings.tip_window_s)
    attributor = Attributor.from_dir(settings.attribution_dir) if settings.attribution_dir else None
    app.state.attributor = attributor or None
    app.include_router(api.router)
    app.include_router(console.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(BodyLimit, limits=BODY_LIMITS, default=BODY_DEFAULT)
    app.add_middleware(SecurityHeaders)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_exception_handler(StarletteHTTPException, _with_allow)
    app.add_exception_handler(RequestValidationError, _invalid)
    return app


async def _invalid(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, with each error's input echoed only as far as it is safe to: a lone
    surrogate, a NaN or a 5,000-deep value in the input must not break the answer that
    refuses it (each did, as a 500)."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "type": str(e.get("type", "")),
            "loc": [_echo(part) for part in e.get("loc", ())],
            "msg": _echo(e.get("msg", "")),
            **({"input": _echo(e["input"])} if _scalar(e.get("input")) else {}),
        }
        for e in exc.errors()[:50]
    ]
    return JSONResponse({"detail": errors}, status_code=422)


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _echo(value: object) -> object:
    """A scalar as the answer may carry it: finite, valid Unicode, at most 200 characters."""
    if isinstance(value, bool | int) and abs(value) < 2**63:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text[:200].encode("utf-8", "backslashreplace").decode("utf-8")


async def _with_allow(request: Request, exc: Exception) -> Response:
    """Starlette's 405 names the methods of one route only; a path served by several
    (GET and POST /api/v1/users) should name them all, as HTTP asks. They are read from
    the app's own OpenAPI paths."""
    assert isinstance(exc, StarletteHTTPException)
    response = await http_exception_handler(request, exc)
    if exc.status_code == 405:
        methods: set[str] = set()
        for template, operations in request.app.openapi()["paths"].items():
            pattern, _, _ = compile_path(template)
            if pattern.match(request.url.path):
                methods |= {m.upper() for m in operations}
        if methods:
            response.headers["Allow"] = ", ".join(sorted(methods))
    return response


@asynccontextmanager
async def _ticking(app: FastAPI) -> AsyncIterator[None]:
    """While serving, every `tick_s` seconds: escalate overdue cases, close verified ones."""
    settings: ServiceSettings = app.state.settings
    task = asyncio.create_task(_tick_forever(app, settings.tick_s)) if settings.tick_s else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _tick_forever(app: FastAPI, every_s: float) -> None:
    while True:
        try:
            await asyncio.to_thread(_tick_once, app)
        except Exception:  # a failed tick must not stop the next: it is logged and retried
            log.exception("minewatch: the workflow tick failed")
        await asyncio.sleep(every_s)


def _tick_once(app: FastAPI) -> tuple[int, int]:
    with app.state.sessions() as session:
        done = tick(session, datetime.now(UTC), app.state.settings.quiet)
        session.commit()
    return done


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI lists each credential a route asks for as an alternative; here every one is
    required together (the session cookie and the CSRF header), so the spec says so."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for operations in spec["paths"].values():
            for operation in operations.values():
                needs = operation.get("security")
                if needs and len(needs) > 1:
                    operation["security"] = [{name: [] for need in needs for name in need}]
        app.openapi_schema = spec
    return app.openapi_schema


def from_environment() -> FastAPI:
    """The app for each of several uvicorn workers, from the settings `serve` left in
    MINEWATCH_SERVICE. Login throttles and tip limits are then per worker."""
    import json
    import os
    from dataclasses import replace

    from minewatch.options import SERVICE, from_text

    given = json.loads(os.environ["MINEWATCH_SERVICE"])
    settings = ServiceSettings.of(given.pop("db_url"), Path(given.pop("store")), from_text(SERVICE, given))
    return create_app(replace(settings, tick_s=None))
