"""The dissector interface, the messages it is fed, and the session it returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from minewatch.model.schema import Direction, MessageKind
from minewatch.protocols.session import BlobShape, SessionState, ShareRecord

__all__ = ["Dissector", "MiningSession", "WireMessage", "dissect_connection", "freeze"]


@dataclass(frozen=True)
class WireMessage:
    """One message the engine cut from a connection. `ts` is seconds since the epoch."""

    conn_id: int
    index: int
    ts: float
    direction: Direction
    kind: MessageKind
    data: bytes
    truncated: bool = False

    @property
    def from_client(self) -> bool:
        return self.direction == Direction.CLIENT_TO_SERVER


@dataclass(frozen=True)
class MiningSession:
    """What one connection shows of mining. `confidence` is how sure we are it is mining:
    both sides speaking a mining protocol is near certain, one side alone less so."""

    conn_id: int
    protocol: str
    confidence: float
    methods: tuple[str, ...]
    logins: tuple[str, ...]
    agent: str | None
    algorithm: str | None
    jobs: int
    difficulty_unit: str
    difficulty: tuple[tuple[float, float], ...]
    work: tuple[tuple[float, float], ...]
    block_bits: str | None
    shares: tuple[ShareRecord, ...]
    reported_hashrate: float | None
    first_ts: float
    last_ts: float
    server_confirmed: bool
    # CryptoNote jobs that named no algorithm: their shapes (see BlobShape).
    blob_shapes: tuple[BlobShape, ...] = ()

    @property
    def submitted(self) -> int:
        return len(self.shares)

    @property
    def accepted(self) -> int:
        return sum(1 for s in self.shares if s.accepted is True)

    @property
    def rejected(self) -> int:
        return sum(1 for s in self.shares if s.accepted is False)


class Dissector(Protocol):
    """Fed the messages of one connection in order; says whether it saw mining."""

    def feed(self, msg: WireMessage) -> None: ...

    def result(self, conn_id: int) -> MiningSession | None: ...


def freeze(state: SessionState, conn_id: int) -> MiningSession | None:
    """Turn gathered state into a session, or None if nothing mining-specific was seen."""
    if state.protocol is None or not (state.client_mining or state.server_mining):
        return None
    both = state.client_mining and state.server_mining
    confidence = 0.98 if both else 0.85 if state.client_mining else 0.8
    return MiningSession(
        conn_id=conn_id,
        protocol=state.protocol,
        confidence=confidence,
        methods=tuple(state.methods),
        logins=tuple(state.logins),
        agent=state.agent,
        algorithm=state.algorithm,
        jobs=state.jobs,
        difficulty_unit=state.difficulty_unit,
        difficulty=tuple(state.difficulty),
        work=tuple(state.work),
        block_bits=state.block_bits,
        shares=tuple(state.shares),
        reported_hashrate=state.reported_hashrate,
        first_ts=state.first_ts or 0.0,
        last_ts=state.last_ts or 0.0,
        server_confirmed=state.server_mining,
        blob_shapes=tuple(state.blob_shapes),
    )


def dissect_connection(messages: Iterable[WireMessage]) -> MiningSession | None:
    """Run the dissector that fits the connection's messages and return its session."""
    from minewatch.protocols.rpc import RpcDissector
    from minewatch.protocols.sv2 import Sv2Dissector

    dissector: Dissector | None = None
    conn_id = -1
    for msg in messages:
        if dissector is None:
            conn_id = msg.conn_id
            dissector = Sv2Dissector() if msg.kind == MessageKind.SV2_FRAME else RpcDissector()
        dissector.feed(msg)
    return dissector.result(conn_id) if dissector is not None else None
