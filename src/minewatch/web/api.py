"""The HTTP API (JSON, published as OpenAPI at /openapi.json): sensors push findings with
a token; people sign in and work the cases and tips of their unit's subtree; the public
sends tips."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from minewatch.cases.models import ApiToken, LoginSession, Role, User
from minewatch.cases.tips import TipForm
from minewatch.errors import (
    Denied,
    NotFound,
    RefusedError,
    ServiceBusy,
    SignInRefused,
    TipRefused,
    UnitsError,
)
from minewatch.report.bulletin import make_bulletin
from minewatch.web import actions
from minewatch.web.auth import device_cookie, end_session, session_for, sign_in
from minewatch.web.body import StrictJsonRoute
from minewatch.web.deps import (
    COOKIE,
    Db,
    ServiceSettings,
    SignedIn,
    now,
    sensor,
    set_signed_in_cookies,
    signed_in_csrf,
)
from minewatch.web.fields import IdPath
from minewatch.web.schemas import (
    ActionIn,
    ActiveIn,
    CaseDetail,
    CaseList,
    FindingsPush,
    LinkIn,
    PersonIn,
    PersonOut,
    PushResult,
    StatusFilter,
    TipIn,
    TipOut,
    TipReceipt,
)
from minewatch.web.scope import visible_case
from minewatch.web.tipbox import receive_tip

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", route_class=StrictJsonRoute)
Changing = Annotated[LoginSession, Depends(signed_in_csrf)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A body that is not UTF-8 JSON"},
    401: {"description": "Not signed in"},
    403: {"description": "Not allowed, or no CSRF token"},
    404: {"description": "Not found in your units"},
    409: {"description": "The workflow does not allow this step now"},
}


def _settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


# The HTTP status of each refusal (the table in `minewatch.errors`); any other is 409.
_STATUS: tuple[tuple[type[RefusedError], int], ...] = ((NotFound, 404), (Denied, 403))


def _http(e: RefusedError) -> HTTPException:
    return HTTPException(next((code for kind, code in _STATUS if isinstance(e, kind)), 409), str(e))


class SignIn(BaseModel):
    model_config = ConfigDict(strict=True)

    name: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class Me(BaseModel):
    name: str
    role: str
    unit: str
    unit_code: str
    csrf: str


def _me(login: LoginSession) -> Me:
    user = login.user
    return Me(name=user.name, role=user.role, unit=user.unit.name, unit_code=user.unit.code, csrf=login.csrf)


@router.get("/health", tags=["service"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post(
    "/sign-in",
    tags=["people"],
    responses={
        400: _ERRORS[400],
        401: _ERRORS[401],
        429: {"description": "Throttled: try again after Retry-After seconds"},
    },
)
def sign_in_route(body: SignIn, request: Request, response: Response, session: Db) -> Me:
    """Sign in: sets the session cookie (and a device cookie that lets this client past the
    per-name delay of the sign-in throttle) and returns the CSRF token for changes."""
    settings = _settings(request)
    address = request.client.host if request.client else "?"
    t = now()
    device = request.cookies.get(device_cookie(body.name))
    try:
        granted = sign_in(
            session,
            request.app.state.throttle,
            body.name,
            body.password,
            address,
            t,
            settings.session_lifetime,
            device,
        )
    except SignInRefused as e:
        if not e.wait:
            raise HTTPException(401, e.reason) from e
        raise HTTPException(429, e.reason, headers={"Retry-After": str(e.retry_after)}) from e
    session.commit()
    set_signed_in_cookies(response, granted, settings, request.url.path)
    login = session_for(session, granted.token, t)
    assert login is not None  # just made
    return _me(login)


@router.post("/sign-out", tags=["people"], status_code=204, responses={401: _ERRORS[401], 403: _ERRORS[403]})
def sign_out(login: Changing, request: Request, response: Response, session: Db) -> None:
    end_session(session, request.cookies.get(COOKIE))
    session.commit()
    response.delete_cookie(COOKIE)


@router.get("/me", tags=["people"], responses={401: _ERRORS[401]})
def me(login: SignedIn) -> Me:
    return _me(login)


@router.post(
    "/findings",
    tags=["sensors"],
    responses={
        400: _ERRORS[400],
        401: {"description": "No valid sensor token"},
        413: {"description": "More than 8 MiB"},
        503: {"description": "The database stayed busy through every retry; nothing was stored"},
    },
)
def push(
    body: FindingsPush, request: Request, session: Db, token: Annotated[ApiToken, Depends(sensor)]
) -> PushResult:
    """A sensor's findings (the `scan --json` contract): each opens a case or joins its
    host's open one (one open case per host and activity).

    A token pushes for its unit and the units below it. A finding placed (by its
    `attribution.region_code`, or the service's own attribution when the sensor gave none)
    in a unit outside them is refused, and so is one whose host's open case is held
    outside them; each refusal is listed (`refused`: index, host, reason) and the rest of
    the batch is stored. A finding with no place goes to the token's unit.

    Pushing is idempotent: a finding this sensor pushed before (same host, activity and
    window) counts as `already_stored`; a `batch` id seen before from this sensor is
    answered with what that batch did, with `replayed: true`. So a sensor can send a batch
    again whenever it is unsure it landed. A 503 (with Retry-After) means nothing was
    stored: try again."""
    pusher = actions.sensor_of(session, token)
    session.close()  # the push runs in transactions of its own, tried again on conflicts
    try:
        return actions.push_findings(
            request.app.state.sessions, pusher, body, now(), request.app.state.attributor
        )
    except ServiceBusy as e:
        raise HTTPException(503, str(e), headers={"Retry-After": "2"}) from e


@router.get("/cases", tags=["cases"], responses={401: _ERRORS[401]})
def list_cases(
    login: SignedIn,
    session: Db,
    status: StatusFilter | None = None,
    severity: Annotated[Literal["high", "medium", "low"] | None, Query()] = None,
    unit_code: Annotated[str | None, Query(pattern=r"^[0-9]{2,12}$")] = None,
    host: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CaseList:
    """The cases of your unit and the units below it, most recently changed first."""
    want = actions.QueueFilter(status, severity, unit_code, host, overdue)
    total, cases = actions.queue(session, login.user, want, now(), limit, offset)
    return CaseList(total=total, cases=[actions.case_summary(c, n) for c, n in cases])


@router.get("/cases/{case_id}", tags=["cases"], responses={401: _ERRORS[401], 404: _ERRORS[404]})
def get_case(case_id: IdPath, login: SignedIn, session: Db) -> CaseDetail:
    try:
        return actions.case_detail(visible_case(session, login.user, case_id))
    except NotFound as e:
        raise _http(e) from e


@router.post("/cases/{case_id}/actions", tags=["cases"], responses=_ERRORS)
def act(case_id: IdPath, body: ActionIn, request: Request, login: Changing, session: Db) -> CaseDetail:
    """One step on a case: triage, notify, rectify (with a deadline), block, verify, check
    (close as stopped if the host has been quiet), close (with a verdict), take, and, for
    supervisors, assign, delegate (to a unit directly below) and merge."""
    try:
        case = visible_case(session, login.user, case_id)
        actions.apply_action(session, login.user, case, body, now(), _settings(request).quiet)
    except RefusedError as e:
        session.rollback()
        raise _http(e) from e
    session.commit()
    return actions.case_detail(case)


@router.get("/tips", tags=["tips"], responses={401: _ERRORS[401]})
def list_tips(login: SignedIn, session: Db, all: bool = False) -> list[TipOut]:
    """Tips placed in your units; only those awaiting triage unless `all`."""
    return [actions.tip_out(t) for t in actions.tips_queue(session, login.user, only_new=not all, limit=200)]


def _tip_step(session: Db, login: LoginSession, tip_id: int, action: str, case_id: int | None) -> TipOut:
    try:
        tip = actions.tip_action(session, login.user, tip_id, action, case_id, now())
    except RefusedError as e:
        session.rollback()
        raise _http(e) from e
    session.commit()
    return actions.tip_out(tip)


@router.post("/tips/{tip_id}/link", tags=["tips"], responses=_ERRORS)
def link(tip_id: IdPath, body: LinkIn, login: Changing, session: Db) -> TipOut:
    return _tip_step(session, login, tip_id, "link", body.case_id)


@router.post("/tips/{tip_id}/dismiss", tags=["tips"], responses=_ERRORS)
def dismiss(tip_id: IdPath, login: Changing, session: Db) -> TipOut:
    return _tip_step(session, login, tip_id, "dismiss", None)


@router.post(
    "/public/tips",
    tags=["public"],
    status_code=201,
    responses={
        400: _ERRORS[400],
        413: {"description": "More than 16 KiB"},
        429: {"description": "Too many tips from this address"},
        503: {"description": "The service has no units yet, so no tip can be placed"},
    },
)
def public_tip(body: TipIn, request: Request, session: Db) -> TipReceipt:
    """A tip from anyone. The answer is a receipt number and nothing else."""
    try:
        form = TipForm(body.location, body.description, body.organisation, body.contact)
        receipt = receive_tip(request, session, form, body.unit_code)
    except TipRefused as e:
        raise HTTPException(429, str(e)) from e
    except UnitsError as e:  # a service whose units were never loaded
        raise HTTPException(503, "this service takes tips once its units are loaded") from e
    return TipReceipt(receipt=receipt, message="received")


@router.get("/dashboard", tags=["cases"], responses={401: _ERRORS[401]})
def dashboard(login: SignedIn, session: Db) -> dict[str, Any]:
    """The bulletin's figures over the findings of your units' cases."""
    return make_bulletin(actions.scoped_findings(session, login.user)).to_json()


def _person(user: User) -> PersonOut:
    return PersonOut(
        id=user.id,
        name=user.name,
        role=user.role,
        unit=user.unit.name,
        unit_code=user.unit.code,
        active=user.active,
    )


@router.get("/users", tags=["people"], responses={401: _ERRORS[401], 403: _ERRORS[403]})
def list_people(login: SignedIn, session: Db) -> list[PersonOut]:
    """The people of your units (admins only)."""
    try:
        return [_person(u) for u in actions.people(session, login.user)]
    except Denied as e:
        raise _http(e) from e


@router.post("/users", tags=["people"], status_code=201, responses=_ERRORS)
def add_person(body: PersonIn, login: Changing, session: Db) -> PersonOut:
    """Add a person to one of your units, or give one a new unit, role and password."""
    try:
        user = actions.add_person(
            session, login.user, body.name, body.unit_code, Role(body.role), body.password
        )
    except RefusedError as e:
        session.rollback()
        raise _http(e) from e
    session.commit()
    return _person(user)


@router.post("/users/{user_id}/active", tags=["people"], responses=_ERRORS)
def set_active(user_id: IdPath, body: ActiveIn, login: Changing, session: Db) -> PersonOut:
    """Switch a person of your units on or off (off ends their sessions)."""
    try:
        user = actions.set_active(session, login.user, user_id, body.active)
    except RefusedError as e:
        session.rollback()
        raise _http(e) from e
    session.commit()
    return _person(user)
