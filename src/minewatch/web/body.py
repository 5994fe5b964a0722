"""JSON bodies read at the edge, strictly: UTF-8 only, no NaN or Infinity, numbers a
64-bit reader holds, text that is valid Unicode (no lone surrogate from a `\\ud800`
escape), and nesting no deeper than any body of this API needs. Anything else is a 400
that says what was wrong, before a model or the database sees it. The API's routes read
their bodies through `StrictJsonRoute`."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

__all__ = ["MAX_DEPTH", "BodyRefused", "StrictJsonRoute", "strict_json"]

# The deepest body of the API (a push: body, findings, a finding, its evidence, an
# evidence's peer) is 6 deep; a finding's unknown fields are let through, so allow room.
MAX_DEPTH = 32
# Whole numbers: 2**64 has 20 digits. Longer digit strings are not numbers any field takes
# (and Python refuses to read more than 4,300 digits at all).
MAX_DIGITS = 20


class BodyRefused(ValueError):
    """A body this API does not read, and why."""


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyRefused(f"the number {text[:40]} is beyond a 64-bit float")
    return value


def _whole(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise BodyRefused(f"a whole number of {len(text)} digits is longer than any field takes")
    return int(text)


def _constant(name: str) -> float:
    raise BodyRefused(f"{name} is not a JSON number")


def _check(value: Any) -> None:
    """Depth and text of a parsed body, without recursion (the body may be a tower)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _unicode(item)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise BodyRefused(f"nested more than {MAX_DEPTH} deep")
            if isinstance(item, dict):
                for key in item:
                    _unicode(key)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def _unicode(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BodyRefused("text with a lone surrogate (such as \\ud800) is not valid Unicode") from None


def strict_json(body: bytes) -> Any:
    """The value of a JSON body, or BodyRefused saying what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BodyRefused(f"the body is not UTF-8 (byte {e.start})") from None
    try:
        value = json.loads(text, parse_float=_number, parse_int=_whole, parse_constant=_constant)
    except RecursionError:
        raise BodyRefused(f"nested more than {MAX_DEPTH} deep") from None
    except json.JSONDecodeError as e:
        raise BodyRefused(f"not JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    _check(value)
    return value


class _StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = strict_json(await self.body())
            except BodyRefused as e:
                raise HTTPException(400, str(e)) from None
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read by `strict_json` (FastAPI re-raises the 400)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(_StrictRequest(request.scope, request.receive))

        return strict
