"""Commands of the service: `minewatch serve`, `users add`, `tokens add`, and `push`, by
which a sensor sends its store's findings to a service."""

import ipaddress
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from minewatch.cli.options import DbOption, SinceOption, StoreOption, connect_db, database_url, existing_store
from minewatch.cli.push import BATCH_SIZE, RETRY_FOR, TIMEOUT, TRIES, BatchReport, RetryPolicy, push_batches
from minewatch.errors import OptionError, RemoteError, UsageError
from minewatch.options import (
    QUIET,
    SECURE_COOKIES,
    SERVICE,
    TIMEZONE,
    TIPS_PER_10MIN,
    WORKERS,
    Opt,
    choice,
    to_text,
    whole,
)

__all__ = ["register"]

err = Console(stderr=True, highlight=False, soft_wrap=True)
PORT = Opt("--port", whole(1, 65535), 8000, "Port to listen on.")
ROLE = Opt("--role", choice("analyst", "supervisor", "admin"), "analyst", "analyst, supervisor or admin.")


def _unit(session: Any, code: str) -> Any:
    from sqlalchemy import select

    from minewatch.cases.models import Unit

    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise UsageError(f"--unit {code}", "no such unit (load them with `minewatch cases units`)")
    return unit


def _password(path: Path | None) -> str:
    if path is None:
        first = typer.prompt("Password", hide_input=True)
        if typer.prompt("Again", hide_input=True) != first:
            raise UsageError("password", "the two passwords differ")
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
        port: Annotated[int, PORT.flag()] = PORT.default,
        quiet: Annotated[timedelta, QUIET.flag()] = QUIET.default,
        secure_cookies: Annotated[bool, SECURE_COOKIES.flag()] = SECURE_COOKIES.default,
        tips_per_10min: Annotated[int, TIPS_PER_10MIN.flag()] = TIPS_PER_10MIN.default,
        workers: Annotated[int, WORKERS.flag()] = WORKERS.default,
        timezone: Annotated[str, TIMEZONE.flag()] = TIMEZONE.default,
        trusted_proxy: Annotated[
            list[str] | None,
            typer.Option(
                "--trusted-proxy",
                help="A reverse proxy (address or network) whose X-Forwarded-For and "
                "X-Forwarded-Proto are believed (repeatable); none by default.",
            ),
        ] = None,
    ) -> None:
        """The HTTP API, the console and the public tip page (one process per worker)."""
        import uvicorn

        from minewatch.web.app import create_app
        from minewatch.web.deps import ServiceSettings

        chosen = {"quiet": quiet, "secure_cookies": secure_cookies, "tips_per_10min": tips_per_10min}
        chosen["timezone"] = timezone
        url = database_url(store, db, create=True)
        settings = ServiceSettings.of(url, store, chosen)
        proxies = _proxies(trusted_proxy or [])
        err.print(f"minewatch: serving on http://{host}:{port}/ (API at /docs)", markup=False)
        if workers == 1:
            uvicorn.run(create_app(settings), host=host, port=port, **_served(proxies))
        else:
            _many(url, store, chosen, host, port, workers, proxies)

    @users_app.command("add")
    def users_add(
        name: Annotated[str, typer.Argument(help="Sign-in name.")],
        unit: Annotated[str, typer.Option("--unit", help="Division code of the user's unit.")],
        role: Annotated[str, ROLE.flag()] = ROLE.default,
        password_file: Annotated[
            Path | None, typer.Option("--password-file", help="Read the password from a file (- for stdin).")
        ] = None,
        store: StoreOption = Path("minewatch-store"),
        db: DbOption = None,
    ) -> None:
        """Add a user (or reset one's unit, role and password)."""
        from sqlalchemy.orm import Session

        from minewatch.cases.models import Role
        from minewatch.web.auth import create_user

        with Session(connect_db(store, db, create=True)) as session:
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

        from minewatch.web.auth import issue_token

        with Session(connect_db(store, db, create=True)) as session:
            token = issue_token(session, name, _unit(session, unit), datetime.now(UTC))
            session.commit()
        print(token)

    @app.command()
    def push(
        store: StoreOption,
        to: Annotated[str, typer.Option("--to", help="The service, e.g. https://minewatch.example.gov.cn")],
        since: SinceOption = None,
        token_file: Annotated[
            Path | None, typer.Option("--token-file", help="The sensor token (else $MINEWATCH_TOKEN).")
        ] = None,
        batch_size: Annotated[int, BATCH_SIZE.flag()] = BATCH_SIZE.default,
        tries: Annotated[int, TRIES.flag()] = TRIES.default,
        retry_for: Annotated[float, RETRY_FOR.flag()] = RETRY_FOR.default,
        timeout: Annotated[float, TIMEOUT.flag()] = TIMEOUT.default,
    ) -> None:
        """Send the store's findings to a minewatch service in batches, each retried until it
        lands (safe: a batch sent twice is stored once); reports each batch."""
        from minewatch.store import Store

        token = token_file.read_text().strip() if token_file else os.environ.get("MINEWATCH_TOKEN", "")
        if not token:
            raise UsageError("push", "no token: give --token-file or set MINEWATCH_TOKEN")
        # Windows, not episodes: a window pushed again (a retry, an overlapping --since) is the
        # same finding and the service stores it once; a grown episode would not be.
        rows = [f.to_json() for f in Store(existing_store(store)).findings(since, None)]
        url = to.rstrip("/") + "/api/v1/findings"
        policy = RetryPolicy(tries=tries, retry_for_s=retry_for, timeout_s=timeout)
        reports = push_batches(url, token, rows, batch_size, policy, _print_report)
        err.print(f"minewatch: {_total(rows, reports)}", markup=False)
        failed = [r for r in reports if r.landed is None]
        if failed:
            named = ", ".join(f"{r.number} (findings {r.first}-{r.last})" for r in failed)
            raise RemoteError(url, f"{len(failed)} of {len(reports)} batches did not land: {named}")


