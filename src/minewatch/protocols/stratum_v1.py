"""Stratum V1 (Bitcoin-style, also Scrypt, KawPoW and EthereumStratum/1.0.0 shapes).

Wire facts: PROTOCOLS.md section 1.1, 1.2 and 1.5 (cgminer util.c, ckpool stratifier.c,
bitcoin/bips bip-0310, nicehash/Specifications).
"""

from __future__ import annotations

from minewatch.protocols._json import RpcMessage
from minewatch.protocols._tables import Family, accepted
from minewatch.protocols.session import DifficultyUnit, SessionState
from minewatch.protocols.targets import hashes_from_target256, number

__all__ = ["FAMILY"]

ETH_STRATUM = "EthereumStratum/1.0.0"


def _params(msg: RpcMessage) -> list[object]:
    return msg.params if isinstance(msg.params, list) else []


def _mentions(value: object, text: str, depth: int = 0) -> bool:
    if isinstance(value, str):
        return value == text
    if isinstance(value, list) and depth < 4:
        return any(_mentions(v, text, depth + 1) for v in value[:16])
    return False


def _hex(v: object, n: int) -> bool:
    if not isinstance(v, str):
        return False
    t = v.removeprefix("0x")
    return len(t) == n and all(c in "0123456789abcdefABCDEF" for c in t)


def subscribe(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _params(m)
    s.set_protocol("ethereum-stratum" if _mentions(p, ETH_STRATUM) else "stratum-v1")
    if p and isinstance(p[0], str) and p[0]:
        s.agent = p[0][:200]
    s.client_mining = True
    s.expect(m.id, "mining.subscribe")


def authorize(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _params(m)
    s.set_protocol("stratum-v1")
    if p:
        s.login(p[0])
    s.client_mining = True
    s.expect(m.id, "mining.authorize")


def client_extension(s: SessionState, m: RpcMessage, ts: float) -> None:
    s.set_protocol("stratum-v1")
    s.client_mining = True
    s.expect(m.id, m.method or "")


def submit(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _params(m)
    if len(p) < 3:
        return
    s.set_protocol("stratum-v1")
    s.login(p[0])
    if len(p) == 3 and s.protocol == "stratum-v1":
        s.set_protocol("ethereum-stratum")
    if len(p) == 5 and isinstance(p[2], str) and p[2].startswith("0x") and len(p[2]) == 18:
        s.algorithm = s.algorithm or "kawpow"
    s.client_mining = True
    s.submit(ts, m.id, "mining.submit", p[1])


def hello(s: SessionState, m: RpcMessage, ts: float) -> None:
    if isinstance(m.params, dict):
        agent = m.params.get("agent")
        if isinstance(agent, str):
            s.agent = agent[:200]
    s.set_protocol("ethereum-stratum-2")
    s.client_mining = True


def hashrate(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _params(m)
    if p and isinstance(p[0], str):
        try:
            s.reported_hashrate = float(int(p[0], 16))
        except ValueError:
            return


def set_difficulty(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _params(m)
    d = number(p[0]) if p else None
    if d is None:
        return
    s.set_protocol("stratum-v1")
    s.server_mining = True
    # cgminer applies a new difficulty from the next notify; the timeline notes the change.
    s.next_difficulty = d
    if s.current_difficulty is None:
        s.current_difficulty = d
    s.difficulty_unit = DifficultyUnit.POOL
    s.new_difficulty(ts, d)


def set_target(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _params(m)
    h = hashes_from_target256(p[0]) if p else None
    if h is None:
        return
    s.server_mining = True
    s.difficulty_unit = DifficultyUnit.HASHES
    s.next_difficulty = h
    s.new_difficulty(ts, h)


def notify(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _params(m)
    if not p or not isinstance(p[0], str):
        return
    if len(p) >= 9 and isinstance(p[-1], bool):
        s.set_protocol("stratum-v1")
        bits = p[6]
        if isinstance(bits, str) and _hex(bits, 8):
            s.block_bits = bits.lower()
    elif len(p) == 4 and isinstance(p[3], bool):
        s.set_protocol("ethereum-stratum")
        s.algorithm = s.algorithm or "ethash"
    elif len(p) == 8 and _hex(p[1], 8) and _hex(p[2], 64) and isinstance(p[7], bool):
        # Zcash-style Equihash: job, version, prevhash, merkleroot, reserved, time, bits, clean.
        s.set_protocol("stratum-v1")
        s.algorithm = s.algorithm or "equihash"
    elif len(p) >= 5 and _hex(p[1], 64) and _hex(p[3], 64):
        # KawPoW: job, header hash, seed hash, share target, clean, height, ...
        s.set_protocol("stratum-v1")
        s.algorithm = s.algorithm or "kawpow"
        target = hashes_from_target256(p[3])
        if target is not None:
            s.difficulty_unit = DifficultyUnit.HASHES
            s.next_difficulty = target
            if not s.difficulty or s.difficulty[-1][1] != target:
                s.new_difficulty(ts, target)
    else:
        return
    s.server_mining = True
    if s.next_difficulty is not None:
        s.current_difficulty = s.next_difficulty
    s.job(ts, p[0], s.current_difficulty)


def server_extension(s: SessionState, m: RpcMessage, ts: float) -> None:
    if s.protocol is not None:
        s.server_mining = True


def subscribe_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    if isinstance(m.result, list) and m.result:
        s.server_mining = True
        if _mentions(m.result, ETH_STRATUM):
            s.set_protocol("ethereum-stratum")


def share_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    s.server_mining = True
    s.share_answer(share, accepted(m))


def ignore(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    return


FAMILY = Family(
    requests={
        "mining.subscribe": subscribe,
        "mining.authorize": authorize,
        "mining.configure": client_extension,
        "mining.extranonce.subscribe": client_extension,
        "mining.suggest_difficulty": client_extension,
        "mining.suggest_target": client_extension,
        "mining.submit": submit,
        "mining.hello": hello,
        "mining.hashrate": hashrate,
    },
    pushes={
        "mining.set_difficulty": set_difficulty,
        "mining.set_target": set_target,
        "mining.notify": notify,
        "mining.set_extranonce": server_extension,
        "mining.set_version_mask": server_extension,
        "mining.set": server_extension,
        "client.reconnect": server_extension,
        "client.show_message": server_extension,
    },
    responses={
        "mining.subscribe": subscribe_result,
        "mining.submit": share_result,
        "mining.authorize": ignore,
    },
)
