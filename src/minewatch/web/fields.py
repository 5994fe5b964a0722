"""Field kinds shared by the API's bodies: bounded text without NUL, division codes,
times given as RFC 3339 text."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field

__all__ = ["NO_NUL", "Code", "Short", "Time", "json_number"]

# PostgreSQL stores no NUL in text: refused at the door rather than failing in the database.
NO_NUL = r"^[^\x00]*$"
Short = Annotated[str, Field(max_length=200, pattern=NO_NUL)]
Code = Annotated[str, Field(pattern=r"^[0-9]{2,12}$")]


def _text_time(value: object) -> object:
    """JSON gives times as text: a number is not a time here (pydantic would read it as
    seconds since 1970)."""
    if not isinstance(value, str | datetime):
        raise ValueError("a time must be RFC 3339 text, e.g. 2026-11-24T18:00:00Z")
    return value


def json_number(value: object) -> object:
    """A whole number as JSON may write it (2 or 2.0), never as text or true."""
    if isinstance(value, str | bool):
        raise ValueError("expected a number")
    return value


# Models are strict (no "1" for 1, no "yes" for true); times come as text.
Time = Annotated[datetime, Field(strict=False), BeforeValidator(_text_time)]
