"""The console for people, rendered on the server (no script, no build step): sign-in, the
case queue with the tips awaiting triage, a case's page with its actions, the dashboard,
the bulletin download, and the public tip-off page. Chinese and English."""

from __future__ import annotations

import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from minewatch.cases import service
from minewatch.cases.db import root_unit
from minewatch.cases.models import LoginSession, Role, Status, Unit
from minewatch.cases.tips import TipForm
from minewatch.cases.workflow import WorkflowError, unit_for_code
from minewatch.errors import UnitsError
from minewatch.report.bulletin import make_bulletin
from minewatch.report.html import SECTOR_NAMES, bars_svg, human_number, meters_section, render_html
from minewatch.report.table import write_csv
from minewatch.web import actions
from minewatch.web.auth import (
    AccountError,
    Granted,
    SignInRefused,
    device_cookie,
    end_session,
    session_for,
    sign_in,
)
from minewatch.web.deps import COOKIE, ServiceSettings, csrf_ok, now, set_signed_in_cookies
from minewatch.web.fields import day_end, id_or_none, whole
from minewatch.web.i18n import LANGS, TEXT, pick_lang
from minewatch.web.schemas import ActionIn, PersonIn, TipIn
from minewatch.web.scope import Denied, NotFound, may, subtree, visible_case
from minewatch.web.tipbox import TipRefused, receive_tip

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
PRE_COOKIE = "mw_pre"  # the sign-in form's CSRF token, before there is a session
LANG_COOKIE = "mw_lang"
PAGE = 50


