"""The sign-in throttle: backoff per address and name, per address, per device cookie, and a
per-name delay that a known address or device with the right password skips. In memory,
bounded, and per worker process."""

from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

__all__ = ["Attempt", "Backoff", "LoginThrottle", "Policy", "network"]

_ZERO = timedelta(0)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Backoff:
    """After `free` failures, the next try waits `base` after the last failure, and each
    further failure doubles that, up to `cap`. The count is forgotten once `forget` has
    passed since the last failure (longer than `cap`, so waiting out the cap forgets
    nothing)."""

    free: int
    cap: timedelta
    base: timedelta = timedelta(seconds=1)
    forget: timedelta = timedelta(hours=1)

    def wait(self, count: _Count | None, now: datetime) -> timedelta:
        """How long a key with these failures must still wait (zero: go ahead)."""
        if count is None or count.failures < self.free or now - count.last >= self.forget:
            return _ZERO
        # The exponent is clamped so that a huge count cannot overflow timedelta.
        step = min(self.base * (1 << min(count.failures - self.free, 30)), self.cap)
        return max(step - (now - count.last), _ZERO)

    def after_failure(self, count: _Count | None, now: datetime) -> _Count:
        if count is None or now - count.last >= self.forget:
            return _Count(1, now)
        return _Count(count.failures + 1, now)


@dataclass(frozen=True, slots=True)
class _Count:
    failures: int
    last: datetime


@dataclass(frozen=True)
class Policy:
    """The throttle's numbers. An address is an IPv4 address or an IPv6 /64 (see `network`)."""

    # One address guessing one name: slowed to a crawl after 3 failures (1 s, 2 s, 4 s ...
    # up to 15 minutes between tries).
    pair: Backoff = Backoff(free=3, cap=timedelta(minutes=15))
    # One address, all names: looser, since an office behind one NAT is many people; a spray
    # of names is slowed after 20 failures, up to 5 minutes between tries.
    address: Backoff = Backoff(free=20, cap=timedelta(minutes=5))
    # One name, from all addresses (a distributed guess): after 10 failures each try waits
    # 1 s, 2 s ... up to 5 minutes since the name's last failure. A delay, not a lock-out,
    # and the right password from a known address or device does not wait at all.
    name: Backoff = Backoff(free=10, cap=timedelta(minutes=5))
    # One device cookie (it replaces the two address limits above for its holder): a stolen
    # cookie guesses no faster than one address guessing one name.
    device: Backoff = Backoff(free=3, cap=timedelta(minutes=15))
    # Keys kept per kind (pairs, addresses, names, devices, known addresses), least recent
    # dropped first.
    keys: int = 20_000
    # Addresses remembered per name, from its successful sign-ins.
    known_per_name: int = 4


@dataclass(frozen=True)
class Attempt:
    """One try to sign in: the name (as typed), the client's address, and the id of a valid
    device cookie for this name (None: no cookie, or one that did not verify)."""

    name: str
    address: str
    device: str | None = None


