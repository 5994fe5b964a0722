"""EthProxy (eth_submitLogin / eth_getWork / eth_submitWork / eth_submitHashrate), over
TCP lines or HTTP. Wire facts: PROTOCOLS.md 1.3 (open-ethereum-pool, ethminer)."""

from __future__ import annotations

from minewatch.protocols._json import RpcMessage
from minewatch.protocols._tables import Family, accepted
from minewatch.protocols.session import DifficultyUnit, SessionState
from minewatch.protocols.targets import hashes_from_target256

__all__ = ["FAMILY", "work_result"]

PROTOCOL = "ethproxy"


def _params(m: RpcMessage) -> list[object]:
    return m.params if isinstance(m.params, list) else []


def _is_hash(v: object) -> bool:
    return isinstance(v, str) and v.startswith("0x") and 3 <= len(v) <= 66


def login(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _params(m)
    s.set_protocol(PROTOCOL)
    if p:
        s.login(p[0])
    worker = m.body.get("worker")
    if isinstance(worker, str):
        s.login(worker)
    s.client_mining = True
    s.expect(m.id, "eth_submitLogin")


def get_work(s: SessionState, m: RpcMessage, ts: float) -> None:
    s.set_protocol(PROTOCOL)
    s.client_mining = True
    s.expect(m.id, "eth_getWork")


def submit_work(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _params(m)
    if len(p) < 3 or not all(_is_hash(v) for v in p[:3]):
        return
    s.set_protocol(PROTOCOL)
    s.client_mining = True
    s.algorithm = s.algorithm or "ethash"
    s.submit(ts, m.id, "eth_submitWork", p[1])


def submit_hashrate(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _params(m)
    s.set_protocol(PROTOCOL)
    if p and isinstance(p[0], str):
        try:
            s.reported_hashrate = float(int(p[0], 16))
        except ValueError:
            return
    s.client_mining = True
    s.expect(m.id, "eth_submitHashrate")


def work_result(s: SessionState, m: RpcMessage, ts: float, share: int = -1) -> None:
    """A job: [header, seed, boundary(, height)], as an answer or as a push with no id."""
    r = m.result
    if not (isinstance(r, list) and len(r) >= 3 and all(_is_hash(v) for v in r[:3])):
        return
    s.set_protocol(PROTOCOL)
    s.server_mining = True
    s.algorithm = s.algorithm or "ethash"
    h = hashes_from_target256(r[2])
    if h is not None:
        s.difficulty_unit = DifficultyUnit.HASHES
        s.new_difficulty(ts, h)
    s.job(ts, r[0], h)


def share_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    s.server_mining = True
    s.share_answer(share, accepted(m))


def login_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    if m.result is True:
        s.server_mining = True


FAMILY = Family(
    requests={
        "eth_submitLogin": login,
        "eth_login": login,
        "eth_getWork": get_work,
        "eth_submitWork": submit_work,
        "eth_submitHashrate": submit_hashrate,
    },
    pushes={},
    responses={
        "eth_getWork": work_result,
        "eth_submitWork": share_result,
        "eth_submitLogin": login_result,
    },
)
