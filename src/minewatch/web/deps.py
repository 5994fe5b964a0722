"""The service's settings and what each route asks for: a database session, the signed-in
person (by cookie, with the CSRF token for changes) or the sensor (by bearer token)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from minewatch.cases.models import ApiToken, LoginSession
from minewatch.options import QUIET, SECURE_COOKIES, SERVICE, TIMEZONE, TIPS_PER_10MIN
from minewatch.web.auth import DEVICE_LIFETIME, Granted, session_for, token_for

__all__ = [
    "COOKIE",
    "Db",
    "ServiceSettings",
    "SignedIn",
    "csrf_ok",
    "set_session_cookie",
    "set_signed_in_cookies",
    "db",
    "now",
    "sensor",
    "signed_in",
    "signed_in_csrf",
]

COOKIE = "mw_session"


@dataclass(frozen=True)
class ServiceSettings:
    db_url: str
    # How long a host must stay quiet before verification closes its case as stopped.
    quiet: timedelta = QUIET.default
    session_lifetime: timedelta = timedelta(hours=8)
    # Behind TLS (a reverse proxy), cookies should say Secure.
    secure_cookies: bool = SECURE_COOKIES.default
    tips_per_window: int = TIPS_PER_10MIN.default
    tip_window_s: float = 600.0
    # The store's attribution folder: findings pushed without an owner are attributed here.
    attribution_dir: Path | None = None
    # The store's meter folder: the meters page shows its last assessment.
    meters_dir: Path | None = None
    # The offices' time zone: pages show times in it, and a deadline date ends at its midnight.
    timezone: str = TIMEZONE.default
    # Seconds between escalating overdue cases and closing verified ones; None: not here
    # (several workers leave it to `minewatch cases tick` from cron).
    tick_s: float | None = 300.0

    @classmethod
    def of(cls, db_url: str, store: Path, chosen: Mapping[str, Any]) -> ServiceSettings:
        """The settings of a service on `store` from the values of `minewatch.options.SERVICE`
        (by option name; defaults for the rest)."""
        values = {o.name: chosen.get(o.name, o.default) for o in SERVICE}
        return cls(
            db_url=db_url,
            quiet=values["quiet"],
            secure_cookies=values["secure_cookies"],
            tips_per_window=values["tips_per_10min"],
            tip_window_s=600.0,  # the "10min" of --tips-per-10min
            attribution_dir=store / "attribution",
            meters_dir=store / "meters",
            timezone=values["timezone"],
        )


def now() -> datetime:
    return datetime.now(UTC)


def db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


Db = Annotated[Session, Depends(db)]

_cookie = APIKeyCookie(
    name=COOKIE, scheme_name="session", auto_error=False, description="The session cookie set by sign-in."
)
_csrf = APIKeyHeader(
    name="X-CSRF-Token",
    scheme_name="csrf",
    auto_error=False,
    description="The csrf value that sign-in returned.",
)
_bearer = HTTPBearer(
    scheme_name="sensor", auto_error=False, description="A sensor token from `minewatch tokens add`."
)


def signed_in(session: Db, token: Annotated[str | None, Depends(_cookie)]) -> LoginSession:
    found = session_for(session, token, now())
    if found is None:
        raise HTTPException(401, "sign in first")
    return found


SignedIn = Annotated[LoginSession, Depends(signed_in)]


def csrf_ok(login: LoginSession, offered: str | None) -> bool:
    return offered is not None and hmac.compare_digest(login.csrf.encode(), offered.encode()[:128])


def signed_in_csrf(login: SignedIn, offered: Annotated[str | None, Depends(_csrf)]) -> LoginSession:
    if not csrf_ok(login, offered):
        raise HTTPException(403, "missing or wrong X-CSRF-Token")
    return login


def sensor(
    session: Db, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiToken:
    found = token_for(session, credentials.credentials if credentials else None)
    if found is None:
        raise HTTPException(401, "a valid sensor token is needed", headers={"WWW-Authenticate": "Bearer"})
    return found


def set_session_cookie(response: Response, token: str, settings: ServiceSettings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=int(settings.session_lifetime.total_seconds()),
    )


def set_signed_in_cookies(response: Response, granted: Granted, settings: ServiceSettings, path: str) -> None:
    """The session cookie, and the device cookie that marks this browser as known to the
    sign-in throttle. The device cookie goes only to the sign-in route at `path`."""
    set_session_cookie(response, granted.token, settings)
    response.set_cookie(
        granted.device_cookie,
        granted.device_token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=int(DEVICE_LIFETIME.total_seconds()),
        path=path,
    )
