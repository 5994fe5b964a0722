"""The XMRig / CryptoNote JSON-RPC stratum (login, job, submit, keepalived, getjob).

Wire facts: PROTOCOLS.md 1.4 (xmrig Client.cpp, monero-pool, nodejs-pool). The method
names are generic ("login", "submit"), so each handler insists on the parameter shapes
that only this protocol has: an ordinary JSON-RPC API is not a miner.
"""

from __future__ import annotations

from typing import Any

from minewatch.protocols._json import RpcMessage
from minewatch.protocols._tables import Family, accepted
from minewatch.protocols.session import BlobShape, DifficultyUnit, SessionState
from minewatch.protocols.targets import hashes_from_xmrig_target

__all__ = ["FAMILY"]

PROTOCOL = "xmrig"
# Hashing blobs are about 76 bytes (Monero) to a few hundred (merge-mined CryptoNote
# coins); only the head is decoded, the length is taken from the text.
MAX_BLOB_BYTES = 8


def _dict(v: object) -> dict[str, Any] | None:
    return v if isinstance(v, dict) else None


def _job(s: SessionState, job: dict[str, Any], ts: float) -> None:
    if not isinstance(job.get("blob"), str) or "job_id" not in job:
        return
    s.set_protocol(PROTOCOL)
    s.server_mining = True
    algo = job.get("algo")
    if isinstance(algo, str):
        s.algorithm = algo[:32]
    elif s.algorithm is None and isinstance(job.get("seed_hash"), str):
        s.algorithm = "rx/0"
    elif (shape := _blob_shape(job)) is not None:
        s.blob_shape(shape)
    h = hashes_from_xmrig_target(job.get("target"))
    if h is not None:
        s.difficulty_unit = DifficultyUnit.HASHES
        s.new_difficulty(ts, h)
    s.job(ts, job.get("job_id"), h)


def _blob_shape(job: dict[str, Any]) -> BlobShape | None:
    """The shape of a job that names no algorithm: blob length, major version, target width."""
    if "seed_hash" in job:
        return None
    blob, target = job["blob"], job.get("target")
    try:
        raw = bytes.fromhex(blob[: 2 * MAX_BLOB_BYTES])
    except ValueError:
        return None
    # The major version is a varint; every version so far fits its first byte.
    if not raw or raw[0] >= 0x80 or len(blob) % 2:
        return None
    width = len(target) if isinstance(target, str) else 0
    return BlobShape(len(blob) // 2, raw[0], width)


def login(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _dict(m.params)
    if p is None or not isinstance(p.get("login"), str):
        return
    specific = any(k in p for k in ("agent", "algo", "rigid")) or "pass" in p
    if not specific:
        return
    s.set_protocol(PROTOCOL)
    s.login(p["login"])
    rig = p.get("rigid")
    if isinstance(rig, str) and rig:
        s.login(rig)
    agent = p.get("agent")
    if isinstance(agent, str):
        s.agent = agent[:200]
    algos = p.get("algo")
    if isinstance(algos, list) and algos and isinstance(algos[0], str) and s.algorithm is None:
        s.algorithm = algos[0][:32]
    s.client_mining = bool(agent) or isinstance(algos, list)
    s.expect(m.id, "login")


def submit(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _dict(m.params)
    if p is None or not {"job_id", "nonce", "result"} <= p.keys():
        return
    s.set_protocol(PROTOCOL)
    s.client_mining = True
    algo = p.get("algo")
    if isinstance(algo, str):
        s.algorithm = algo[:32]
    s.submit(ts, m.id, "submit", p.get("job_id"))


def keepalived(s: SessionState, m: RpcMessage, ts: float) -> None:
    if _dict(m.params) is not None and s.protocol == PROTOCOL:
        s.method("keepalived")
        s.expect(m.id, "keepalived")


def getjob(s: SessionState, m: RpcMessage, ts: float) -> None:
    if _dict(m.params) is not None:
        s.expect(m.id, "getjob")


def job_push(s: SessionState, m: RpcMessage, ts: float) -> None:
    p = _dict(m.params)
    if p is not None:
        _job(s, p, ts)


def login_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    r = _dict(m.result)
    job = _dict(r.get("job")) if r else None
    if job is not None:
        _job(s, job, ts)


def getjob_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    r = _dict(m.result)
    if r is not None:
        _job(s, r, ts)


def share_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    s.server_mining = True
    s.share_answer(share, accepted(m))


def keepalive_result(s: SessionState, m: RpcMessage, ts: float, share: int) -> None:
    r = _dict(m.result)
    if r and r.get("status") == "KEEPALIVED":
        s.server_mining = True


FAMILY = Family(
    requests={"login": login, "submit": submit, "keepalived": keepalived, "getjob": getjob},
    pushes={"job": job_push},
    responses={
        "login": login_result,
        "getjob": getjob_result,
        "submit": share_result,
        "keepalived": keepalive_result,
    },
)
