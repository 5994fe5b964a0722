"""The one set of validators for what the network sends, used by the API's bodies and
parameters and by the console's forms and query strings alike: bounded whole numbers and
ids, finite numbers, times within range once in UTC, and text that is valid Unicode without
NUL. JSON bodies are read strictly before these (`minewatch.web.body`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

__all__ = [
    "EARLIEST",
    "LARGEST",
    "LATEST",
    "MAX_ID",
    "NO_NUL",
    "TIME_PATTERN",
    "Amount",
    "Code",
    "Count",
    "Id",
    "IdPath",
    "Number",
    "Positive",
    "Share",
    "Short",
    "Text",
    "Time",
    "day_end",
    "id_or_none",
    "in_utc",
    "json_number",
    "whole",
]

# PostgreSQL stores no NUL in text: refused at the door rather than failing in the database.
# (A lone surrogate, which is not Unicode, pydantic refuses in every text field itself.)
NO_NUL = r"^[^\x00]*$"
# Ids are the database's: 32-bit on every engine we run on.
MAX_ID = 2**31 - 1
# The times a finding, a deadline or a tip may carry: written in the years 1970 to 2199 (the
# epoch of every capture to a year no deadline reaches), which the spec publishes as a
# pattern; in UTC a day either side, for the offset. Bounded so arithmetic on them (a
# deadline plus a week) cannot overflow.
TIME_PATTERN = r"^(19[7-9][0-9]|2[01][0-9][0-9])-"
EARLIEST = datetime(1969, 12, 31, tzinfo=UTC)
LATEST = datetime(2200, 1, 2, tzinfo=UTC)
_YEARS = "a time in the years 1970 to 2199"


Short = Annotated[str, Field(max_length=200, pattern=NO_NUL)]
Text = Annotated[str, Field(max_length=4000, pattern=NO_NUL)]
Code = Annotated[str, Field(pattern=r"^[0-9]{2,12}$")]


def json_number(value: object) -> object:
    """A whole number as JSON may write it (2 or 2.0), never as text or true."""
    if isinstance(value, str | bool):
        raise ValueError("expected a number")
    return value


# Every figure a finding carries (hashes per second, watts, kWh, difficulty) is far inside
# 1e100, and sums and squares of such stay finite: an answer with Infinity is no JSON.
LARGEST = 1e100
Number = Annotated[float, Field(allow_inf_nan=False, ge=-LARGEST, le=LARGEST)]
Amount = Annotated[float, Field(allow_inf_nan=False, ge=0, le=LARGEST)]
Share = Annotated[float, Field(allow_inf_nan=False, ge=0, le=1)]
# Whole numbers as JSON may write them (2 or 2.0), up to 2**53, the largest every JSON
# reader holds exactly.
Count = Annotated[int, Field(strict=False, ge=0, le=2**53), BeforeValidator(json_number)]
Positive = Annotated[int, Field(strict=False, ge=1, le=2**53), BeforeValidator(json_number)]
Id = Annotated[int, Field(strict=False, ge=1, le=MAX_ID), BeforeValidator(json_number)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def _text_time(value: object) -> object:
    """JSON gives times as text: a number is not a time here (pydantic would read it as
    seconds since 1970)."""
    if not isinstance(value, str | datetime):
        raise ValueError("a time must be RFC 3339 text, e.g. 2026-11-24T18:00:00Z")
    if isinstance(value, str) and not re.match(TIME_PATTERN, value):
        raise ValueError(_YEARS + ", e.g. 2026-11-24T18:00:00Z")
    return value


def in_utc(t: datetime) -> datetime:
    """`t` in UTC (a time without offset is taken as UTC), within EARLIEST..LATEST."""
    try:
        utc = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is past year 9999 in UTC
        raise ValueError(_YEARS) from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(_YEARS)
    return utc


# Models are strict (no "1" for 1); times come as text and leave in UTC.
Time = Annotated[
    datetime,
    Field(strict=False),
    BeforeValidator(_text_time),
    AfterValidator(in_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIME_PATTERN}),
]


def whole(text: str, largest: int) -> int | None:
    """A form's or query's whole number in 0..largest, or None for anything else (`²`
    passes `str.isdigit` but is no number; a 30-digit id is none of ours)."""
    text = text.strip()
    if not text or not text.isascii() or not text.isdigit() or len(text) > len(str(largest)):
        return None
    value = int(text)
    return value if value <= largest else None


def id_or_none(text: str) -> int | None:
    """A form's or path's id, or None."""
    value = whole(text, MAX_ID)
    return value if value else None


def day_end(text: str, zone: str) -> datetime | None:
    """A date from a form (YYYY-MM-DD) as the end of that day in the offices' time zone, in
    UTC; None for no date. ValueError for one that is not a date or out of range."""
    text = text.strip()
    if not text:
        return None
    if len(text) != 10 or not text.isascii():
        raise ValueError(f"{text[:20]!r} is not a date like 2026-12-31")
    day = datetime.strptime(text, "%Y-%m-%d").date()
    return in_utc(datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(zone)))
