"""Options and values several commands share."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["DbOption", "StoreOption", "when"]

StoreOption = Annotated[Path, typer.Option("--store", help="The store directory (created if missing).")]
DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (default: SQLite in the store).")]


def when(value: str | None) -> datetime | None:
    """RFC 3339 / ISO time (UTC if no zone), or an age such as 24h, 7d, 90m."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value)
    if m:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        return datetime.now(UTC) - timedelta(seconds=float(m.group(1)) * unit)
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: expected a time (2026-11-24T18:00Z) or an age (24h, 7d)"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)
