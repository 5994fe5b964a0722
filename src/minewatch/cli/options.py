"""Options and values several commands share. A value that does not parse raises
`OptionError` (exit 2, one line); the options themselves are declared in `minewatch.options`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from minewatch.errors import InputError, OptionError, UsageError
from minewatch.options import SECONDS, SINCE, UNTIL, Opt

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from minewatch.detect.standing import NameStanding

__all__ = [
    "RUN_FOR",
    "AllowNamesOption",
    "DbOption",
    "SinceOption",
    "StoreOption",
    "UntilOption",
    "connect_db",
    "database_url",
    "existing_store",
    "name_standing",
    "when",
]

RUN_FOR: Opt[float | None] = Opt(
    "--duration", SECONDS, None, "Stop after this many seconds (default: run until Ctrl-C)."
)
StoreOption = Annotated[Path, typer.Option("--store", help="The store directory (created if missing).")]
DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (default: SQLite in the store).")]
SinceOption = Annotated[datetime | None, SINCE.flag()]
AllowNamesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--allow-names",
        help="Server names that weigh against mining: one per line, or a ranked list such as "
        "Tranco's (rank,domain); adds to the bundled list (repeatable).",
    ),
]
UntilOption = Annotated[datetime | None, UNTIL.flag()]


def when(value: str | None) -> datetime | None:
    """RFC 3339 / ISO time (UTC if no zone), or an age such as 24h, 7d, 90m."""
    return None if value is None else SINCE.parse(value)


def name_standing(paths: list[Path] | None) -> NameStanding:
    """The bundled names of standing and those of every --allow-names file."""
    from minewatch.detect.standing import NameStanding, read_names

    standing = NameStanding()
    for path in paths or []:
        standing = standing.with_names(read_names(path))
    return standing


def existing_store(store: Path) -> Path:
    """`store`, or UsageError when there is no such directory to read from."""
    if not store.is_dir():
        raise UsageError(str(store), "no such store directory")
    return store


def database_url(store: Path, db: str | None, create: bool = False) -> str:
    """The cases database's URL: `db`, else SQLite in the store (made if `create`, else it
    must exist). A URL SQLAlchemy cannot read is an OptionError."""
    if db is None:
        if create:
            store.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{existing_store(store) / 'cases.sqlite'}"
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(db)
    except ArgumentError:
        raise OptionError("--db", db, "a database URL such as postgresql+psycopg://host/minewatch") from None
    return db


def connect_db(store: Path, db: str | None, create: bool = False) -> Engine:
    """The cases database, its tables made if missing; InputError if it cannot be opened."""
    from sqlalchemy.exc import NoSuchModuleError, OperationalError

    from minewatch.cases.db import connect

    url = database_url(store, db, create)
    try:
        return connect(url)
    except NoSuchModuleError:
        raise OptionError("--db", url, "a database minewatch has a driver for (sqlite, postgresql)") from None
    except OperationalError as e:
        raise InputError(url if db is None else "--db", f"cannot open the database: {e.orig}") from None
