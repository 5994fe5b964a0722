"""Which coin and algorithm a mining finding is about, and which evidence decided.

Strongest first: the algorithm the pool or miner names on the wire (XMRig `algo`), the
shape of the jobs (KawPoW, Ethash, Equihash notify; the block target bits of a
Bitcoin-style notify; a RandomX seed hash; the version and length of a bare CryptoNote
blob with the date), the coin a listed pool domain serves, and last the port conventions
of big pools. The miner program named by the agent limits all of these to the algorithms
it can mine; a miner that found no work anywhere (no share) and was sent jobs of several
shapes is named by its program and its login instead of by the jobs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from minewatch.estimate.tables import (
    AlgorithmRow,
    BlobVersionRow,
    ProgramRow,
    algorithms,
    block_bits,
    cryptonote_versions,
    ports,
    programs,
    wallets,
)
from minewatch.model.findings import Endpoint, Evidence
from minewatch.protocols.base import MiningSession

__all__ = ["CoinDecision", "algorithm_info", "decide_coin", "login_coin", "program_of", "session_algorithm"]

# Bitcoin-style block target bits whose exponent is at most this can only come from a
# SHA-256d chain: no Scrypt chain's network is that hard (Litecoin's is 0x19-0x1a).
SHA256D_MAX_BITS_EXPONENT = 0x18
# Where a login's address part ends and the worker name or options begin.
LOGIN_SEPARATORS = ".+/:"


@dataclass(frozen=True)
class CoinDecision:
    coin: str | None
    algorithm: str | None
    basis: str | None  # which evidence decided, in words


def algorithm_info(name: str | None) -> AlgorithmRow | None:
    """The table row for an algorithm name as seen on the wire (case-insensitive)."""
    return algorithms().get(name.lower()) if name else None


def program_of(agent: str | None) -> ProgramRow | None:
    """The miner program an agent string names, if the programs table knows it."""
    low = (agent or "").lower()
    return next((p for p in programs() if p.pattern in low), None) if low else None


def login_coin(login: str) -> tuple[str, str] | None:
    """The coin whose address format the login's address part has, and the table's source."""
    address = login
    for sep in LOGIN_SEPARATORS:
        address = address.partition(sep)[0]
    row = next((w for w in wallets() if w.pattern.fullmatch(address)), None)
    return (row.coin, row.source) if row else None


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


def _blob_version(s: MiningSession) -> BlobVersionRow | None:
    """The Monero fork whose blob version and length the session's bare CryptoNote jobs
    have, and in force on the session's day; None if the jobs disagree or the day does not fit."""
    versions = {shape.major_version for shape in s.blob_shapes}
    row = cryptonote_versions().get(versions.pop()) if len(versions) == 1 else None
    if row is None or not all(row.blob_min <= x.blob_bytes <= row.blob_max for x in s.blob_shapes):
        return None
    day = datetime.fromtimestamp(s.first_ts, UTC).date()
    return row if row.since <= day < row.until else None


def _from_blob(s: MiningSession) -> tuple[str, str] | None:
    row = _blob_version(s)
    if row is None:
        return None
    shape = s.blob_shapes[0]
    day = datetime.fromtimestamp(s.first_ts, UTC).date()
    return row.algorithm, (
        f"CryptoNote jobs without algo or seed hash: a {shape.blob_bytes}-byte blob of major version "
        f"{row.version} and a {shape.target_chars * 4}-bit target on {day}, when {row.coin} version "
        f"{row.version} ({row.since} to {row.until}) mined {row.algorithm} ({row.source})"
    )


def session_algorithm(s: MiningSession) -> str | None:
    """The algorithm one session works on, as far as its own messages tell."""
    if s.algorithm:
        return s.algorithm
    found = _from_bits(s.block_bits) if s.block_bits else _from_blob(s)
    return found[0] if found else None


def _session_basis(s: MiningSession, algo: str) -> str:
    if s.algorithm:
        if s.protocol == "xmrig":
            return f"algorithm {algo} announced in the XMRig jobs and login"
        return f"algorithm {algo} read from the jobs' shape"
    found = _from_bits(s.block_bits) if s.block_bits else _from_blob(s)
    return found[1] if found else f"algorithm {algo}"


def _fits(program: ProgramRow | None, algo: str | None) -> bool:
    """Whether the program can mine the algorithm (unknown programs and families fit)."""
    info = algorithm_info(algo)
    return program is None or not program.families or info is None or info.family in program.families


def _host_program(sessions: Sequence[MiningSession]) -> tuple[str, ProgramRow] | None:
    agents = Counter(s.agent for s in sessions if s.agent)
    for agent, _ in agents.most_common():
        if (program := program_of(agent)) is not None:
            return agent.split("/")[0], program
    return None


