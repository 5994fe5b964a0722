"""Which coin and algorithm a mining finding is about, and which evidence decided.

Strongest first: the algorithm the pool or miner names on the wire (XMRig `algo`), the
shape of the jobs (KawPoW, Ethash, Equihash notify; the block target bits of a
Bitcoin-style notify; a RandomX seed hash), the coin a listed pool domain serves, and
last the port conventions of big pools.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from minewatch.estimate.tables import AlgorithmRow, algorithms, block_bits, ports
from minewatch.model.findings import Endpoint, Evidence
from minewatch.protocols.base import MiningSession

__all__ = ["CoinDecision", "algorithm_info", "decide_coin", "session_algorithm"]

# Bitcoin-style block target bits whose exponent is at most this can only come from a
# SHA-256d chain: no Scrypt chain's network is that hard (Litecoin's is 0x19-0x1a).
SHA256D_MAX_BITS_EXPONENT = 0x18


@dataclass(frozen=True)
class CoinDecision:
    coin: str | None
    algorithm: str | None
    basis: str | None  # which evidence decided, in words


def algorithm_info(name: str | None) -> AlgorithmRow | None:
    """The table row for an algorithm name as seen on the wire (case-insensitive)."""
    return algorithms().get(name.lower()) if name else None


def _from_bits(bits: str) -> tuple[str, str] | None:
    known = block_bits().get(bits)
    if known is not None:
        return known[0], f"block target bits {bits} in the jobs ({known[1]})"
    try:
        exponent = int(bits[:2], 16)
    except ValueError:
        return None
    if exponent <= SHA256D_MAX_BITS_EXPONENT:
        return "sha256d", f"block target bits {bits} in the jobs: a network only SHA-256d chains reach"
    return None


def session_algorithm(s: MiningSession) -> str | None:
    """The algorithm one session works on, as far as its own messages tell."""
    if s.algorithm:
        return s.algorithm
    found = _from_bits(s.block_bits) if s.block_bits else None
    return found[0] if found else None


def _session_basis(s: MiningSession, algo: str) -> str:
    if s.algorithm:
        if s.protocol == "xmrig":
            return f"algorithm {algo} announced in the XMRig jobs and login"
        return f"algorithm {algo} read from the jobs' shape"
    found = _from_bits(s.block_bits) if s.block_bits else None
    return found[1] if found else f"algorithm {algo}"


def decide_coin(
    sessions: Sequence[MiningSession], evidence: Sequence[Evidence], pools: Sequence[Endpoint]
) -> CoinDecision:
    """The coin and algorithm of a host's mining; with sessions of several algorithms,
    the one that carried the most work."""
    work: Counter[str] = Counter()
    first: dict[str, MiningSession] = {}
    for s in sessions:
        if (algo := session_algorithm(s)) is not None:
            work[algo] += 1 + s.jobs + s.submitted
            first.setdefault(algo, s)
    if work:
        algo = work.most_common(1)[0][0]
        info = algorithm_info(algo)
        basis = _session_basis(first[algo], algo)
        from_intel = _intel_coin(evidence, family=info.family if info else None)
        if from_intel is not None and (info is None or info.coin != from_intel[0]):
            return CoinDecision(from_intel[0], algo, f"{basis}; coin from {from_intel[1]}")
        return CoinDecision(info.coin if info else None, algo, basis)
    intel = _intel_coin(evidence)
    if intel is not None:
        coin, how = intel
        algos = [a for a in algorithms().values() if a.coin == coin]
        return CoinDecision(coin, algos[0].name if len(algos) == 1 else None, f"coin from {how}")
    for p in pools:
        row = ports().get(p.port)
        if row is not None:
            return CoinDecision(row.coin, row.algorithm, f"port {p.port} convention ({row.source})")
    return CoinDecision(None, None, None)


def _intel_coin(evidence: Sequence[Evidence], family: str | None = None) -> tuple[str, str] | None:
    """The coin a listed pool serves, per the indicator that matched (most common wins)."""
    coins = Counter(ev.coin for ev in evidence if ev.coin)
    for coin, _ in coins.most_common():
        algos = {a.family for a in algorithms().values() if a.coin == coin}
        if family is None or family in algos:
            peer = next((ev.peer for ev in evidence if ev.coin == coin and ev.peer), None)
            where = peer.name or peer.ip if peer else "a listed pool"
            return coin, f"the pool list entry for {where}"
    return None
