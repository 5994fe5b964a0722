"""Solo and pool mining over HTTP JSON-RPC: getwork and getblocktemplate / submitblock.

Wire facts: PROTOCOLS.md 1.7 (pooler/cpuminer cpu-miner.c, bitcoin/bips BIP 22).
"""

from __future__ import annotations

from minewatch.protocols._json import RpcMessage
from minewatch.protocols._tables import Family, accepted
from minewatch.protocols.session import DifficultyUnit, SessionState
from minewatch.protocols.targets import hashes_from_target256

__all__ = ["FAMILY"]


def getwork(s: SessionState, m: RpcMessage, ts: float) -> None:
    s.set_protocol("getwork")
    s.client_mining = True
    p = m.params if isinstance(m.params, list) else []
    if p and isinstance(p[0], str) and len(p[0]) >= 152:
        # getwork with block data: a solution (share) being submitted.
        s.submit(ts, m.id, "getwork-submit", None)
    else:
        s.expect(m.id, "getwork")


def getblocktemplate(s: SessionState, m: RpcMessage, ts: float) -> None:
    s.set_protocol("getblocktemplate")
    s.client_mining = True
    s.expect(m.id, "getblocktemplate")


def submitblock(s: SessionState, m: RpcMessage, ts: float) -> None:
    s.set_protocol("getblocktemplate")
    s.client_mining = True
    s.submit(ts, m.id, "submitblock", None)


def work_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    r = m.result
    if isinstance(r, dict) and isinstance(r.get("data"), str):
        s.server_mining = True
        # getwork's target is a little-endian 256-bit hex number.
        h = hashes_from_target256(r.get("target"), little_endian=True)
        if h is not None:
            s.difficulty_unit = DifficultyUnit.HASHES
            s.new_difficulty(ts, h)
            s.current_difficulty = h
        s.job(ts, r["data"][:64], h)


def template_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    r = m.result
    if isinstance(r, dict) and ("previousblockhash" in r or "coinbasevalue" in r):
        s.server_mining = True
        h = hashes_from_target256(r.get("target"))
        if h is not None:
            s.difficulty_unit = DifficultyUnit.HASHES
            s.new_difficulty(ts, h)
            s.current_difficulty = h
        s.job(ts, r.get("previousblockhash"), h)


def share_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    s.server_mining = True
    # submitblock answers null on success (BIP 22); getwork answers true.
    ok = m.result is None and m.error is None if share >= 0 and m.result is None else accepted(m)
    s.share_answer(share, ok)


FAMILY = Family(
    requests={"getwork": getwork, "getblocktemplate": getblocktemplate, "submitblock": submitblock},
    pushes={},
    responses={
        "getwork": work_result,
        "getblocktemplate": template_result,
        "getwork-submit": share_result,
        "submitblock": share_result,
    },
)