def decide_coin(
    sessions: Sequence[MiningSession], evidence: Sequence[Evidence], pools: Sequence[Endpoint]
) -> CoinDecision:
    """The coin and algorithm of a host's mining; with sessions of several algorithms,
    the one that carried the most work."""
    named = _host_program(sessions)
    program = named[1] if named else None
    work: Counter[str] = Counter()
    first: dict[str, MiningSession] = {}
    refused: set[str] = set()
    for s in sessions:
        if (algo := session_algorithm(s)) is None:
            continue
        if not _fits(program, algo):
            refused.add(algo)
            continue
        work[algo] += 1 + s.jobs + s.submitted
        first.setdefault(algo, s)
    notes = []
    if named and refused:
        families = " or ".join(sorted(named[1].families))
        notes.append(f"jobs of {', '.join(sorted(refused))} ignored: {named[0]} mines {families} only")
    probing = len(work) > 1 and not any(s.submitted for s in sessions)
    if probing:
        notes.append(
            f"no share on any of {len(sessions)} connections and jobs of {', '.join(sorted(work))}: "
            "a probing miner, not named by the jobs it was sent"
        )
    elif work:
        return _from_work(work, first, evidence, sessions, notes)
    return _without_jobs(sessions, evidence, pools, named, notes)


def _with_notes(basis: str, notes: Sequence[str]) -> str:
    return "; ".join((*notes, basis))


def _from_work(
    work: Counter[str],
    first: dict[str, MiningSession],
    evidence: Sequence[Evidence],
    sessions: Sequence[MiningSession],
    notes: Sequence[str],
) -> CoinDecision:
    algo = work.most_common(1)[0][0]
    info = algorithm_info(algo)
    basis = _with_notes(_session_basis(first[algo], algo), notes)
    from_intel = _intel_coin(evidence, family=info.family if info else None)
    if from_intel is not None and (info is None or info.coin != from_intel[0]):
        return CoinDecision(from_intel[0], algo, f"{basis}; coin from {from_intel[1]}")
    coin = info.coin if info else None
    login = _logins_coin(sessions)
    if login is not None and login[0] == coin:
        basis = f"{basis}; the login has the {coin} address format"
    return CoinDecision(coin, algo, basis)


def _logins_coin(sessions: Sequence[MiningSession]) -> tuple[str, str] | None:
    found = Counter(c for s in sessions for login in s.logins if (c := login_coin(login)) is not None)
    return found.most_common(1)[0][0] if found else None


def _coin_algorithm(coin: str, program: ProgramRow | None) -> str | None:
    """The one algorithm of a coin the program can mine, if only one is left."""
    algos = [a.name for a in algorithms().values() if a.coin == coin and _fits(program, a.name)]
    return algos[0] if len(algos) == 1 else None


def _coin_fits(coin: str, program: ProgramRow | None) -> bool:
    """Whether the program can mine the coin (a coin of no known algorithm fits)."""
    algos = [a.name for a in algorithms().values() if a.coin == coin]
    return not algos or any(_fits(program, a) for a in algos)


def _program_algorithm(program: ProgramRow) -> AlgorithmRow | None:
    """The main algorithm of a program's only family (the first table row of that family)."""
    if len(program.families) != 1:
        return None
    (family,) = program.families
    return next((a for a in algorithms().values() if a.family == family), None)


def _without_jobs(
    sessions: Sequence[MiningSession],
    evidence: Sequence[Evidence],
    pools: Sequence[Endpoint],
    named: tuple[str, ProgramRow] | None,
    notes: Sequence[str],
) -> CoinDecision:
    """The decision when no job shape decides: login, program, pool list, port."""
    program = named[1] if named else None
    login = _logins_coin(sessions)
    if login is not None and _coin_fits(login[0], program):
        coin, source = login
        basis = f"the login has the {coin} address format ({source})"
        return CoinDecision(coin, _coin_algorithm(coin, program), _with_notes(basis, notes))
    if named is not None and (main := _program_algorithm(named[1])) is not None:
        basis = (
            f"the agent names {named[0]}, which mines {main.family} only; "
            f"coin {main.coin} as the table's main {main.family} coin"
        )
        return CoinDecision(main.coin, main.name, _with_notes(basis, notes))
    intel = _intel_coin(evidence)
    if intel is not None and _coin_fits(intel[0], program):
        coin, how = intel
        return CoinDecision(coin, _coin_algorithm(coin, program), _with_notes(f"coin from {how}", notes))
    for p in pools:
        row = ports().get(p.port)
        if row is not None and _fits(program, row.algorithm):
            basis = f"port {p.port} convention ({row.source})"
            return CoinDecision(row.coin, row.algorithm, _with_notes(basis, notes))
    if notes:
        what = f"{named[0]} mines {' or '.join(sorted(named[1].families))}" if named else "nothing else"
        basis = f"coin not decided: {what}, and no login, pool or port names one it can mine"
        return CoinDecision(None, None, _with_notes(basis, notes))
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
