"""Jobs and targets that real miners accept, per dialect of our test pool.

The pool never checks proof of work: each miner compares its own hashes with the target it was
given and submits only hashes below it, so the share rate follows the difficulty. The jobs only
have to be well formed (field lengths cpuminer and XMRig check) and vary the way real ones do.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "Dialect",
    "EthJob",
    "Sv1Job",
    "XmrigJob",
    "eth_job",
    "sv1_job",
    "sv2_setup_success",
    "xmrig_job",
    "xmrig_target",
]

# A fixed seed for RandomX jobs: a new seed would make XMRig rebuild its dataset mid-session.
RX_SEED_HASH = "a7d3f1c9e5b2" + "00" * 26
ETH_SEED_HASH = "5a" * 32


class Dialect(StrEnum):
    """The mining protocols a pool port can speak."""

    SV1 = "sv1"
    XMRIG = "xmrig"
    ETHSTRATUM = "ethstratum"
    SV2 = "sv2"


def _hex(n: int) -> str:
    return os.urandom(n).hex()


@dataclass(frozen=True)
class Sv1Job:
    """One `mining.notify` of Stratum V1 (Bitcoin-style header parts)."""

    job_id: str
    prevhash: str
    coinb1: str
    coinb2: str
    merkle_branch: tuple[str, ...]
    version: str
    nbits: str
    ntime: str

    def params(self, clean: bool) -> list[Any]:
        return [
            self.job_id,
            self.prevhash,
            self.coinb1,
            self.coinb2,
            list(self.merkle_branch),
            self.version,
            self.nbits,
            self.ntime,
            clean,
        ]


def sv1_job(seq: int, height: int) -> Sv1Job:
    """A job whose merkle branch length varies like a real block's (so notify sizes vary)."""
    height_push = struct.pack("<I", height)[:3].hex()
    # version, one input spending nothing, script: BIP 34 height push + a tag; then the
    # extranonces go in; coinb2 closes the script and pays one output.
    coinb1 = "01000000" + "01" + "00" * 32 + "ffffffff" + "2a" + "03" + height_push + _hex(8)
    coinb2 = "2f6d696e65776174636822" + "ffffffff" + "01" + _hex(8) + "1976a914" + _hex(20) + "88ac00000000"
    branches = tuple(_hex(32) for _ in range(4 + seq % 9))
    return Sv1Job(
        job_id=f"{seq:x}",
        prevhash=_hex(32),
        coinb1=coinb1,
        coinb2=coinb2,
        merkle_branch=branches,
        version="20000000",
        nbits="1703a30c",
        ntime=f"{int(time.time()):08x}",
    )


@dataclass(frozen=True)
class XmrigJob:
    """One CryptoNote job as XMRig reads it (login result and `job` pushes)."""

    job_id: str
    blob: str
    target: str
    algo: str
    height: int
    seed_hash: str

    def params(self, rpc_id: str) -> dict[str, Any]:
        return {
            "id": rpc_id,
            "blob": self.blob,
            "job_id": self.job_id,
            "target": self.target,
            "algo": self.algo,
            "height": self.height,
            "seed_hash": self.seed_hash,
        }


def xmrig_target(difficulty: float) -> str:
    """XMRig's target hex (Job::setTarget): 4 little-endian bytes as most pools send, 8 for high difficulties.

    A target cannot ask for less than difficulty 1, so smaller difficulties give "ffffffff".
    """
    if difficulty <= 1.0:
        return "ffffffff"
    if difficulty < 2**20:
        return struct.pack("<I", int(0xFFFFFFFF / difficulty)).hex()
    return struct.pack("<Q", int(2**64 / difficulty)).hex()


def xmrig_job(seq: int, height: int, difficulty: float, algo: str) -> XmrigJob:
    """A 76-byte Monero-style hashing blob with the 4-byte nonce zeroed at offset 39."""
    timestamp = _hex(5)  # a varint in real blobs; only the length matters to the miner
    blob = "1010" + timestamp + _hex(32) + "00000000" + _hex(32) + "01"
    return XmrigJob(
        job_id=f"{seq:08x}",
        blob=blob,
        target=xmrig_target(difficulty),
        algo=algo,
        height=height,
        seed_hash=RX_SEED_HASH,
    )


@dataclass(frozen=True)
class EthJob:
    """One EthereumStratum/1.0.0 `mining.notify`."""

    job_id: str
    seed_hash: str
    header_hash: str

    def params(self) -> list[Any]:
        return [self.job_id, self.seed_hash, self.header_hash, True]


def eth_job(seq: int) -> EthJob:
    return EthJob(job_id=f"{seq:08x}", seed_hash=ETH_SEED_HASH, header_hash=_hex(32))


def sv2_setup_success(used_version: int = 2, flags: int = 0) -> bytes:
    """Plaintext SetupConnection.Success: extension 0, type 0x01, U24 length; U16 version, U32 flags."""
    payload = struct.pack("<HI", used_version, flags)
    return struct.pack("<HB", 0, 0x01) + len(payload).to_bytes(3, "little") + payload