def _print_report(report: BatchReport) -> None:
    """One line per batch, and a line per refused finding (the first ten)."""
    head = f"batch {report.number} of {report.of}, findings {report.first}-{report.last}"
    landed = report.landed
    if landed is None:
        err.print(f"minewatch: {head}: failed {report.failure}", markup=False)
        return
    again = " (answered before: replayed)" if landed.replayed else ""
    tries = f" after {report.tries} tries" if report.tries > 1 else ""
    err.print(
        f"minewatch: {head}: {landed.stored} stored ({landed.cases_opened} cases opened, "
        f"{landed.cases_updated} updated), {landed.already_stored} already stored, "
        f"{len(landed.refused)} refused, {landed.not_cases} not cases{again}{tries}",
        markup=False,
    )
    for r in landed.refused[:10]:
        number = report.first + r.index
        err.print(f"minewatch:   refused finding {number} ({r.host}): {r.reason}", markup=False)
    if len(landed.refused) > 10:
        err.print(f"minewatch:   and {len(landed.refused) - 10} more refused", markup=False)


def _total(rows: list[dict[str, Any]], reports: list[BatchReport]) -> str:
    landed = [r.landed for r in reports if r.landed is not None]
    stored = sum(o.stored for o in landed)
    opened = sum(o.cases_opened for o in landed)
    return (
        f"pushed {len(rows)} findings in {len(reports)} batches: {stored} stored ({opened} cases opened), "
        f"{sum(o.already_stored for o in landed)} already stored, "
        f"{sum(len(o.refused) for o in landed)} refused, {len(reports) - len(landed)} batches failed"
    )


def _proxies(values: list[str]) -> tuple[str, ...]:
    """The --trusted-proxy networks, each checked."""
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise OptionError(
                "--trusted-proxy", value, "an address or network such as 10.0.0.5 or 10.0.0.0/24"
            ) from None
    return tuple(out)


def _served(proxies: tuple[str, ...]) -> dict[str, Any]:
    """uvicorn's settings: forwarded headers only from the proxies the operator names. (Its
    own default believes them from loopback, so anyone on the host could pick the address
    that limits key on.)"""
    return {
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies) if proxies else "",
    }


def _many(
    url: str,
    store: Path,
    chosen: dict[str, Any],
    host: str,
    port: int,
    workers: int,
    proxies: tuple[str, ...],
) -> None:
    """Several worker processes need the app by import string; the settings go by
    environment, as the text each option parses (`minewatch.options.to_text`)."""
    import uvicorn

    given = {"db_url": url, "store": str(store), **to_text(SERVICE, chosen)}
    os.environ["MINEWATCH_SERVICE"] = json.dumps(given)
    uvicorn.run(
        "minewatch.web.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **_served(proxies),
    )
