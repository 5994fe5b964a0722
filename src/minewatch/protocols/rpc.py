"""The dissector for JSON-RPC mining protocols, over TCP lines or HTTP bodies.

Pools such as nodejs-pool accept several families on one port, so one dissector runs
all family tables; the first family-specific shape seen names the protocol.
"""

from __future__ import annotations

import re

from minewatch.model.schema import MessageKind
from minewatch.protocols import ethereum, getwork, stratum_v1, xmrig
from minewatch.protocols._json import RpcMessage, decode_rpc
from minewatch.protocols._tables import Handler, Responder
from minewatch.protocols.base import MiningSession, WireMessage, freeze
from minewatch.protocols.session import SessionState

__all__ = ["RpcDissector"]

_FAMILIES = (stratum_v1.FAMILY, ethereum.FAMILY, xmrig.FAMILY, getwork.FAMILY)
REQUESTS: dict[str, Handler] = {k: v for f in _FAMILIES for k, v in f.requests.items()}
PUSHES: dict[str, Handler] = {k: v for f in _FAMILIES for k, v in f.pushes.items()}
RESPONSES: dict[str, Responder] = {k: v for f in _FAMILIES for k, v in f.responses.items()}

# A getblocktemplate answer is often larger than the engine's message bound; its start
# still shows what it is.
_TRUNCATED_TEMPLATE = re.compile(rb'"(previousblockhash|coinbasevalue)"\s*:')


class RpcDissector:
    """Feeds every JSON message of a connection through the family tables."""

    def __init__(self) -> None:
        self.state = SessionState()

    def feed(self, msg: WireMessage) -> None:
        s = self.state
        if msg.kind == MessageKind.HTTP_HEAD:
            self._http_head(msg)
            return
        rpc = decode_rpc(msg.data)
        if rpc is None:
            if msg.truncated and not msg.from_client and _TRUNCATED_TEMPLATE.search(msg.data[:4096]):
                s.server_mining = s.server_mining or s.protocol == "getblocktemplate"
            return
        s.saw(msg.ts)
        if rpc.method is not None:
            self._method(rpc, msg)
        elif rpc.has_result or rpc.error is not None:
            self._answer(rpc, msg)

    def _method(self, rpc: RpcMessage, msg: WireMessage) -> None:
        assert rpc.method is not None
        table = REQUESTS if msg.from_client else PUSHES
        handler = table.get(rpc.method)
        if handler is None:
            return
        handler(self.state, rpc, msg.ts)
        if self.state.protocol is not None:
            self.state.method(rpc.method)

    def _answer(self, rpc: RpcMessage, msg: WireMessage) -> None:
        if msg.from_client:
            return
        pending = self.state.answered(rpc.id)
        if pending is None:
            # EthProxy pools push jobs as bare results with id 0 or none.
            ethereum.work_result(self.state, rpc, msg.ts)
            return
        method, share = pending
        responder = RESPONSES.get(method)
        if responder is not None:
            responder(self.state, rpc, msg.ts, share)

    def _http_head(self, msg: WireMessage) -> None:
        s = self.state
        lines = msg.data[:8192].decode("latin-1").split("\r\n")[1:]
        headers = {n.strip().lower(): v.strip() for n, _, v in (ln.partition(":") for ln in lines) if n}
        if msg.from_client:
            if s.agent is None and "user-agent" in headers:
                s.agent = headers["user-agent"][:200]
            if "x-mining-extensions" in headers:
                s.method("x-mining-extensions")
                s.client_mining = True
        elif "x-long-polling" in headers and s.protocol is not None:
            s.server_mining = True

    def result(self, conn_id: int) -> MiningSession | None:
        return freeze(self.state, conn_id)
