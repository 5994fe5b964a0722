"""Tolerant decoding of JSON-RPC messages as miners and pools write them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["RpcMessage", "decode_rpc"]

_MISSING = object()


@dataclass(frozen=True)
class RpcMessage:
    """A JSON-RPC object: a request or notification (`method` set) or a response."""

    id: object
    method: str | None
    params: Any
    result: Any
    error: Any
    has_result: bool
    body: dict[str, Any]


def decode_rpc(data: bytes) -> RpcMessage | None:
    """Decode one JSON object; None for anything else (garbage, arrays, truncated text)."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    method = obj.get("method")
    result = obj.get("result", _MISSING)
    return RpcMessage(
        id=obj.get("id"),
        method=method if isinstance(method, str) else None,
        params=obj.get("params"),
        result=None if result is _MISSING else result,
        error=obj.get("error"),
        has_result=result is not _MISSING,
        body=obj,
    )
