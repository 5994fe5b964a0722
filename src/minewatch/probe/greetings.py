"""The four greetings minewatch sends, as a miner's first message would be written.

Wire facts: PROTOCOLS.md 1.1 (Stratum V1 `mining.subscribe`, cgminer util.c), 1.2
(EthereumStratum/1.0.0 subscribe, nicehash/Specifications), 1.4 (XMRig `login`,
xmrig Client.cpp) and 1.6 (Stratum V2 SetupConnection, stratum-mining/sv2-spec 05).
Nothing here logs in with a real account or submits work: a probe only asks a server to
show which protocol it speaks.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

from minewatch.model.schema import MessageKind
from minewatch.probe.result import Dialect

__all__ = ["AGENT", "GREETINGS", "Greeting", "JSON_GREETINGS", "greeting"]

AGENT = "minewatch-probe/1.0"
# A login no pool has an account for: pools that check logins refuse it, which still
# shows they are pools (see classify.py).
LOGIN = "minewatch-probe"


@dataclass(frozen=True)
class Greeting:
    """One first message: its dialect, the bytes sent, and how the answer is framed."""

    dialect: Dialect
    data: bytes
    kind: MessageKind
    method: str


def _line(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def _str0_255(text: str) -> bytes:
    raw = text.encode()[:255]
    return bytes([len(raw)]) + raw


def setup_connection(host: str = "", port: int = 0) -> bytes:
    """An SV2 SetupConnection frame: mining protocol (0), versions 2..2, no flags."""
    payload = (
        struct.pack("<BHHI", 0, 2, 2, 0)
        + _str0_255(host)
        + struct.pack("<H", port)
        + _str0_255("minewatch")
        + _str0_255("probe")
        + _str0_255("1.0")
        + _str0_255("")
    )
    # Header: extension_type u16 = 0, msg_type u8 = 0x00, msg_length u24 (little-endian).
    return struct.pack("<HB", 0, 0x00) + len(payload).to_bytes(3, "little") + payload


STRATUM_V1 = Greeting(
    Dialect.STRATUM_V1,
    _line({"id": 1, "method": "mining.subscribe", "params": [AGENT]}),
    MessageKind.JSON_LINE,
    "mining.subscribe",
)
XMRIG = Greeting(
    Dialect.XMRIG,
    _line(
        {
            "id": 1,
            "jsonrpc": "2.0",
            "method": "login",
            "params": {"login": LOGIN, "pass": "x", "agent": AGENT, "algo": ["rx/0"]},
        }
    ),
    MessageKind.JSON_LINE,
    "login",
)
ETHEREUM_STRATUM = Greeting(
    Dialect.ETHEREUM_STRATUM,
    _line({"id": 1, "method": "mining.subscribe", "params": [AGENT, "EthereumStratum/1.0.0"]}),
    MessageKind.JSON_LINE,
    "mining.subscribe",
)
STRATUM_V2 = Greeting(Dialect.STRATUM_V2, setup_connection(), MessageKind.SV2_FRAME, "SetupConnection")

# In the order they are tried on one connection: the most widely understood first.
JSON_GREETINGS = (STRATUM_V1, XMRIG, ETHEREUM_STRATUM)
GREETINGS = (*JSON_GREETINGS, STRATUM_V2)


def greeting(dialect: Dialect) -> Greeting:
    """The greeting of `dialect`."""
    return next(g for g in GREETINGS if g.dialect == dialect)
