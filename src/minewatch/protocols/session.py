"""The mutable state a dissector builds for one connection, and what it freezes into."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BlobShape", "DifficultyUnit", "SessionState", "ShareRecord"]

# Bound on requests awaiting an answer, so a hostile peer cannot grow the table.
MAX_PENDING = 4096
MAX_TIMELINE = 10_000
MAX_LOGINS = 16
MAX_SHAPES = 8


class DifficultyUnit:
    """How to read a difficulty value: pool difficulty (times the algorithm family's
    hashes-per-difficulty-1) or already expected hashes per share."""

    POOL = "pool"
    HASHES = "hashes"


@dataclass(frozen=True)
class ShareRecord:
    """One submitted share: when, at which difficulty, and the pool's answer
    (None when no answer was seen)."""

    ts: float
    difficulty: float | None
    accepted: bool | None


@dataclass(frozen=True)
class BlobShape:
    """A CryptoNote job that names no algorithm (no `algo`, no `seed_hash`): the length of
    its hashing blob in bytes, the blob's major version (its first varint) and the width of
    its target in hex characters. Pre-RandomX pools sent only this."""

    blob_bytes: int
    major_version: int
    target_chars: int


@dataclass
class SessionState:
    """Facts gathered from one connection; `claim` records how sure we are it is mining."""

    protocol: str | None = None
    algorithm: str | None = None
    agent: str | None = None
    difficulty_unit: str = DifficultyUnit.POOL
    methods: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    jobs: int = 0
    difficulty: list[tuple[float, float]] = field(default_factory=list)
    # When the difficulty the miner works at changed: (job arrival, difficulty of the job).
    work: list[tuple[float, float]] = field(default_factory=list)
    # Bitcoin-style notify: the block target bits (`nbits`), which tell the coin's chain.
    block_bits: str | None = None
    # CryptoNote jobs without `algo` or `seed_hash`: their distinct shapes, in order seen.
    blob_shapes: list[BlobShape] = field(default_factory=list)
    shares: list[ShareRecord] = field(default_factory=list)
    reported_hashrate: float | None = None
    client_mining: bool = False
    server_mining: bool = False
    first_ts: float | None = None
    last_ts: float | None = None
    # Requests awaiting their answer: id -> (method, index into shares or -1).
    pending: dict[object, tuple[str, int]] = field(default_factory=dict)
    # Difficulty in force for each job id, and the one waiting for the next job (V1).
    job_difficulty: dict[str, float] = field(default_factory=dict)
    current_difficulty: float | None = None
    next_difficulty: float | None = None

    def saw(self, ts: float) -> None:
        self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
        self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)

    def method(self, name: str) -> None:
        if name not in self.methods and len(self.methods) < 64:
            self.methods.append(name)

    def login(self, name: object) -> None:
        if isinstance(name, str) and name and name not in self.logins and len(self.logins) < MAX_LOGINS:
            self.logins.append(name[:256])

    def set_protocol(self, name: str) -> None:
        # A more specific variant wins over plain stratum-v1 (ethereum-stratum says so in subscribe).
        if self.protocol is None or self.protocol == "stratum-v1":
            self.protocol = name

    def expect(self, msg_id: object, method: str, share: int = -1) -> None:
        if msg_id is None or len(self.pending) >= MAX_PENDING:
            return
        try:
            self.pending[msg_id] = (method, share)
        except TypeError:  # an unhashable id (a list or object): cannot be matched
            return

    def answered(self, msg_id: object) -> tuple[str, int] | None:
        try:
            return self.pending.pop(msg_id, None)
        except TypeError:
            return None

    def new_difficulty(self, ts: float, value: float) -> None:
        if len(self.difficulty) < MAX_TIMELINE and (not self.difficulty or self.difficulty[-1][1] != value):
            self.difficulty.append((ts, value))
        self.current_difficulty = value

    def job(self, ts: float, job_id: object, difficulty: float | None) -> None:
        """A job arrived: from now on the miner works at its difficulty."""
        self.jobs += 1
        changed = not self.work or self.work[-1][1] != difficulty
        if difficulty is not None and changed and len(self.work) < MAX_TIMELINE:
            self.work.append((ts, difficulty))
        if isinstance(job_id, str) and difficulty is not None and len(self.job_difficulty) < MAX_PENDING:
            self.job_difficulty[job_id] = difficulty

    def blob_shape(self, shape: BlobShape) -> None:
        if shape not in self.blob_shapes and len(self.blob_shapes) < MAX_SHAPES:
            self.blob_shapes.append(shape)

    def submit(self, ts: float, msg_id: object, method: str, job_id: object) -> None:
        diff = self.job_difficulty.get(job_id) if isinstance(job_id, str) else None
        if diff is None:
            diff = self.current_difficulty
        self.shares.append(ShareRecord(ts, diff, None))
        self.expect(msg_id, method, len(self.shares) - 1)

    def share_answer(self, index: int, accepted: bool) -> None:
        if 0 <= index < len(self.shares):
            s = self.shares[index]
            self.shares[index] = ShareRecord(s.ts, s.difficulty, accepted)
