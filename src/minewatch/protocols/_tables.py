"""Handler table types shared by the JSON-RPC mining families."""

from __future__ import annotations

from collections.abc import Callable

from minewatch.protocols._json import RpcMessage
from minewatch.protocols.session import SessionState

__all__ = ["Handler", "Responder", "Family", "accepted"]

# A request (from the miner) or a push (from the pool): state, message, time.
Handler = Callable[[SessionState, RpcMessage, float], None]
# An answer to a request we saw: state, answer, time, index of the share it answers (-1).
Responder = Callable[[SessionState, RpcMessage, float, int], None]


class Family:
    """The methods one protocol family adds: requests, pushes and answers by request method."""

    def __init__(
        self,
        requests: dict[str, Handler],
        pushes: dict[str, Handler],
        responses: dict[str, Responder],
    ) -> None:
        self.requests = requests
        self.pushes = pushes
        self.responses = responses


def accepted(msg: RpcMessage) -> bool:
    """A share answer means accepted when `result` is true or a status of OK and no error."""
    if msg.error not in (None, False, 0, ""):
        return False
    r = msg.result
    if isinstance(r, dict):
        status = r.get("status")
        return isinstance(status, str) and status.upper() == "OK"
    return r is True
