"""Bringing a database made by an older minewatch up to the tables of this one, at connect.
`create_all` makes missing tables but never touches an existing one, so what later
versions added to existing tables is added here: the finding key column, the unique
indexes (one open case per host and activity; one stored finding per key), and a host
column wide enough for a site's domain name (PostgreSQL; SQLite does not enforce lengths).

A database from before the one-open-case index may hold duplicate open cases (pushes that
raced). The index cannot be made over them, and refusing to start would leave the operator
no console to resolve them in; so each group is merged into its oldest case, as a
supervisor's merge would do it (the others close as duplicates, their findings move over),
with the reason in each case's audit trail, and the merge is logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from minewatch.cases.models import HOST_LENGTH, ONE_FINDING_KEY, ONE_OPEN_CASE, Base, Case, Status
from minewatch.cases.workflow import merge

__all__ = ["upgrade"]

log = logging.getLogger(__name__)
ACTOR = "minewatch (upgrade)"
# Any constant: the advisory lock that lets one of several starting workers upgrade at a time.
_PG_LOCK = 0x6D77_0016


def upgrade(engine: Engine) -> None:
    """Add what this version's tables have and an older database lacks. Safe to run by
    several processes at once (each waits for the other's lock and then finds it done)."""
    if _current(engine):
        return
    with engine.connect() as connection, _exclusive(connection):
        if "finding_key" not in {c["name"] for c in inspect(connection).get_columns("case_findings")}:
            connection.exec_driver_sql("ALTER TABLE case_findings ADD COLUMN finding_key VARCHAR(64)")
        if _host_length(connection) < HOST_LENGTH and connection.dialect.name == "postgresql":
            # SQLite does not enforce a VARCHAR's length; PostgreSQL does.
            connection.exec_driver_sql(f"ALTER TABLE cases ALTER COLUMN host TYPE VARCHAR({HOST_LENGTH})")
        with Session(bind=connection) as session:  # in the connection's transaction
            merged = merge_duplicate_open_cases(session, datetime.now(UTC))
        if merged:
            log.warning("merged %d duplicate open cases (case, into): %s", len(merged), merged)
        for table in ("cases", "case_findings"):
            for index in Base.metadata.tables[table].indexes:
                if index.name in (ONE_OPEN_CASE, ONE_FINDING_KEY):
                    index.create(connection, checkfirst=True)
        connection.commit()


def _current(engine: Engine) -> bool:
    names = {i["name"] for i in inspect(engine).get_indexes("cases")}
    names |= {i["name"] for i in inspect(engine).get_indexes("case_findings")}
    wide = engine.dialect.name != "postgresql" or _host_length(engine) >= HOST_LENGTH
    return {ONE_OPEN_CASE, ONE_FINDING_KEY} <= names and wide


def _host_length(bind: Engine | Connection) -> int:
    """The length of `cases.host` (64 before site and app cases; unbounded counts as wide)."""
    for column in inspect(bind).get_columns("cases"):
        if column["name"] == "host":
            return getattr(column["type"], "length", None) or HOST_LENGTH
    return HOST_LENGTH


@contextmanager
def _exclusive(connection: Connection) -> Iterator[None]:
    """Hold the database's writer lock (SQLite) or an advisory lock (PostgreSQL) until the
    transaction ends."""
    try:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    except DBAPIError:
        connection.rollback()
        raise
    yield


def merge_duplicate_open_cases(session: Session, now: datetime) -> list[tuple[int, int]]:
    """Merge every host's extra open cases of one activity into its oldest; returns the
    (merged, into) pairs."""
    groups = session.execute(
        select(Case.host, Case.activity)
        .where(Case.status != Status.CLOSED.value)
        .group_by(Case.host, Case.activity)
        .having(func.count() > 1)
    ).all()
    pairs = []
    for host, activity in groups:
        oldest, *rest = session.scalars(
            select(Case)
            .where(Case.host == host, Case.activity == activity, Case.status != Status.CLOSED.value)
            .order_by(Case.id)
        ).all()
        for duplicate in rest:
            merge(session, duplicate, oldest, ACTOR, now)
            pairs.append((duplicate.id, oldest.id))
    session.flush()
    return pairs
