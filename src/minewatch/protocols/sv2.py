"""Stratum V2 in plaintext (local links; remote pools use Noise and are recognised from
the handshake sizes by a detector instead). Frames: extension_type u16 | msg_type u8 |
msg_length u24 | payload, little-endian (stratum-mining/sv2-spec 03, 05, 08)."""

from __future__ import annotations

import struct

from minewatch.protocols.base import MiningSession, WireMessage, freeze
from minewatch.protocols.session import DifficultyUnit, SessionState, ShareRecord

__all__ = ["Sv2Dissector"]

SETUP_CONNECTION = 0x00
SETUP_SUCCESS = 0x01
OPEN_STANDARD_CHANNEL = 0x10
OPEN_EXTENDED_CHANNEL = 0x13
NEW_MINING_JOB = 0x15
UPDATE_CHANNEL = 0x16
SUBMIT_STANDARD = 0x1A
SUBMIT_EXTENDED = 0x1B
SUBMIT_SUCCESS = 0x1C
SUBMIT_ERROR = 0x1D
NEW_EXTENDED_JOB = 0x1F
SET_TARGET = 0x21


def _str0_255(buf: bytes, off: int) -> tuple[str, int]:
    n = buf[off]
    return buf[off + 1 : off + 1 + n].decode("utf-8", "replace"), off + 1 + n


class Sv2Dissector:
    def __init__(self) -> None:
        self.state = SessionState(protocol="stratum-v2", difficulty_unit=DifficultyUnit.HASHES)

    def feed(self, msg: WireMessage) -> None:
        data = msg.data
        if len(data) < 6:
            return
        msg_type = data[2]
        payload = data[6:]
        self.state.saw(msg.ts)
        try:
            self._frame(msg_type, payload, msg)
        except (IndexError, struct.error, ValueError):
            return  # a frame shorter than its fields: ignore it, keep what we have

    def _frame(self, t: int, p: bytes, msg: WireMessage) -> None:
        s = self.state
        if msg.from_client and t == SETUP_CONNECTION and p[0] == 0:
            s.client_mining = True
            s.method("SetupConnection")
            off = 1 + 2 + 2 + 4
            _, off = _str0_255(p, off)  # endpoint_host
            off += 2
            vendor, off = _str0_255(p, off)
            hardware, off = _str0_255(p, off)
            s.agent = " ".join(x for x in (vendor, hardware) if x)[:200] or None
        elif msg.from_client and t in (OPEN_STANDARD_CHANNEL, OPEN_EXTENDED_CHANNEL):
            user, off = _str0_255(p, 4)
            s.login(user)
            (rate,) = struct.unpack_from("<f", p, off)
            if rate > 0:
                s.reported_hashrate = float(rate)
            s.method("OpenMiningChannel")
        elif msg.from_client and t in (SUBMIT_STANDARD, SUBMIT_EXTENDED):
            s.client_mining = True
            s.shares.append(ShareRecord(msg.ts, s.current_difficulty, None))
            s.method("SubmitShares")
        elif not msg.from_client and t == SETUP_SUCCESS:
            s.server_mining = True
        elif not msg.from_client and t in (NEW_MINING_JOB, NEW_EXTENDED_JOB):
            s.server_mining = True
            s.job(msg.ts, None, s.current_difficulty)
        elif not msg.from_client and t == SET_TARGET:
            target = int.from_bytes(p[4:36], "little")
            if target:
                s.new_difficulty(msg.ts, 2**256 / target)
        elif not msg.from_client and t in (SUBMIT_SUCCESS, SUBMIT_ERROR):
            self._answer(t, p)

    def _answer(self, t: int, p: bytes) -> None:
        s = self.state
        s.server_mining = True
        count = struct.unpack_from("<I", p, 8)[0] if t == SUBMIT_SUCCESS else 1
        pending = [i for i, sh in enumerate(s.shares) if sh.accepted is None]
        for i in pending[: max(0, min(count, len(pending)))]:
            s.share_answer(i, t == SUBMIT_SUCCESS)

    def result(self, conn_id: int) -> MiningSession | None:
        return freeze(self.state, conn_id)
