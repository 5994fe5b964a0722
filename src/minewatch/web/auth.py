"""Who is asking: people by password (argon2) and a server-side session whose cookie is
useless without its CSRF token; sensors by an API token of which only a hash is kept; a
throttle on failed sign-ins (`minewatch.web.throttle`), and the device cookie that lets a
person's own browser past the throttle's per-name delay."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from minewatch.cases.models import ApiToken, LoginSession, Role, Unit, User
from minewatch.errors import AccountError, SignInRefused
from minewatch.web.throttle import Attempt, LoginThrottle

__all__ = [
    "MIN_PASSWORD",
    "DEVICE_LIFETIME",
    "AccountError",
    "Granted",
    "LoginThrottle",
    "authenticate",
    "create_user",
    "device_cookie",
    "end_session",
    "issue_token",
    "SignInRefused",
    "session_for",
    "sign_in",
    "start_session",
    "token_for",
]

MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Granted:
    """A sign-in that went through: the session cookie's token, and the device cookie to
    set (its name and value) so this browser is known to the throttle next time."""

    token: str
    device_cookie: str
    device_token: str


def sign_in(
    session: Session,
    throttle: LoginThrottle,
    name: str,
    password: str,
    address: str,
    now: datetime,
    lifetime: timedelta,
    device: str | None = None,
) -> Granted:
    """Check the password under the throttle and start a session, or raise SignInRefused.
    `device` is the value of this name's device cookie, if the browser sent one. The
    password is checked (argon2, the costly step) only once the throttle lets the try
    happen; the throttle then counts a failure or clears the attempt's own."""
    name, password = name[:64], password[:1024]
    user = _active_user(session, name)
    attempt = Attempt(name, address, _device_id(user, name, device, now))
    wait = throttle.begin(attempt, now)
    if wait > timedelta(0):
        raise SignInRefused(wait)
    try:
        right = _verify(user, password)  # first, so an unknown name costs the same argon2 check
        if user is None or not right:
            throttle.failed(attempt, now)
            raise SignInRefused(timedelta(0))
        throttle.succeeded(attempt)
    finally:
        throttle.end(attempt)
    token, _ = start_session(session, user, now, lifetime)
    fresh = _device_token(user, name, secrets.token_urlsafe(16), int(now.timestamp()))
    return Granted(token, device_cookie(name), fresh)


# How long a device cookie is good for; each sign-in with it gives a fresh one.
DEVICE_LIFETIME = timedelta(days=90)


def device_cookie(name: str) -> str:
    """The name of the cookie that carries `name`'s device token: one per person, so people
    sharing a browser each keep theirs, named by a hash since cookie names are ASCII."""
    return "mw_device_" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _device_token(user: User, name: str, nonce: str, issued: int) -> str:
    """A device token `nonce.issued.mac` (issued in Unix seconds). The MAC's key comes from
    the person's password hash (salted, kept in the database): it needs no secret of its
    own, holds in every worker and across restarts, and a new password voids all of the
    person's devices."""
    stamp = str(issued)
    key = hashlib.sha256(b"minewatch device cookie\0" + user.password_hash.encode()).digest()
    message = "\0".join((name, nonce, stamp)).encode("utf-8", "surrogatepass")
    return f"{nonce}.{stamp}.{hmac.new(key, message, hashlib.sha256).hexdigest()}"


def _device_id(user: User | None, name: str, token: str | None, now: datetime) -> str | None:
    """The nonce of a device token that `user` was given and that has not expired, else None."""
    if user is None or not token or len(token) > 200 or token.count(".") != 2:
        return None
    nonce, stamp, _ = token.split(".")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return None
    age = now.timestamp() - int(stamp)  # a few minutes ahead: another worker's clock
    if not -300 <= age <= DEVICE_LIFETIME.total_seconds():
        return None
    expected = _device_token(user, name, nonce, int(stamp))
    return nonce if hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace")) else None


def _digest(token: str) -> str:
    # Tokens are 256 random bits: a fast hash is enough, and lets the lookup be an index.
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, name: str, unit: Unit, role: Role, password: str) -> User:
    if not name or len(name) > 64 or not name.isprintable():
        raise AccountError(f"user {name!r}", "needs a printable name of at most 64 characters")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"user {name}", f"the password needs at least {MIN_PASSWORD} characters")
    user = session.scalar(select(User).where(User.name == name)) or User(name=name)
    existed = user.id is not None
    user.unit, user.role, user.password_hash, user.active = unit, role.value, _hasher.hash(password), True
    session.add(user)
    session.flush()
    if existed:  # a new password, role or unit: whoever held the old ones is signed out
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The active person of this name if the password is theirs, else None (unthrottled)."""
    user = _active_user(session, name[:64])
    return user if _verify(user, password) else None


def _active_user(session: Session, name: str) -> User | None:
    if "\x00" in name:  # no name holds NUL, and PostgreSQL refuses it in a query
        return None
    return session.scalar(select(User).where(User.name == name, User.active.is_(True)))


def _verify(user: User | None, password: str) -> bool:
    """Whether the password is `user`'s. An unknown name is checked against a dummy hash, so
    it costs as long as a wrong password."""
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def start_session(session: Session, user: User, now: datetime, lifetime: timedelta) -> tuple[str, str]:
    """A new session for `user`: the cookie's token and the CSRF token for its forms."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.execute(delete(LoginSession).where(LoginSession.expires < now))
    session.add(LoginSession(token_hash=_digest(token), user=user, csrf=csrf, expires=now + lifetime))
    session.flush()
    return token, csrf


def session_for(session: Session, token: str | None, now: datetime) -> LoginSession | None:
    if not token or len(token) > 128:
        return None
    found = session.get(LoginSession, _digest(token))
    if found is None or not found.user.active:
        return None
    expires = found.expires if found.expires.tzinfo else found.expires.replace(tzinfo=now.tzinfo)
    return found if expires > now else None


def end_session(session: Session, token: str | None) -> None:
    if token and len(token) <= 128:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))


def issue_token(session: Session, name: str, unit: Unit, now: datetime) -> str:
    """A new sensor token (shown once); the name must be new."""
    if session.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
        raise AccountError(f"token {name}", "exists already: pick another name or revoke it first")
    token = "mw_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_digest(token), unit=unit, created_at=now))
    session.flush()
    return token


def token_for(session: Session, token: str | None) -> ApiToken | None:
    if not token or len(token) > 128:
        return None
    found = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    return None if found is None or found.revoked else found
