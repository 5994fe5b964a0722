"""The API against its own OpenAPI spec, with schemathesis: for every operation, generated
requests (signed in as a county analyst, with the CSRF token and a sensor token) must get
answers the spec documents, in the shapes it documents, and never a server error; and its
checks that send requests without the credentials must see them refused."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config._auth import AuthConfig

from tests.service_fixtures import make_service, placed, sign_in

# The schema is read when the tests are collected, so the service is made then, in a folder
# of its own (schemathesis's fixture-based loader does not run on pytest 9).
_FOLDER = Path(tempfile.mkdtemp(prefix="minewatch-schema-"))
SERVICE = make_service(_FOLDER, f"sqlite:///{_FOLDER / 'cases.sqlite'}", quiet=timedelta(0))
SERVICE.push([placed("10.20.0.1", "320213"), placed("10.20.0.2", "320213"), placed("10.30.0.1", "320102")])
_CLIENT, _CSRF = sign_in(SERVICE.app, "lx")
atexit.register(shutil.rmtree, _FOLDER, True)
atexit.register(SERVICE.close)

schema = schemathesis.openapi.from_asgi("/openapi.json", SERVICE.app).exclude(path="/api/v1/sign-out")
schema.config.auth = AuthConfig(
    openapi={
        "session": {"api_key": _CLIENT.cookies["mw_session"]},
        "csrf": {"api_key": _CSRF},
        "sensor": {"bearer": SERVICE.token},
    }
)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_spec(case: Any) -> None:
    case.call_and_validate()
