"""The sign-in throttle hands attackers no lock-out (issue 16, item 7): one address guessing
one name slows to a crawl, a spray of names from one address is slowed, a guess spread over
many addresses delays the name, but the right password from the person's known address or
device goes through all of it; memory stays bounded under a flood. On the throttle alone,
then through the API and the console, on a stopped clock."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from minewatch.cases.models import User
from minewatch.errors import SignInRefused
from minewatch.web import auth
from minewatch.web.throttle import Attempt, Backoff, LoginThrottle, Policy, network
from tests.service_fixtures import PASSWORD, Clock, Service, make_service

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WRONG = "not the password"


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- the throttle alone ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "since_last_s", "wait_s"),
    [
        (2, 0, 0),  # under the free count
        (3, 0, 1),  # the first wait
        (3, 0.4, 0.6),  # counted from the last failure
        (4, 0, 2),
        (8, 0, 32),
        (20, 0, 900),  # capped
        (10_000, 0, 900),  # no overflow however many
        (20, 899, 1),
        (20, 900, 0),
        (20, 3600, 0),  # forgotten
    ],
)
def test_backoff_waits(failures: int, since_last_s: float, wait_s: float) -> None:
    rule = Backoff(free=3, cap=timedelta(minutes=15))
    count = None
    for _ in range(failures):
        count = rule.after_failure(count, T0)
    assert rule.wait(count, _at(since_last_s)) == timedelta(seconds=wait_s)


def test_a_forgotten_count_starts_again() -> None:
    rule = Backoff(free=3, cap=timedelta(minutes=15))
    count = None
    for _ in range(9):
        count = rule.after_failure(count, T0)
    assert rule.after_failure(count, _at(3600)).failures == 1


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),  # the same site
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_addresses_are_keyed_by_site(address: str, key: str) -> None:
    assert network(address) == key


def _guess(
    throttle: LoginThrottle, attempt: Attempt, t: datetime, tries: int
) -> tuple[list[float], datetime]:
    """A patient guesser: each try as soon as the throttle allows, each wrong. The waits met
    (seconds) and the time of the last try."""
    waits = []
    for _ in range(tries):
        wait = throttle.wait(attempt, t)
        waits.append(wait.total_seconds())
        t += wait
        assert throttle.wait(attempt, t) == timedelta(0)
        throttle.failed(attempt, t)
    return waits, t


def test_one_address_guessing_one_name_slows_to_a_crawl() -> None:
    throttle = LoginThrottle()
    admin_home = Attempt("admin", "10.1.1.1")
    throttle.succeeded(admin_home)  # admin signed in from here before
    waits, t = _guess(throttle, Attempt("admin", "10.6.6.6"), T0, 16)
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    # Admin's known address is not held up, not even by the name's delay...
    assert throttle.wait(admin_home, t) == timedelta(0)
    # ...but a new address is: the name is delayed for everyone else.
    assert throttle.wait(Attempt("admin", "10.2.2.2"), t) > timedelta(0)
    # Other names from the attacker's address are still tried (an office NAT).
    assert throttle.wait(Attempt("lx", "10.6.6.6"), t) == timedelta(0)


def test_a_spray_of_names_from_one_address_is_slowed() -> None:
    throttle = LoginThrottle()
    t = T0
    for i in range(20):
        assert throttle.wait(Attempt(f"user{i}", "10.6.6.6"), t) == timedelta(0)
        throttle.failed(Attempt(f"user{i}", "10.6.6.6"), t)
    assert throttle.wait(Attempt("user20", "10.6.6.6"), t) == timedelta(seconds=1)
    waits, _ = _guess(throttle, Attempt("another", "10.6.6.6"), t, 5)
    assert waits == [1, 2, 4, 8, 16]
    # A neighbour on another address is not slowed.
    assert throttle.wait(Attempt("user21", "10.7.7.7"), t) == timedelta(0)


def test_a_distributed_guess_delays_the_name_but_not_its_known_address_or_device() -> None:
    throttle = LoginThrottle()
    throttle.succeeded(Attempt("admin", "10.1.1.1"))
    t = T0
    for i in range(30):  # one try from each address, each as soon as the name allows
        guess = Attempt("admin", f"198.51.100.{i}")
        t += throttle.wait(guess, t)
        throttle.failed(guess, t)
    assert throttle.wait(Attempt("admin", "198.51.100.200"), t) == timedelta(minutes=5)
    assert throttle.wait(Attempt("admin", "10.1.1.1"), t) == timedelta(0)
    assert throttle.wait(Attempt("admin", "172.16.0.9", device="nonce"), t) == timedelta(0)
    # A delay, not a lock-out: it ends.
    assert throttle.wait(Attempt("admin", "198.51.100.200"), t + timedelta(minutes=5)) == timedelta(0)


def test_a_device_is_judged_by_its_own_failures() -> None:
    throttle = LoginThrottle()
    # An attacker behind the person's own address (a NAT) guesses the person's name.
    _, t = _guess(throttle, Attempt("admin", "10.1.1.1"), T0, 12)
    assert throttle.wait(Attempt("admin", "10.1.1.1"), t) == timedelta(seconds=512)
    mine = Attempt("admin", "10.1.1.1", device="nonce")
    assert throttle.wait(mine, t) == timedelta(0)
    # A stolen device cookie guesses no faster than an address does.
    waits, _ = _guess(throttle, mine, t, 6)
    assert waits == [0, 0, 0, 1, 2, 4]


def test_memory_stays_bounded_under_a_flood_of_names() -> None:
    throttle = LoginThrottle(Policy(keys=5_000))
    throttle.succeeded(Attempt("admin", "10.1.1.1"))
    for i in range(100_000):
        throttle.failed(Attempt(f"n{i}", f"10.{i % 250}.{i // 250 % 250}.1"), _at(i / 1000))
    sizes = throttle.sizes()
    assert max(sizes.values()) <= 5_000 and sizes["known"] == 1
    # The flood's latest keys are kept, and the person's known address is not flooded out.
    assert throttle.wait(Attempt("admin", "10.1.1.1"), _at(100)) == timedelta(0)
    assert throttle.sizes()["address"] == 5_000


# --- sign_in: the password is checked only when the throttle lets the try happen ----------


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    made = make_service(tmp_path, f"sqlite:///{tmp_path / 'cases.sqlite'}", quiet=timedelta(0))
    yield made
    made.close()


def test_the_password_is_not_checked_while_throttled(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    verify = auth._verify

    def spy(user: User | None, password: str) -> bool:
        checked.append(password)
        return verify(user, password)

    monkeypatch.setattr(auth, "_verify", spy)
    throttle, life = LoginThrottle(), timedelta(hours=1)
    with service.session() as session:
        for _ in range(3):
            with pytest.raises(SignInRefused) as refused:
                auth.sign_in(session, throttle, "lx", WRONG, "10.6.6.6", T0, life)
            assert not refused.value.wait
        with pytest.raises(SignInRefused) as refused:
            auth.sign_in(session, throttle, "lx", PASSWORD, "10.6.6.6", T0, life)
        assert refused.value.wait == timedelta(seconds=1) and refused.value.retry_after == 1
        assert checked == [WRONG] * 3
        granted = auth.sign_in(session, throttle, "lx", PASSWORD, "10.6.6.6", _at(1), life)
        assert granted.device_cookie == auth.device_cookie("lx") and checked[-1] == PASSWORD


def test_a_burst_of_concurrent_tries_is_throttled_as_if_one_after_another(service: Service) -> None:
    """Each password check under way counts as a failure until it ends: 30 wrong passwords
    sent at once from one address are 3 checks and 27 refusals, as when sent in turn (they
    were 27 checks when the count came only after argon2)."""
    throttle, life, outcomes = LoginThrottle(), timedelta(hours=1), []
    start = threading.Barrier(30)

    def guess(i: int) -> None:
        with service.session() as session:
            start.wait(timeout=30)
            try:
                auth.sign_in(session, throttle, "admin", f"{WRONG}{i}", "203.0.113.9", T0, life)
            except SignInRefused as e:
                outcomes.append("refused" if e.wait else "checked")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes).count("checked") == 3 and len(outcomes) == 30
    assert throttle.sizes()["pair"] == 1 and not throttle._checking  # every check ended


def test_a_device_cookie_is_the_persons_own(service: Service) -> None:
    throttle, life = LoginThrottle(), timedelta(hours=1)
    with service.session() as session:
        granted = auth.sign_in(session, throttle, "lx", PASSWORD, "10.1.1.1", T0, life)
        user = auth._active_user(session, "lx")
        other = auth._active_user(session, "xw")
        token = granted.device_token
        assert auth._device_id(user, "lx", token, _at(60)) == token.split(".")[0]
        for who, name, value, at in [
            (other, "xw", token, 60),  # another person's
            (user, "lx", token[:-1] + ("0" if token[-1] != "0" else "1"), 60),  # forged
            (user, "lx", token, 91 * 86400),  # expired
            (user, "lx", "a.b.c", 60),
            (user, "lx", "a." + "9" * 40 + ".c", 60),
            (None, "nobody", token, 60),
        ]:
            assert auth._device_id(who, name, value, _at(at)) is None


# --- through the API and the console -----------------------------------------------------


def _try(client: TestClient, route: str, name: str, password: str) -> str | int:
    """ "in", "wrong", or the seconds a throttled try was told to wait (Retry-After)."""
    if route == "api":
        r = client.post("/api/v1/sign-in", json={"name": name, "password": password})
    else:
        pre = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert pre is not None
        form = {"name": name, "password": password, "csrf": pre.group(1)}
        r = client.post("/login", data=form, follow_redirects=False)
    if r.status_code == 429:
        wait = int(r.headers["Retry-After"])
        if route == "console":
            text = f"{wait} s" if wait < 60 else f"{(wait + 59) // 60} min"
            assert f"Try again in {text}." in r.text
        return wait
    if route == "api":
        return {200: "in", 401: "wrong"}[r.status_code]
    assert r.status_code == 303
    return {"/": "in", "/login?failed=password": "wrong"}[r.headers["location"]]


def _client(service: Service, address: str) -> TestClient:
    return TestClient(service.app, client=(address, 40000), headers={"Accept-Language": "en"})


@pytest.mark.parametrize("route", ["api", "console"])
def test_an_attacker_does_not_lock_admin_out(
    service: Service, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    clock = Clock(monkeypatch)
    admin = _client(service, "10.1.1.1")
    assert _try(admin, route, "admin", PASSWORD) == "in"
    attacker = _client(service, "10.6.6.6")
    waits = []
    for _ in range(14):  # each try as soon as it is allowed
        outcome = _try(attacker, route, "admin", WRONG)
        if isinstance(outcome, int):
            waits.append(outcome)
            clock.advance(outcome)
            outcome = _try(attacker, route, "admin", WRONG)
        assert outcome == "wrong"
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900]
    # The attacker cannot wait it out with the right password either, nor by asking at once.
    assert _try(attacker, route, "admin", PASSWORD) == 900
    # Admin, from the known device, goes straight in; so does admin's device behind the
    # attacker's own address (one NAT): the cookie, not the address, is judged.
    assert _try(admin, route, "admin", PASSWORD) == "in"
    shared = _client(service, "10.6.6.6")
    shared.cookies = admin.cookies
    assert _try(shared, route, "admin", PASSWORD) == "in"
    # From a new address without the cookie, admin waits like anyone (the name's delay).
    assert _try(_client(service, "10.9.9.9"), route, "admin", PASSWORD) == 16


@pytest.mark.parametrize("route", ["api", "console"])
def test_a_distributed_guess_is_delayed(
    service: Service, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    clock = Clock(monkeypatch)
    lx = _client(service, "10.1.1.1")
    assert _try(lx, route, "lx", PASSWORD) == "in"
    for i in range(10):  # ten addresses, one guess each: the name is now delayed
        assert _try(_client(service, f"198.51.100.{i}"), route, "lx", WRONG) == "wrong"
    assert _try(_client(service, "198.51.100.99"), route, "lx", WRONG) == 1
    # The right password: from a new address it waits too; from the known address (even
    # without the cookie) and from the known device (anywhere) it does not.
    assert _try(_client(service, "10.2.2.2"), route, "lx", PASSWORD) == 1
    assert _try(_client(service, "10.1.1.1"), route, "lx", PASSWORD) == "in"
    travelling = _client(service, "172.16.5.5")
    travelling.cookies = lx.cookies
    assert _try(travelling, route, "lx", PASSWORD) == "in"
    # A wrong one from the known address is checked and counted: the delay grows.
    assert _try(_client(service, "10.1.1.1"), route, "lx", WRONG) == "wrong"
    assert _try(_client(service, "10.2.2.2"), route, "lx", PASSWORD) == 2
    clock.advance(2)
    assert _try(_client(service, "10.2.2.2"), route, "lx", PASSWORD) == "in"


@pytest.mark.parametrize("route", ["api", "console"])
def test_a_spray_from_one_address_is_throttled(
    service: Service, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    Clock(monkeypatch)
    xw = _client(service, "10.1.1.1")
    assert _try(xw, route, "xw", PASSWORD) == "in"
    sprayer = _client(service, "10.1.1.1")  # xw's office NAT
    outcomes = [_try(sprayer, route, f"guess{i}", WRONG) for i in range(22)]
    assert outcomes == ["wrong"] * 20 + [1, 1]
    # Everyone else behind that address waits; xw's own browser does not.
    assert _try(_client(service, "10.1.1.1"), route, "xinwu", PASSWORD) == 1
    assert _try(xw, route, "xw", PASSWORD) == "in"


@pytest.mark.parametrize(
    ("lang", "base_s", "text"),
    [
        ("en", 1, "Too many failed sign-ins. Try again in 1 s."),
        ("en", 150, "Too many failed sign-ins. Try again in 3 min."),
        ("zh", 1, "登录失败次数过多，请1秒后再试。"),
        ("zh", 150, "登录失败次数过多，请3分钟后再试。"),
    ],
)
def test_the_console_says_how_long_to_wait(
    service: Service, monkeypatch: pytest.MonkeyPatch, lang: str, base_s: int, text: str
) -> None:
    Clock(monkeypatch)
    first = Backoff(free=1, cap=timedelta(hours=1), base=timedelta(seconds=base_s))
    service.app.state.throttle = LoginThrottle(Policy(pair=first))
    client = TestClient(service.app, client=("10.6.6.6", 40000), headers={"Accept-Language": lang})
    for expected in (303, 429):
        pre = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert pre is not None
        form = {"name": "lx", "password": WRONG, "csrf": pre.group(1)}
        r = client.post("/login", data=form, follow_redirects=False)
        assert r.status_code == expected
    assert text in r.text and r.headers["Retry-After"] == str(base_s)
