"""Commands of the service: `minewatch serve`, `users add`, `tokens add`, and `push`, by
which a sensor sends its store's findings to a service."""

import json
import os
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from minewatch.cli.options import DbOption, StoreOption, when

__all__ = ["register"]

err = Console(stderr=True, highlight=False, soft_wrap=True)
PUSH_BATCH = 500


def _default_db(store: Path, db: str | None) -> str:
    store.mkdir(parents=True, exist_ok=True)
    return db or f"sqlite:///{store / 'cases.sqlite'}"


def _unit(session: Any, code: str) -> Any:
    from sqlalchemy import select

    from minewatch.cases.models import Unit

    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise typer.BadParameter(f"--unit {code}: no such unit (load them with `minewatch cases units`)")
    return unit


def _password(path: Path | None) -> str:
    if path is None:
        first = typer.prompt("Password", hide_input=True)
        if typer.prompt("Again", hide_input=True) != first:
            raise typer.BadParameter("the two passwords differ")
        return str(first)
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    return text.rstrip("\r\n")


def register(app: typer.Typer) -> None:
    users_app = typer.Typer(no_args_is_help=True, help="People who use the console.")
    tokens_app = typer.Typer(no_args_is_help=True, help="Sensors' tokens for pushing findings.")
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")

    @app.command()
    def serve(
        store: StoreOption = Path("minewatch-store"),
        db: DbOption = None,
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
        quiet: Annotated[
            float, typer.Option("--quiet", min=0, help="Days a host must be quiet to close as stopped.")
        ] = 7.0,
        secure_cookies: Annotated[
            bool, typer.Option("--secure-cookies", help="Mark cookies Secure (behind a TLS proxy).")
        ] = False,
        tips_per_10min: Annotated[int, typer.Option("--tips-per-10min", min=1)] = 5,
        workers: Annotated[
            int,
            typer.Option(
                "--workers", min=1, max=64, help="Processes; with more than one, run `cases tick` from cron."
            ),
        ] = 1,
        timezone: Annotated[
            str, typer.Option("--timezone", help="The offices' time zone, for pages and deadlines.")
        ] = "Asia/Shanghai",
    ) -> None:
        """The HTTP API, the console and the public tip page (one process per worker)."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        import uvicorn

        from minewatch.web.app import create_app
        from minewatch.web.deps import ServiceSettings

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise typer.BadParameter(
                f"--timezone {timezone!r}: not a time zone, e.g. Asia/Shanghai"
            ) from None
        settings = ServiceSettings(
            db_url=_default_db(store, db),
            quiet=timedelta(days=quiet),
            secure_cookies=secure_cookies,
            tips_per_window=tips_per_10min,
            tip_window_s=600.0,
            attribution_dir=store / "attribution",
            meters_dir=store / "meters",
            timezone=timezone,
        )
        err.print(f"minewatch: serving on http://{host}:{port}/ (API at /docs)", markup=False)
        uvicorn.run(
            create_app(settings), host=host, port=port, workers=None, log_level="warning", access_log=False
        ) if workers == 1 else _many(settings, host, port, workers)

    @users_app.command("add")
    def users_add(
        name: Annotated[str, typer.Argument(help="Sign-in name.")],
        unit: Annotated[str, typer.Option("--unit", help="Division code of the user's unit.")],
        role: Annotated[str, typer.Option("--role", help="analyst, supervisor or admin.")] = "analyst",
        password_file: Annotated[
            Path | None, typer.Option("--password-file", help="Read the password from a file (- for stdin).")
        ] = None,
        store: StoreOption = Path("minewatch-store"),
        db: DbOption = None,
    ) -> None:
        """Add a user (or reset one's unit, role and password)."""
        from sqlalchemy.orm import Session

        from minewatch.cases.db import connect
        from minewatch.cases.models import Role
        from minewatch.web.auth import create_user

        if role not in {r.value for r in Role}:
            raise typer.BadParameter(f"--role {role!r}: expected analyst, supervisor or admin")
        with Session(connect(_default_db(store, db))) as session:
            user = create_user(session, name, _unit(session, unit), Role(role), _password(password_file))
            session.commit()
            err.print(f"minewatch: user {user.name}, {role} at {user.unit.name}", markup=False)

    @tokens_app.command("add")
    def tokens_add(
        name: Annotated[str, typer.Argument(help="The sensor's name.")],
        unit: Annotated[str, typer.Option("--unit", help="Cases with no place go to this unit.")],
        store: StoreOption = Path("minewatch-store"),
        db: DbOption = None,
    ) -> None:
        """Make a sensor token; it is printed once and only its hash is kept."""
        from sqlalchemy.orm import Session

        from minewatch.cases.db import connect
        from minewatch.web.auth import issue_token

        with Session(connect(_default_db(store, db))) as session:
            token = issue_token(session, name, _unit(session, unit), datetime.now(UTC))
            session.commit()
        print(token)

    @app.command()
    def push(
        store: StoreOption,
        to: Annotated[str, typer.Option("--to", help="The service, e.g. https://minewatch.example.gov.cn")],
        since: Annotated[str | None, typer.Option("--since", help="Findings from this time or age.")] = None,
        token_file: Annotated[
            Path | None, typer.Option("--token-file", help="The sensor token (else $MINEWATCH_TOKEN).")
        ] = None,
    ) -> None:
        """Send the store's findings to a minewatch service, in batches."""
        from minewatch.store import Store

        token = token_file.read_text().strip() if token_file else os.environ.get("MINEWATCH_TOKEN", "")
        if not token:
            raise typer.BadParameter("no token: give --token-file or set MINEWATCH_TOKEN")
        if not store.is_dir():
            raise typer.BadParameter(f"{store}: no such store directory")
        # Each host once, its windows merged: one finding per case, not one per minute.
        rows = [f.to_json() for f in Store(store).episodes(when(since), None)]
        opened = updated = 0
        for start in range(0, len(rows), PUSH_BATCH):
            answer = _post(
                to.rstrip("/") + "/api/v1/findings", token, {"findings": rows[start : start + PUSH_BATCH]}
            )
            opened += answer["cases_opened"]
            updated += answer["cases_updated"]
        err.print(
            f"minewatch: pushed {len(rows)} findings: {opened} cases opened, {updated} updated", markup=False
        )


def _post(url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer: dict[str, Any] = json.load(response)
            return answer
    except urllib.error.HTTPError as e:
        detail = e.read(2000).decode("utf-8", "replace")
        raise typer.BadParameter(f"{url}: {e.code} {detail}") from None
    except urllib.error.URLError as e:
        raise typer.BadParameter(f"{url}: {e.reason}") from None


def _many(settings: Any, host: str, port: int, workers: int) -> None:
    """Several worker processes need the app by import string; the settings go by environment."""
    import uvicorn

    os.environ["MINEWATCH_SERVICE"] = json.dumps(
        {
            "db_url": settings.db_url,
            "quiet_s": settings.quiet.total_seconds(),
            "secure_cookies": settings.secure_cookies,
            "tips_per_window": settings.tips_per_window,
            "attribution_dir": str(settings.attribution_dir) if settings.attribution_dir else None,
            "meters_dir": str(settings.meters_dir) if settings.meters_dir else None,
            "timezone": settings.timezone,
        }
    )
    uvicorn.run(
        "minewatch.web.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