def _lang(request: Request) -> str:
    return pick_lang(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = _lang(request)
    zone = ZoneInfo(_settings(request).timezone)

    def local(t: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if t is None:
            return ""
        return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(zone).strftime(fmt)

    context.update(
        request=request,
        lang=lang,
        t=TEXT[lang],
        langs=LANGS,
        path=request.url.path,
        local=local,
        zone=zone.key,
    )
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _login(request: Request, session: Session) -> LoginSession | None:
    return session_for(session, request.cookies.get(COOKIE), now())


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def _error(request: Request, login: LoginSession | None, status: int, message: str) -> HTMLResponse:
    return _page(request, "error.html", status=status, login=login, message=message)


def _refused(request: Request, login: LoginSession, e: Denied | NotFound) -> HTMLResponse:
    t = TEXT[_lang(request)]
    return (
        _error(request, login, 403, t["denied"])
        if isinstance(e, Denied)
        else _error(request, login, 404, t["not_found"])
    )


def _changing(request: Request, session: Session, form: FormData) -> LoginSession | Response:
    """The signed-in person asking for a change with the form's CSRF token; else the
    answer to give instead (sign in first, or 403)."""
    login = _login(request, session)
    if login is None:
        return _to_login()
    if not csrf_ok(login, str(form.get("csrf") or "")):
        return _error(request, login, 403, TEXT[_lang(request)]["csrf"])
    return login


def _settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


def _db(request: Request) -> Session:
    session: Session = request.app.state.sessions()
    return session


@router.get("/login")
def login_page(request: Request, failed: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = _page(request, "login.html", pre=token, failed=failed[:16])
    response.set_cookie(
        PRE_COOKIE, token, httponly=True, samesite="strict", secure=_settings(request).secure_cookies
    )
    return response


@router.post("/login")
async def login_submit(request: Request) -> Response:
    form = await request.form()
    name, password, pre = (str(form.get(k) or "") for k in ("name", "password", "csrf"))
    cookie = request.cookies.get(PRE_COOKIE) or ""
    if not pre or not secrets.compare_digest(pre.encode()[:64], cookie.encode()[:64]):
        return RedirectResponse("/login?failed=csrf", status_code=303)
    settings = _settings(request)
    address = request.client.host if request.client else "?"
    device = request.cookies.get(device_cookie(name[:64]))

    def check() -> Granted:
        with _db(request) as session:
            granted = sign_in(
                session,
                request.app.state.throttle,
                name,
                password,
                address,
                now(),
                settings.session_lifetime,
                device,
            )
            session.commit()
            return granted

    try:
        # On a worker thread: argon2 takes a core for a while, and the event loop serves the rest.
        granted = await run_in_threadpool(check)
    except SignInRefused as e:
        if not e.wait:
            return RedirectResponse("/login?failed=password", status_code=303)
        wait_s = e.retry_after
        page = _page(request, "login.html", status=429, pre=cookie, failed="throttled", wait_s=wait_s)
        page.headers["Retry-After"] = str(wait_s)
        return page
    response = RedirectResponse("/", status_code=303)
    set_signed_in_cookies(response, granted, settings, request.url.path)
    response.delete_cookie(PRE_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    with _db(request) as session:
        login = _login(request, session)
        if login is not None and csrf_ok(login, str(form.get("csrf") or "")):
            end_session(session, request.cookies.get(COOKIE))
            session.commit()
    response = _to_login()
    response.delete_cookie(COOKIE)
    return response


@router.get("/lang/{code}")
def choose_lang(code: str, back: str = "/") -> RedirectResponse:
    # Only a path on this site: never a redirect elsewhere.
    target = back if back.startswith("/") and not back.startswith("//") and "\\" not in back else "/"
    response = RedirectResponse(target, status_code=303)
    if code in LANGS:
        response.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 86400)
    return response


def _queue_filter(request: Request) -> tuple[actions.QueueFilter, int]:
    q = request.query_params
    status = q.get("status", "open")
    status = status if status in {"open", ""} | {s.value for s in Status} else "open"
    severity = q.get("severity", "")
    unit_code = q.get("unit", "")
    page = whole(q.get("page", ""), 100_000) or 1
    want = actions.QueueFilter(
        status=status or None,
        severity=severity if severity in ("high", "medium", "low") else None,
        unit_code=unit_code if whole(unit_code, 10**12 - 1) is not None and len(unit_code) >= 2 else None,
        host=q.get("host", "")[:64].replace("\x00", "") or None,
        overdue=q.get("overdue") == "1",
    )
    return want, max(page, 1)


@router.get("/")
def queue_page(request: Request) -> Response:
    with _db(request) as session:
        login = _login(request, session)
        if login is None:
            return _to_login()
        want, page = _queue_filter(request)
        total, cases = actions.queue(session, login.user, want, now(), PAGE, (page - 1) * PAGE)
        units = _units_below(session, login.user.unit_id)
        tips = actions.tips_queue(session, login.user)
        params = {k: v for k, v in request.query_params.items() if k != "page"}
        return _page(
            request,
            "queue.html",
            login=login,
            cases=[actions.case_summary(c, n) for c, n in cases],
            total=total,
            page=page,
            pages=max(1, -(-total // PAGE)),
            want=want,
            units=units,
            statuses=[s.value for s in Status],
            tips=[actions.tip_out(t) for t in tips],
            query=lambda **kw: "?" + urlencode({**params, **kw}),
            now=now(),
        )


def _units_below(session: Session, unit_id: int) -> list[Unit]:
    ids = subtree(session, unit_id)
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.code)))


def _available(login: LoginSession, status: str) -> list[str]:
    """The actions this person can take on a case in this status, in workflow order."""
    return [a for a in service.next_actions(status) if may(login.user, a)]


def _case_page(
    request: Request, session: Session, login: LoginSession, case_id: int, **extra: Any
) -> HTMLResponse:
    case = visible_case(session, login.user, case_id)
    detail = actions.case_detail(case)
    finding = detail.latest_finding or {}
    children = list(session.scalars(select(Unit).where(Unit.parent_id == case.unit_id).order_by(Unit.code)))
    return _page(
        request,
        "case.html",
        status=extra.pop("status", 200),
        login=login,
        case=detail,
        finding=finding,
        available=[a for a in _available(login, case.status) if a != "delegate" or children],
        children=children,
        sector_names=SECTOR_NAMES.get(_lang(request), {}),
        num=human_number,
        default_deadline=(now() + timedelta(days=7))
        .astimezone(ZoneInfo(_settings(request).timezone))
        .date()
        .isoformat(),
        **extra,
    )


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str) -> Response:
    with _db(request) as session:
        login = _login(request, session)
        if login is None:
            return _to_login()
        number = id_or_none(case_id)
        try:
            if number is None:
                raise NotFound(f"case {case_id[:20]}", "is no case id")
            return _case_page(request, session, login, number, done=request.query_params.get("done", "")[:40])
        except NotFound:
            return _error(request, login, 404, TEXT[_lang(request)]["not_found"])


@router.post("/cases/{case_id}")
async def case_action(request: Request, case_id: str) -> Response:
    form = await request.form()
    with _db(request) as session:
        login = _changing(request, session, form)
        if not isinstance(login, LoginSession):
            return login
        number = id_or_none(case_id)
        if number is None:
            return _error(request, login, 404, TEXT[_lang(request)]["not_found"])
        fields = {
            k: str(form.get(k) or "") for k in ("action", "verdict", "unit_code", "assignee", "into", "note")
        }
        try:
            act = ActionIn(
                action=fields["action"],  # type: ignore[arg-type]  # checked by pydantic
                deadline=day_end(str(form.get("deadline") or ""), _settings(request).timezone),
                verdict=fields["verdict"] or None,  # type: ignore[arg-type]
                unit_code=fields["unit_code"] or None,
                assignee=fields["assignee"] or None,
                into=id_or_none(fields["into"]),
                note=fields["note"],
            )
            case = visible_case(session, login.user, number)
            actions.apply_action(session, login.user, case, act, now(), _settings(request).quiet)
            session.commit()
        except (Denied, NotFound) as e:
            session.rollback()
            return _refused(request, login, e)
        except (WorkflowError, ValidationError, ValueError) as e:
            session.rollback()
            message = str(e) if isinstance(e, WorkflowError) else _invalid(e)
            return _case_page(request, session, login, number, status=409, error=message)
        return RedirectResponse(f"/cases/{number}?" + urlencode({"done": act.action}), status_code=303)


def _invalid(e: Exception) -> str:
    if isinstance(e, ValidationError):
        return "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
    return str(e)


@router.post("/tips/{tip_id}")
async def tip_step(request: Request, tip_id: str) -> Response:
    form = await request.form()
    with _db(request) as session:
        login = _changing(request, session, form)
        if not isinstance(login, LoginSession):
            return login
        number = id_or_none(tip_id)
        if number is None:
            return _error(request, login, 404, TEXT[_lang(request)]["not_found"])
        action, case_id = str(form.get("action") or ""), id_or_none(str(form.get("case_id") or ""))
        try:
            actions.tip_action(session, login.user, number, action, case_id, now())
            session.commit()
        except (Denied, NotFound) as e:
            session.rollback()
            return _refused(request, login, e)
        except WorkflowError as e:
            session.rollback()
            return _error(request, login, 409, str(e))
        return RedirectResponse("/", status_code=303)


@router.get("/dashboard")
def dashboard_page(request: Request) -> Response:
    with _db(request) as session:
        login = _login(request, session)
        if login is None:
            return _to_login()
        lang = _lang(request)
        findings = actions.scoped_findings(session, login.user)
        bulletin = make_bulletin(findings, lang=lang)
        counts = actions.status_counts(session, login.user)
        total_overdue, _ = actions.queue(session, login.user, actions.QueueFilter(overdue=True), now(), 1)
        unknown = SECTOR_NAMES["zh"]["unknown"] if lang == "zh" else "unknown"
        return _page(
            request,
            "dashboard.html",
            login=login,
            b=bulletin,
            open_cases=sum(n for s, n in counts.items() if s != Status.CLOSED.value),
            closed_cases=counts.get(Status.CLOSED.value, 0),
            overdue=total_overdue,
            counts=counts,
            statuses=[s.value for s in Status],
            num=human_number,
            by_city=bars_svg(bulletin.by_city, unknown),
            by_county=bars_svg(bulletin.by_county, unknown),
            by_sector=bars_svg(bulletin.by_sector, unknown, names=SECTOR_NAMES.get(lang, {})),
        )


@router.get("/meters")
def meters_page(request: Request) -> Response:
    with _db(request) as session:
        login = _login(request, session)
        if login is None:
            return _to_login()
        lang = _lang(request)
        rows = _scoped_meters(request, session, login.user.unit_id)
        return _page(
            request,
            "meters.html",
            login=login,
            meters=meters_section(rows, lang, limit=100) if rows else "",
        )


def _scoped_meters(request: Request, session: Session, unit_id: int) -> list[dict[str, Any]]:
    """The last assessment's meters whose site lies in the user's units (a meter with no
    place belongs to the root)."""
    folder = _settings(request).meters_dir
    path = folder / "assessments.json" if folder else None
    if path is None or not path.is_file():
        return []
    rows: list[dict[str, Any]] = json.loads(path.read_text())
    mine = subtree(session, unit_id)
    root = root_unit(session)
    out = []
    for row in rows:
        unit = unit_for_code(session, row.get("region_code")) or root
        if unit.id in mine:
            out.append(row)
    return out


@router.get("/users")
def people_page(request: Request) -> Response:
    with _db(request) as session:
        login = _login(request, session)
        if login is None:
            return _to_login()
        return _people_page(request, session, login)


def _people_page(
    request: Request, session: Session, login: LoginSession, status: int = 200, **extra: Any
) -> HTMLResponse:
    try:
        listed = actions.people(session, login.user)
    except Denied as e:
        return _refused(request, login, e)
    units = _units_below(session, login.user.unit_id)
    return _page(request, "users.html", status=status, login=login, people=listed, units=units, **extra)


@router.post("/users")
async def people_action(request: Request) -> Response:
    form = await request.form()
    with _db(request) as session:
        login = _changing(request, session, form)
        if not isinstance(login, LoginSession):
            return login
        fields = {
            k: str(form.get(k) or "") for k in ("action", "name", "unit_code", "role", "password", "user_id")
        }
        try:
            if fields["action"] == "add":
                checked = PersonIn(
                    name=fields["name"].strip(),
                    unit_code=fields["unit_code"],
                    role=fields["role"],  # type: ignore[arg-type]  # checked by pydantic
                    password=fields["password"],
                )
                actions.add_person(
                    session, login.user, checked.name, checked.unit_code, Role(checked.role), checked.password
                )
            else:
                active = fields["action"] == "activate"
                actions.set_active(session, login.user, id_or_none(fields["user_id"]) or 0, active)
            session.commit()
        except (Denied, NotFound) as e:
            session.rollback()
            return _refused(request, login, e)
        except (ValidationError, WorkflowError, AccountError) as e:
            session.rollback()
            message = _invalid(e) if isinstance(e, ValidationError) else str(e)
            return _people_page(request, session, login, status=409, error=message)
        return RedirectResponse("/users", status_code=303)


@router.get("/report")
def report_download(request: Request, format: str = "html") -> Response:
    with _db(request) as session:
        login = _login(request, session)
        if login is None:
            return _to_login()
        lang = _lang(request)
        findings = actions.scoped_findings(session, login.user)
    stamp = f"{now():%Y%m%d}"
    bulletin = make_bulletin(findings, lang=lang)
    if format == "json":
        body = json.dumps(bulletin.to_json(), ensure_ascii=False, indent=1)
        return _download(body, "application/json", f"bulletin-{stamp}.json")
    if format == "csv":
        out = io.StringIO()
        write_csv(findings, None, out)
        return _download(out.getvalue(), "text/csv; charset=utf-8", f"bulletin-{stamp}.csv")
    response = _download(render_html(bulletin, lang), "text/html; charset=utf-8", f"bulletin-{stamp}.html")
    # The bulletin is one self-contained page with its own styles.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    return response


def _download(body: str, media_type: str, filename: str) -> Response:
    return Response(
        body.encode("utf-8"),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _tip_units(session: Session) -> list[tuple[str, str]]:
    """Every unit as (code, its place written out: 江苏省 无锡市 梁溪区)."""
    units = list(session.scalars(select(Unit).order_by(Unit.code)))
    by_id = {u.id: u for u in units}

    def path(u: Unit) -> str:
        names = [u.name]
        while u.parent_id is not None and u.parent_id in by_id and len(names) < 5:
            u = by_id[u.parent_id]
            names.append(u.name)
        return " ".join(reversed(names))

    return [(u.code, path(u)) for u in units]


@router.get("/tip")
def tip_page(request: Request) -> HTMLResponse:
    with _db(request) as session:
        return _page(request, "tip.html", units=_tip_units(session), form={}, public=True)


@router.post("/tip")
async def tip_submit(request: Request) -> HTMLResponse:
    form = await request.form()
    fields = {
        k: str(form.get(k) or "") for k in ("location", "organisation", "description", "contact", "unit_code")
    }
    t = TEXT[_lang(request)]
    with _db(request) as session:
        try:
            checked = TipIn(
                location=fields["location"].strip(),
                description=fields["description"].strip(),
                organisation=fields["organisation"].strip(),
                contact=fields["contact"].strip(),
                unit_code=fields["unit_code"] or None,
            )
            receipt = receive_tip(
                request,
                session,
                TipForm(checked.location, checked.description, checked.organisation, checked.contact),
                checked.unit_code,
            )
        except ValidationError:
            units = _tip_units(session)
            return _page(
                request, "tip.html", status=400, units=units, form=fields, error=t["tip_bad"], public=True
            )
        except TipRefused:
            units = _tip_units(session)
            return _page(
                request, "tip.html", status=429, units=units, form=fields, error=t["tip_rate"], public=True
            )
        except UnitsError:  # a service whose units were never loaded
            return _page(
                request, "tip.html", status=503, units=[], form=fields, error=t["tip_closed"], public=True
            )
    return _page(request, "tip_done.html", receipt=receipt, public=True)