def network(address: str) -> str:
    """The key for a client address: an IPv4 address as is, an IPv6 address as its /64 (one
    site holds a whole /64, so single IPv6 addresses would be free to rotate); anything else
    as given."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class _Lru(Generic[K, V]):
    """A dict of at most `size` keys; the least recently touched leaves first."""

    size: int
    items: OrderedDict[K, V] = field(default_factory=OrderedDict)

    def get(self, key: K) -> V | None:
        return self.items.get(key)

    def put(self, key: K, value: V) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)

    def pop(self, key: K) -> None:
        self.items.pop(key, None)


class LoginThrottle:
    """Decides, before the password is checked, whether a sign-in may be tried now.

    - Per (address, name): 3 free failures, then 1 s, 2 s, 4 s ... up to 15 minutes between
      tries. A success clears it.
    - Per address, all names: 20 free failures, then 1 s doubling up to 5 minutes.
    - Per name, all addresses: 10 free failures, then 1 s doubling up to 5 minutes since the
      name's last failure. Known addresses and devices skip this delay: the password is
      checked, and the right one signs in; a wrong one counts like any other.
    - A valid device cookie (one this name was given at a successful sign-in) is judged by
      its own count (3 free, up to 15 minutes) instead of the two address limits, so an
      attacker sharing the person's address does not lock the person out either.
    - A known address is one this name signed in from successfully (the last 4 per name).
    Every key forgets its failures an hour after its last. Refused tries are not counted.
    Each kind keeps at most `Policy.keys` keys, least recent dropped first: a flood of
    names cannot grow it, and evicting a name under attack needs that many failures
    between two of its tries. Addresses are IPv4 addresses or IPv6 /64s.

    The state lives in this process: under `serve --workers N` each worker keeps its own
    counts (an attacker gets up to N times the tries) and its own known addresses; device
    cookies are checked against the database and hold in every worker."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy = policy or Policy()
        self._rules = {
            "pair": policy.pair,
            "address": policy.address,
            "name": policy.name,
            "device": policy.device,
        }
        self._counts: dict[str, _Lru[Hashable, _Count]] = {kind: _Lru(policy.keys) for kind in self._rules}
        self._known: _Lru[str, tuple[str, ...]] = _Lru(policy.keys)
        # Password checks under way per key: each counts as a failure until it ends, so a
        # burst of concurrent tries is throttled as if they came one after another.
        self._checking: dict[tuple[str, Hashable], int] = {}
        self._lock = threading.Lock()

    def wait(self, attempt: Attempt, now: datetime) -> timedelta:
        """How long this attempt must wait before its password is checked (zero: go ahead)."""
        with self._lock:
            return self._wait(attempt, now)

    def begin(self, attempt: Attempt, now: datetime) -> timedelta:
        """`wait`, and when it is zero the check is under way from now on: `end` it (after
        `failed` or `succeeded`) whatever happens."""
        with self._lock:
            wait = self._wait(attempt, now)
            if wait == _ZERO:
                for key in self._all_keys(attempt):
                    self._checking[key] = self._checking.get(key, 0) + 1
            return wait

    def end(self, attempt: Attempt) -> None:
        with self._lock:
            for key in self._all_keys(attempt):
                left = self._checking.get(key, 0) - 1
                if left > 0:
                    self._checking[key] = left
                else:
                    self._checking.pop(key, None)

    def _wait(self, attempt: Attempt, now: datetime) -> timedelta:
        keys = self._keys(attempt)
        if not self._is_known(attempt):
            keys.append(("name", attempt.name))
        waits = (self._rules[kind].wait(self._counted(kind, key, now), now) for kind, key in keys)
        return max(waits, default=_ZERO)

    def _counted(self, kind: str, key: Hashable, now: datetime) -> _Count | None:
        """The key's failures, with each check under way counted as one just now."""
        count, checking = self._counts[kind].get(key), self._checking.get((kind, key), 0)
        if not checking:
            return count
        failures = count.failures if count is not None and now - count.last < self._rules[kind].forget else 0
        return _Count(failures + checking, now)

    def _all_keys(self, attempt: Attempt) -> list[tuple[str, Hashable]]:
        return [*self._keys(attempt), ("name", attempt.name)]

    def failed(self, attempt: Attempt, now: datetime) -> None:
        """Counts a wrong password against the attempt's keys and its name."""
        with self._lock:
            for kind, key in self._all_keys(attempt):
                counts = self._counts[kind]
                counts.put(key, self._rules[kind].after_failure(counts.get(key), now))

    def succeeded(self, attempt: Attempt) -> None:
        """Clears the attempt's own failures and remembers its address as known for the
        name. The name's count stays: others may still be guessing it."""
        with self._lock:
            for kind, key in self._keys(attempt):
                if kind != "address":  # the address may be a NAT with a sprayer behind it
                    self._counts[kind].pop(key)
            here = network(attempt.address)
            before = tuple(a for a in self._known.get(attempt.name) or () if a != here)
            self._known.put(attempt.name, (here, *before)[: self.policy.known_per_name])

    def sizes(self) -> dict[str, int]:
        """Keys held per kind (and "known": names with known addresses)."""
        with self._lock:
            return {kind: len(lru.items) for kind, lru in self._counts.items()} | {
                "known": len(self._known.items)
            }

    def _keys(self, attempt: Attempt) -> list[tuple[str, Hashable]]:
        if attempt.device is not None:
            return [("device", attempt.device)]
        here = network(attempt.address)
        return [("pair", (here, attempt.name)), ("address", here)]

    def _is_known(self, attempt: Attempt) -> bool:
        return attempt.device is not None or network(attempt.address) in (self._known.get(attempt.name) or ())
