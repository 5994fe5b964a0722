"""Which mining sessions to record: a seeded sample of the matrix in data/mining_matrix.json."""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from corpus.mining_ns import Netem

__all__ = ["MinerSpec", "Scale", "SessionPlan", "load_matrix", "plan_sessions"]

MATRIX = Path(__file__).with_name("data") / "mining_matrix.json"


class Scale(StrEnum):
    QUICK = "quick"  # one short TLS session per miner, to see that everything works
    TESTS = "tests"  # one ~3 min TLS session per miner: small captures for tests/data/own-miners
    FULL = "full"  # 64 sessions of 3-6 min over the whole matrix


@dataclass(frozen=True)
class MinerSpec:
    name: str
    program: str  # "cpuminer" or "xmrig"
    algorithm: str
    hashes_per_difficulty_1: float
    hashrate_per_thread_hs: float

    def difficulty_for(self, share_interval_s: float, threads: int) -> float:
        """The difficulty that gives about one share per `share_interval_s`, to 3 significant digits."""
        d = share_interval_s * self.hashrate_per_thread_hs * threads / self.hashes_per_difficulty_1
        return float(f"{max(d, 1.0 if self.program == 'xmrig' else 0.0):.3g}")


@dataclass(frozen=True)
class Matrix:
    miners: tuple[MinerSpec, ...]
    share_intervals_s: tuple[float, ...]
    job_intervals_s: tuple[float, ...]
    threads: tuple[int, ...]
    vardiff_fraction: float
    plain_fraction: float
    netem: tuple[Netem, ...]
    tls_ports: tuple[int, ...]
    plain_ports: tuple[int, ...]
    server_names: tuple[str, ...]
    xmrig_sni_fraction: float


@dataclass(frozen=True)
class SessionPlan:
    """One recorded session. The miner connects to `server_name`; `sni`: it is sent in the ClientHello.

    cpuminer (libcurl) always sends it; XMRig only with --sni, which most users never set.
    """

    index: int
    miner: MinerSpec
    tls: bool
    difficulty: float
    vardiff_target_s: float | None
    share_interval_s: float
    job_interval_s: float
    threads: int
    netem: Netem
    port: int
    server_name: str
    worker: str
    seconds: float
    sni: bool

    @property
    def stem(self) -> str:
        transport = "tls" if self.tls else "tcp"
        diff = f"v{self.vardiff_target_s:g}" if self.vardiff_target_s else f"d{self.difficulty:g}"
        return (
            f"{self.index:03d}_{self.miner.name}_{transport}_{self.netem.name}_{diff}"
            f"_j{self.job_interval_s:g}_t{self.threads}"
        )


def load_matrix(path: Path = MATRIX) -> Matrix:
    raw: dict[str, Any] = json.loads(path.read_text())
    return Matrix(
        miners=tuple(MinerSpec(**m) for m in raw["miners"]),
        share_intervals_s=tuple(raw["share_intervals_s"]),
        job_intervals_s=tuple(raw["job_intervals_s"]),
        threads=tuple(raw["threads"]),
        vardiff_fraction=raw["vardiff_fraction"],
        plain_fraction=raw["plain_fraction"],
        netem=tuple(Netem(**n) for n in raw["netem"]),
        tls_ports=tuple(raw["tls_ports"]),
        plain_ports=tuple(raw["plain_ports"]),
        server_names=tuple(raw["server_names"]),
        xmrig_sni_fraction=raw["xmrig_sni_fraction"],
    )


def _worker(program: str, rng: random.Random) -> str:
    if program == "xmrig":  # a Monero-address-shaped login, as XMRig users give
        alphabet = string.ascii_letters + string.digits
        return "4" + "".join(rng.choice(alphabet) for _ in range(94))
    return f"user{rng.randrange(1000)}.rig{rng.randrange(100)}"


def _session(m: Matrix, index: int, miner: MinerSpec, rng: random.Random, scale: Scale) -> SessionPlan:
    tls = scale is not Scale.FULL or rng.random() >= m.plain_fraction
    threads = 1 if scale is not Scale.FULL else rng.choice(m.threads)
    share_s = rng.choice(m.share_intervals_s[:4] if scale is not Scale.FULL else m.share_intervals_s)
    vardiff = scale is Scale.FULL and rng.random() < m.vardiff_fraction
    seconds = {Scale.QUICK: 40.0, Scale.TESTS: 170.0, Scale.FULL: float(rng.randrange(180, 361, 15))}[scale]
    return SessionPlan(
        index=index,
        miner=miner,
        tls=tls,
        # vardiff starts fourfold off so that the retargeting shows in the capture
        difficulty=miner.difficulty_for(share_s / 4 if vardiff else share_s, threads),
        vardiff_target_s=share_s if vardiff else None,
        share_interval_s=share_s,
        job_interval_s=rng.choice(m.job_intervals_s),
        threads=threads,
        netem=m.netem[index % len(m.netem)] if scale is not Scale.FULL else rng.choice(m.netem),
        port=rng.choice(m.tls_ports if tls else m.plain_ports),
        server_name=rng.choice(m.server_names),
        worker=_worker(miner.program, rng),
        seconds=seconds,
        sni=miner.program == "cpuminer" or (scale is Scale.FULL and rng.random() < m.xmrig_sni_fraction),
    )


def plan_sessions(
    scale: Scale, seed: int = 15, count: int | None = None, m: Matrix | None = None
) -> list[SessionPlan]:
    """Sessions cycling through the miners, other dimensions drawn from a seeded generator."""
    m = m or load_matrix()
    n = count if count is not None else (64 if scale is Scale.FULL else len(m.miners))
    rng = random.Random(seed)
    return [_session(m, i, m.miners[i % len(m.miners)], rng, scale) for i in range(n)]
