"""Where cases live: SQLite in the store by default (no setup), any SQLAlchemy URL (such
as PostgreSQL) in production; and the unit tree loaded from a CSV."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session

from minewatch.cases.models import Base, Level, Unit
from minewatch.cases.upgrade import upgrade
from minewatch.errors import UnitsError

__all__ = ["UnitsError", "connect", "load_units", "root_unit"]


def connect(url: str) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    Base.metadata.create_all(engine)
    upgrade(engine)  # what create_all leaves out on a database made by an older minewatch
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets the console read while a sensor writes; a writer waits for another rather
    # than failing at once.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def load_units(session: Session, path: Path) -> int:
    """Add or update units from a CSV of code, name, level (province, city, county) and
    parent_code (empty for the root); parents come before their children."""
    try:
        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise UnitsError(str(path), (e.strerror or str(e)).lower()) from e
    levels = {lv.value for lv in Level}
    for number, row in enumerate(rows, start=2):
        where = f"{path}, row {number}"
        code, name, level = (row.get(k, "").strip() for k in ("code", "name", "level"))
        parent_code = (row.get("parent_code") or "").strip()
        if not code or not name or level not in levels:
            raise UnitsError(where, f"needs a code, a name and a level in {sorted(levels)}")
        parent = session.scalar(select(Unit).where(Unit.code == parent_code)) if parent_code else None
        if parent_code and parent is None:
            raise UnitsError(where, f"parent {parent_code} is not (yet) a unit")
        unit = session.scalar(select(Unit).where(Unit.code == code)) or Unit(code=code)
        unit.name, unit.level, unit.parent = name, level, parent
        session.add(unit)
        session.flush()
    return len(rows)


def root_unit(session: Session) -> Unit:
    """The unit at the top of the tree: it holds cases no place assigns elsewhere."""
    root = session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))
    if root is None:
        raise UnitsError("cases", "no units yet: load them with `minewatch cases units FILE`")
    return root
