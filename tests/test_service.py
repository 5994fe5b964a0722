"""The service's API and console, in process, on SQLite and a real PostgreSQL: sensors
push findings with a token; people see and act only within their unit's subtree and role;
changes need the CSRF token; sign-in is throttled; tips are bounded, rate-limited, shown
as text; SQL metacharacters in any field are just characters."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from minewatch.cases.models import Case, CaseEvent, Tip, User
from tests.service_fixtures import PASSWORD, Clock, Service, make_service, placed, sign_in


@pytest.fixture
def service(tmp_path: Path, db_url: str) -> Iterator[Service]:
    made = make_service(tmp_path, db_url, quiet=timedelta(0), tips_per_window=1000)
    yield made
    made.close()


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Iterator[Service]:
    made = make_service(tmp_path, f"sqlite:///{tmp_path / 'cases.sqlite'}", quiet=timedelta(0))
    yield made
    made.close()


def seed(service: Service) -> dict[str, int]:
    """Three cases, one per county, and one with no place (at the sensor's unit)."""
    service.push(
        [placed("10.20.0.1", "320213"), placed("10.20.0.2", "320214"), placed("10.30.0.1", "320102")]
        + [placed("198.51.100.9", None)]
    )
    with service.session() as session:
        return {c.host: c.id for c in session.scalars(select(Case))}


def test_sensor_push_opens_and_joins_cases(service: Service) -> None:
    ids = seed(service)
    again = service.push([placed("10.20.0.1", "320213", hours_later=1)])
    counts = ("received", "cases_opened", "cases_updated", "not_cases", "stored", "already_stored")
    assert {k: again[k] for k in counts} == dict(zip(counts, (1, 0, 1, 0, 1, 0), strict=True))
    assert again["refused"] == [] and again["replayed"] is False
    admin, _ = sign_in(service.app, "admin")
    cases = {c["host"]: c for c in admin.get("/api/v1/cases?limit=200").json()["cases"]}
    assert {h: c["unit"] for h, c in cases.items()} == {
        "10.20.0.1": "梁溪区",
        "10.20.0.2": "新吴区",
        "10.30.0.1": "玄武区",
        "198.51.100.9": "江苏省",
    }
    detail = admin.get(f"/api/v1/cases/{ids['10.20.0.1']}").json()
    assert detail["findings"] == 2 and detail["latest_finding"]["algorithm"] == "sha256d"
    assert detail["evidence"] and detail["attribution"]["region_code"] == "320213"
    assert detail["first_seen"].endswith("Z") or detail["first_seen"].endswith("+00:00")
    # Without a token, with a wrong one, or with a malformed finding: refused, nothing stored.
    with TestClient(service.app) as anon:
        body = {"findings": [placed("10.20.0.5", "320213")]}
        assert anon.post("/api/v1/findings", json=body).status_code == 401
        wrong = {"Authorization": "Bearer mw_not-a-token"}
        assert anon.post("/api/v1/findings", json=body, headers=wrong).status_code == 401
        bad = {"findings": [dict(placed("10.20.0.6", "320213"), host="not an address")]}
        headers = {"Authorization": f"Bearer {service.token}"}
        assert anon.post("/api/v1/findings", json=bad, headers=headers).status_code == 422
    assert admin.get("/api/v1/cases").json()["total"] == 4


def test_a_county_sees_and_acts_only_in_its_county(service: Service) -> None:
    ids = seed(service)
    lx, csrf = sign_in(service.app, "lx")
    listed = lx.get("/api/v1/cases").json()
    assert [c["host"] for c in listed["cases"]] == ["10.20.0.1"] and listed["total"] == 1
    # Guessing ids: the county's own case answers; every other id, real or not, is the same 404.
    own = ids["10.20.0.1"]
    for case_id in range(1, max(ids.values()) + 5):
        expected = 200 if case_id == own else 404
        assert lx.get(f"/api/v1/cases/{case_id}").status_code == expected
        assert lx.get(f"/cases/{case_id}").status_code == expected
        step = lx.post(
            f"/api/v1/cases/{case_id}/actions", json={"action": "triage"}, headers={"X-CSRF-Token": csrf}
        )
        assert step.status_code == (200 if case_id == own else 404)
    # Filtering by another county's unit finds nothing; the queue page lists only its own.
    assert lx.get("/api/v1/cases?unit_code=320102").json()["total"] == 0
    page = lx.get("/?status=").text
    assert "10.20.0.1" in page and "10.20.0.2" not in page and "10.30.0.1" not in page
    # The city's supervisor sees both of its counties, not Nanjing's.
    wuxi, _ = sign_in(service.app, "wuxi")
    assert {c["host"] for c in wuxi.get("/api/v1/cases").json()["cases"]} == {"10.20.0.1", "10.20.0.2"}
    # Other counties' cases are untouched.
    with service.session() as session:
        statuses = {c.host: c.status for c in session.scalars(select(Case))}
    assert statuses == {"10.20.0.1": "triaged", "10.20.0.2": "new", "10.30.0.1": "new", "198.51.100.9": "new"}


def test_a_case_through_the_api_to_its_close(service: Service) -> None:
    ids = seed(service)
    lx, csrf = sign_in(service.app, "lx")
    case = ids["10.20.0.1"]

    def act(**body: Any) -> Any:
        return lx.post(f"/api/v1/cases/{case}/actions", json=body, headers={"X-CSRF-Token": csrf})

    assert act(action="block").status_code == 409, "out of order"
    deadline = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    for body in (
        {"action": "triage"},
        {"action": "notify", "note": "phoned the hospital's IT office"},
        {"action": "rectify"},  # no deadline: refused below
    ):
        r = act(**body)
    assert r.status_code == 409 and "deadline" in r.json()["detail"]
    assert act(action="rectify", deadline=deadline).json()["status"] == "rectification_ordered"
    assert act(action="block").json()["status"] == "blocked"
    assert act(action="verify").json()["status"] == "verifying"
    # An analyst may not hand down or merge: refused on the server, not only hidden.
    assert act(action="delegate", unit_code="320214").status_code == 403
    assert act(action="merge", into=ids["10.20.0.2"]).status_code == 403
    assert act(action="close", verdict="stopped").status_code == 422, "stopped is for verification"
    done = act(action="check").json()
    assert (done["status"], done["verdict"]) == ("closed", "stopped")
    actors = [(e["actor"], e["action"]) for e in done["events"]]
    assert actors[0] == ("sensor:sensor-1", "opened")
    assert [a for _, a in actors[1:]] == [
        "triaged",
        "owner_notified",
        "rectification_ordered",
        "blocked",
        "verifying",
        "closed",
    ]
    assert {who for who, _ in actors[1:]} == {"lx"}
    # The supervisor hands a city-level case down to one of its counties.
    wuxi, wcsrf = sign_in(service.app, "wuxi")
    service.push([placed("10.20.9.9", None)])  # lands at the province: not the city's
    assert wuxi.get("/api/v1/cases?host=10.20.9.9").json()["total"] == 0
    other = ids["10.20.0.2"]
    r = wuxi.post(
        f"/api/v1/cases/{other}/actions",
        json={"action": "delegate", "unit_code": "320213"},
        headers={"X-CSRF-Token": wcsrf},
    )
    assert r.status_code == 409 and "not a unit under" in r.json()["detail"]


def test_changes_need_the_csrf_token(sqlite_service: Service) -> None:
    service = sqlite_service
    ids = seed(service)
    lx, csrf = sign_in(service.app, "lx")
    case = ids["10.20.0.1"]
    assert lx.post(f"/api/v1/cases/{case}/actions", json={"action": "triage"}).status_code == 403
    wrong = {"X-CSRF-Token": csrf[:-2] + "xx"}
    refused = lx.post(f"/api/v1/cases/{case}/actions", json={"action": "triage"}, headers=wrong)
    assert refused.status_code == 403
    # The console's form: without its hidden token, refused.
    assert lx.post(f"/cases/{case}", data={"action": "triage"}).status_code == 403
    assert lx.post(f"/cases/{case}", data={"action": "triage", "csrf": "guess"}).status_code == 403
    assert lx.get(f"/api/v1/cases/{case}").json()["status"] == "new"
    # With it, done.
    r = lx.post(f"/cases/{case}", data={"action": "triage", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert lx.get(f"/api/v1/cases/{case}").json()["status"] == "triaged"
    # Signing out needs it too, and the sign-in form has its own.
    assert lx.post("/api/v1/sign-out").status_code == 403
    with TestClient(service.app) as fresh:
        form = {"name": "lx", "password": PASSWORD, "csrf": "x"}
        r = fresh.post("/login", data=form, follow_redirects=False)
        assert r.headers["location"] == "/login?failed=csrf"
    assert lx.post("/api/v1/sign-out", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert lx.get("/api/v1/cases").status_code == 401


def test_brute_force_sign_in_is_throttled(sqlite_service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy and its many cases are in test_throttle.py; here, that the service has it."""
    app = sqlite_service.app
    clock = Clock(monkeypatch)
    with TestClient(app) as client:
        for _ in range(3):
            r = client.post("/api/v1/sign-in", json={"name": "lx", "password": "wrong password"})
            assert r.status_code == 401
        # Even the right password now waits, and is told how long.
        r = client.post("/api/v1/sign-in", json={"name": "lx", "password": PASSWORD})
        assert r.status_code == 429 and "wait 1 s" in r.json()["detail"] and r.headers["Retry-After"] == "1"
        # The console says so too.
        page = client.get("/login")
        pre = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert pre is not None
        r = client.post("/login", data={"name": "lx", "password": PASSWORD, "csrf": pre.group(1)})
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        # A wait, not a lock-out.
        clock.advance(1)
        assert client.post("/api/v1/sign-in", json={"name": "lx", "password": PASSWORD}).status_code == 200
    # Other names are not held up by one name's failures, until one address has failed 20
    # times across names.
    with TestClient(app) as client:
        assert client.post("/api/v1/sign-in", json={"name": "xw", "password": PASSWORD}).status_code == 200
        for i in range(17):  # with the 3 above: 20
            client.post("/api/v1/sign-in", json={"name": f"guess{i}", "password": "wrong password"})
        r = client.post("/api/v1/sign-in", json={"name": "xinwu", "password": PASSWORD})
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"


def test_a_public_tip(sqlite_service: Service) -> None:
    service = sqlite_service
    ids = seed(service)
    script = '<script>alert("tip")</script><img src=x onerror=alert(1)>'
    with TestClient(service.app) as public:
        form = public.get("/tip")
        assert form.status_code == 200 and "梁溪区" in form.text and "10.20.0.1" not in form.text
        r = public.post(
            "/tip",
            data={
                "unit_code": "320213",
                "location": "某某路88号地下室",
                "organisation": script,
                "description": "机房24小时风扇很响 " + script,
                "contact": "",
            },
        )
        assert r.status_code == 200
        receipt = re.search(r'id="receipt">([^<]+)<', r.text)
        assert receipt is not None and re.fullmatch(r"T\d{8}-[2-9A-Z]{8}", receipt.group(1))
        # The reporter sees a receipt and nothing of the cases.
        assert "10.20.0.1" not in r.text and "/cases/" not in r.text and "案件" not in r.text
        # No place: the root unit holds it.
        api = public.post("/api/v1/public/tips", json={"location": "不详", "description": "矿机声"})
        assert api.status_code == 201 and set(api.json()) == {"receipt", "message"}
        # Size-bounded and checked.
        assert public.post("/tip", data={"location": "x", "description": ""}).status_code == 400
        too_long = public.post("/api/v1/public/tips", json={"location": "x", "description": "x" * 4001})
        assert too_long.status_code == 422
        huge = public.post("/tip", content=b"location=x&description=" + b"y" * 20_000)
        assert huge.status_code == 413
    lx, csrf = sign_in(service.app, "lx")
    queue = lx.get("/").text
    assert "某某路88号地下室" in queue
    # Shown as text: escaped, never markup.
    assert "<script>alert" not in queue and "&lt;script&gt;alert(&#34;tip&#34;)&lt;/script&gt;" in queue
    assert "<img src=x" not in queue
    [tip] = lx.get("/api/v1/tips").json()
    assert tip["organisation"] == script, "stored exactly as written"
    # Linked to the county's case; another county's case cannot be named.
    r = lx.post(f"/tips/{tip['id']}", data={"action": "link", "case_id": ids["10.30.0.1"], "csrf": csrf})
    assert r.status_code == 404
    r = lx.post(
        f"/tips/{tip['id']}",
        data={"action": "link", "case_id": ids["10.20.0.1"], "csrf": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    case = lx.get(f"/api/v1/cases/{ids['10.20.0.1']}").json()
    assert [t["receipt"] for t in case["tips"]] == [receipt.group(1)]
    assert case["events"][-1]["action"] == "tip linked"
    # The Nanjing analyst never sees it; the province's admin sees the unplaced one.
    xw, xcsrf = sign_in(service.app, "xw")
    assert xw.get("/api/v1/tips?all=true").json() == []
    other = {"X-CSRF-Token": xcsrf}
    assert xw.post(f"/api/v1/tips/{tip['id']}/dismiss", headers=other).status_code == 404
    assert xw.post(f"/tips/{tip['id']}", data={"action": "dismiss", "csrf": xcsrf}).status_code == 404
    admin, _ = sign_in(service.app, "admin")
    assert [t["location"] for t in admin.get("/api/v1/tips").json()] == ["不详"]


def test_tips_are_rate_limited_per_address(tmp_path: Path) -> None:
    service = make_service(tmp_path, f"sqlite:///{tmp_path / 'c.sqlite'}", tips_per_window=3)
    with TestClient(service.app) as public:
        codes = [
            public.post("/api/v1/public/tips", json={"location": "x", "description": str(i)}).status_code
            for i in range(5)
        ]
        assert codes == [201, 201, 201, 429, 429]
        assert public.post("/tip", data={"location": "x", "description": "y"}).status_code == 429
    with service.session() as session:
        assert session.scalar(select(func.count(Tip.id))) == 3


SQL = [
    "' OR '1'='1",
    "'; DROP TABLE cases; --",
    '" OR ""="',
    "1; DELETE FROM users",
    "%",
    "_",
    "\\",
    "') UNION SELECT name, password_hash FROM users --",
    "$$; SELECT pg_sleep(5); $$",
]


def test_sql_metacharacters_are_just_characters(service: Service) -> None:
    ids = seed(service)
    lx, csrf = sign_in(service.app, "lx")
    case = ids["10.20.0.1"]
    with TestClient(service.app) as public:
        for text in SQL:
            for field in ("location", "organisation", "description", "contact"):
                body = {"location": "x", "description": "y", field: text}
                assert public.post("/tip", data=body).status_code == 200
            # As a sign-in name and password: simply wrong.
            r = public.post("/api/v1/sign-in", json={"name": text, "password": text})
            assert r.status_code == 401
    for text in SQL:
        # In the filters: no error, and a wildcard matches only itself.
        for query in (f"host={text}", f"status={text}", f"unit_code={text}", f"severity={text}"):
            assert lx.get("/api/v1/cases", params=dict([query.split("=", 1)])).status_code in (200, 422)
        assert lx.get("/", params={"host": text, "status": text, "unit": text}).status_code == 200
        assert lx.get("/api/v1/cases", params={"host": text}).json()["total"] == 0
        r = lx.post(
            f"/api/v1/cases/{case}/actions",
            json={"action": "take", "note": text},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 200
    # As notes on each step, through the console's form.
    steps = ["triage", "notify", "rectify", "block", "verify"]
    for step, text in zip(steps, SQL, strict=False):
        form = {"action": step, "note": text, "csrf": csrf, "deadline": "2030-01-01"}
        assert lx.post(f"/cases/{case}", data=form, follow_redirects=False).status_code == 303
    wuxi, wcsrf = sign_in(service.app, "wuxi")
    r = wuxi.post(
        f"/api/v1/cases/{case}/actions",
        json={"action": "assign", "assignee": SQL[1]},
        headers={"X-CSRF-Token": wcsrf},
    )
    assert r.status_code == 409 and "cannot hold" in r.json()["detail"]
    # NUL, which PostgreSQL cannot store, is refused at the door.
    assert lx.post("/api/v1/public/tips", json={"location": "a\x00b", "description": "c"}).status_code == 422
    with service.session() as session:
        assert session.scalar(select(func.count(Case.id))) == 4
        assert session.scalar(select(func.count(User.id))) == 5
        stored = set(session.scalars(select(Tip.organisation)))
        assert set(SQL) <= stored
        notes = list(session.scalars(select(CaseEvent.detail)))
        for text in SQL[:5]:
            assert any(n == text or n.startswith(text + " by ") for n in notes), text


def test_bodies_are_bounded(sqlite_service: Service) -> None:
    service = sqlite_service
    headers = {"Authorization": f"Bearer {service.token}", "Content-Type": "application/json"}
    with TestClient(service.app) as client:
        big = b'{"findings": [' + b" " * (9 << 20) + b"]}"
        assert client.post("/api/v1/findings", content=big, headers=headers).status_code == 413

        def chunks() -> Any:  # no length given: counted as it comes
            yield b'{"findings": ['
            for _ in range(200):
                yield b" " * 65536
            yield b"]}"

        assert client.post("/api/v1/findings", content=chunks(), headers=headers).status_code == 413
        too_many = {"findings": [placed("10.20.0.1", "320213")] * 1001}
        assert client.post("/api/v1/findings", json=too_many, headers=headers).status_code == 422
        assert client.post("/api/v1/public/tips", content=b"x" * 20000).status_code == 413


def test_pages_and_language(sqlite_service: Service) -> None:
    service = sqlite_service
    ids = seed(service)
    with TestClient(service.app) as anon:
        r = anon.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert anon.get("/dashboard", follow_redirects=False).status_code == 303
        assert anon.get("/report", follow_redirects=False).status_code == 303
    lx, _ = sign_in(service.app, "lx")
    zh = lx.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "案件" in zh.text and "script-src" not in zh.headers["content-security-policy"]
    assert "default-src 'none'" in zh.headers["content-security-policy"]
    assert lx.get("/lang/en?back=/dashboard", follow_redirects=False).headers["location"] == "/dashboard"
    assert lx.get("/lang/en?back=//evil.example", follow_redirects=False).headers["location"] == "/"
    lx.get("/lang/en")
    en = lx.get("/dashboard").text
    assert "Open cases" in en and "梁溪区" in en and "玄武区" not in en
    page = lx.get(f"/cases/{ids['10.20.0.1']}").text
    assert "sha256d" in page and "示例单位10.20.0.1" in page and "Notify the owner" not in page
    assert 'value="triage"' in page and 'value="delegate"' not in page
    report = lx.get("/report?format=csv")
    assert report.headers["content-disposition"].startswith("attachment")
    rows = report.text.strip().splitlines()
    assert rows[0].startswith("host,") and [r.split(",")[0] for r in rows[1:]] == ["10.20.0.1"]
    assert lx.get("/report?format=json").json()["mining_hosts"] == 1
    assert "<svg" in lx.get("/report?format=html").text


def test_the_service_escalates_overdue_cases_by_itself(tmp_path: Path) -> None:
    """While it runs, the service's tick moves a case past its deadline up a level."""
    service = make_service(tmp_path, f"sqlite:///{tmp_path / 'c.sqlite'}", tick_s=0.1)
    ids = seed(service)
    case = ids["10.20.0.1"]
    with TestClient(service.app) as lx:
        r = lx.post("/api/v1/sign-in", json={"name": "lx", "password": PASSWORD})
        csrf = r.json()["csrf"]

        def act(**body: Any) -> Any:
            return lx.post(f"/api/v1/cases/{case}/actions", json=body, headers={"X-CSRF-Token": csrf})

        act(action="triage")
        act(action="notify")
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        assert act(action="rectify", deadline=past).status_code == 409, "a deadline already passed"
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        assert act(action="rectify", deadline=soon).status_code == 200
        deadline = time.monotonic() + 10
        while lx.get(f"/api/v1/cases/{case}").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        # Now the city's: out of the county's sight, in the supervisor's, with the trail.
        assert lx.get(f"/api/v1/cases/{case}").status_code == 404
    wuxi, _ = sign_in(service.app, "wuxi")
    detail = wuxi.get(f"/api/v1/cases/{case}").json()
    assert detail["unit"] == "无锡市" and detail["events"][-1]["action"] == "escalated"
    service.close()


def test_people_are_managed_by_admins_within_their_units(service: Service) -> None:
    admin, acsrf = sign_in(service.app, "admin")
    changes = {"X-CSRF-Token": acsrf}
    assert {p["name"] for p in admin.get("/api/v1/users").json()} == {"lx", "xinwu", "xw", "wuxi", "admin"}
    # The province's admin makes a city admin for Wuxi.
    body = {"name": "wuxi-admin", "unit_code": "320200", "role": "admin", "password": PASSWORD}
    assert admin.post("/api/v1/users", json=body, headers=changes).status_code == 201
    assert admin.post("/api/v1/users", json={**body, "password": "short"}, headers=changes).status_code == 422
    wa, wcsrf = sign_in(service.app, "wuxi-admin")
    wchanges = {"X-CSRF-Token": wcsrf}
    assert {p["name"] for p in wa.get("/api/v1/users").json()} == {"lx", "xinwu", "wuxi", "wuxi-admin"}
    # Not in Nanjing's units, not over Nanjing's people, not a name someone else holds.
    elsewhere = {"name": "nj-new", "unit_code": "320102", "role": "analyst", "password": PASSWORD}
    assert wa.post("/api/v1/users", json=elsewhere, headers=wchanges).status_code == 404
    xw_id = next(p["id"] for p in admin.get("/api/v1/users").json() if p["name"] == "xw")
    off = {"active": False}
    assert wa.post(f"/api/v1/users/{xw_id}/active", json=off, headers=wchanges).status_code == 404
    taken = {"name": "xw", "unit_code": "320213", "role": "admin", "password": PASSWORD}
    assert wa.post("/api/v1/users", json=taken, headers=wchanges).status_code == 409
    # Switching a person off ends their sessions at once.
    xinwu, _ = sign_in(service.app, "xinwu")
    xinwu_id = next(p["id"] for p in wa.get("/api/v1/users").json() if p["name"] == "xinwu")
    r = wa.post(f"/api/v1/users/{xinwu_id}/active", json={"active": False}, headers=wchanges)
    assert r.status_code == 200 and r.json()["active"] is False
    assert xinwu.get("/api/v1/cases").status_code == 401
    assert xinwu.post("/api/v1/sign-in", json={"name": "xinwu", "password": PASSWORD}).status_code == 401
    # Analysts and supervisors manage nobody, by API or page; the form needs its token.
    lx, lcsrf = sign_in(service.app, "lx")
    assert lx.get("/api/v1/users").status_code == 403
    assert lx.post("/api/v1/users", json=elsewhere, headers={"X-CSRF-Token": lcsrf}).status_code == 403
    assert lx.get("/users").status_code == 403 and "/users" not in lx.get("/").text
    assert admin.post("/users", data={"action": "add", **elsewhere}).status_code == 403
    form = {**elsewhere, "action": "add", "csrf": acsrf}
    assert admin.post("/users", data=form, follow_redirects=False).status_code == 303
    assert "nj-new" in admin.get("/users").text
    assert sign_in(service.app, "nj-new")[0].get("/api/v1/cases").status_code == 200


def test_a_new_password_or_role_ends_sessions_and_peers_do_not_change_peers(service: Service) -> None:
    admin, acsrf = sign_in(service.app, "admin")
    changes = {"X-CSRF-Token": acsrf}
    for name in ("wuxi-a1", "wuxi-a2"):
        body = {"name": name, "unit_code": "320200", "role": "admin", "password": PASSWORD}
        assert admin.post("/api/v1/users", json=body, headers=changes).status_code == 201
    a1, csrf1 = sign_in(service.app, "wuxi-a1")
    a2, _ = sign_in(service.app, "wuxi-a2")
    peer = {"name": "wuxi-a2", "unit_code": "320200", "role": "analyst", "password": PASSWORD + "x"}
    assert a1.post("/api/v1/users", json=peer, headers={"X-CSRF-Token": csrf1}).status_code == 403
    a2_id = next(p["id"] for p in admin.get("/api/v1/users").json() if p["name"] == "wuxi-a2")
    off = {"active": False}
    assert (
        a1.post(f"/api/v1/users/{a2_id}/active", json=off, headers={"X-CSRF-Token": csrf1}).status_code == 403
    )
    assert a2.get("/api/v1/cases").status_code == 200, "a peer changed nothing"
    # The unit above demotes the city's admin: the old role's session ends at once.
    assert admin.post("/api/v1/users", json=peer, headers=changes).status_code == 201
    assert a2.get("/api/v1/cases").status_code == 401
    # A new password from the admin above ends the person's sessions too.
    xinwu, _ = sign_in(service.app, "xinwu")
    reset = {"name": "xinwu", "unit_code": "320214", "role": "analyst", "password": PASSWORD + "y"}
    assert admin.post("/api/v1/users", json=reset, headers=changes).status_code == 201
    assert xinwu.get("/api/v1/cases").status_code == 401


def test_every_finding_the_product_emits_is_accepted(service: Service) -> None:
    """Every golden file pushed as it is (crypto-node findings included): all received, and
    each stored finding reads back as the same typed value."""
    import json as _json
    from pathlib import Path

    from minewatch.cases.models import CaseFinding
    from minewatch.model.findings import Finding

    golden = sorted((Path(__file__).parent / "golden").glob("*.jsonl"))
    lines = [_json.loads(line) for p in golden for line in p.read_text().splitlines()]
    assert {f["activity"] for f in lines} >= {"mining", "crypto-node", "web-miner", "pool-server"}
    answer = service.push(lines)
    assert answer["received"] == len(lines)
    with service.session() as session:
        stored = [Finding.from_json(_json.loads(f.finding)) for f in session.scalars(select(CaseFinding))]
    sent = {(f.host, f.activity, f.first_seen): f for f in map(Finding.from_json, lines)}
    assert stored and all(sent[(f.host, f.activity, f.first_seen)] == f for f in stored)


def test_the_api_finding_is_the_contract_field_for_field() -> None:
    from minewatch.web.finding_in import FindingIn
    from tests.test_model_json import LINES

    assert set(FindingIn.model_fields) == set(LINES[0][2])
