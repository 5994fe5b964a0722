"""Who is asking: people by password (argon2) and a server-side session whose cookie is
useless without its CSRF token; sensors by an API token of which only a hash is kept; and
a throttle on failed logins per name and per address."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from minewatch.cases.models import ApiToken, LoginSession, Role, Unit, User
from minewatch.errors import AccountError, SignInRefused

__all__ = [
    "MIN_PASSWORD",
    "AccountError",
    "LoginThrottle",
    "authenticate",
    "create_user",
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


def sign_in(
    session: Session,
    throttle: LoginThrottle,
    name: str,
    password: str,
    address: str,
    now: datetime,
    lifetime: timedelta,
) -> str:
    """Check the password under the throttle and start a session; its cookie token, or
    SignInRefused."""
    keys = (f"name:{name[:64]}", f"addr:{address}")
    wait = throttle.wait(keys, now)
    if wait > timedelta(0):
        raise SignInRefused(wait)
    user = authenticate(session, name[:64], password[:1024])
    if user is None:
        throttle.failed(keys, now)
        raise SignInRefused(timedelta(0))
    throttle.succeeded(keys[0])
    token, _ = start_session(session, user, now, lifetime)
    return token


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
    user = session.scalar(select(User).where(User.name == name[:64], User.active.is_(True)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is not None and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


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


class LoginThrottle:
    """Refuses sign-ins after 5 failures within `window` for one name, or 20 from one
    address (an office behind one NAT has many people), until the oldest failure leaves the
    window. Keys are "name:..." or "addr:...". Keeps at most `keys` keys (the least recent
    go first), so a flood of names cannot grow it without bound."""

    def __init__(
        self,
        per_name: int = 5,
        per_address: int = 20,
        window: timedelta = timedelta(minutes=15),
        keys: int = 50_000,
    ):
        self.per_name, self.per_address, self.window, self.keys = per_name, per_address, window, keys
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, keys: tuple[str, ...], now: datetime) -> timedelta:
        """How long these keys must wait before another try (zero: go ahead)."""
        longest = timedelta(0)
        with self._lock:
            for key in keys:
                times = self._failures.get(key)
                if not times:
                    continue
                while times and now - times[0] >= self.window:
                    times.popleft()
                if len(times) >= self._limit(key):
                    longest = max(longest, times[0] + self.window - now)
        return longest

    def failed(self, keys: tuple[str, ...], now: datetime) -> None:
        with self._lock:
            for key in keys:
                times = self._failures.pop(key, None) or deque(maxlen=self._limit(key))
                times.append(now)
                self._failures[key] = times
            while len(self._failures) > self.keys:
                self._failures.popitem(last=False)

    def _limit(self, key: str) -> int:
        return self.per_name if key.startswith("name:") else self.per_address

    def succeeded(self, name_key: str) -> None:
        with self._lock:
            self._failures.pop(name_key, None)
