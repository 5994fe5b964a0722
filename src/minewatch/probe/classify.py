"""What a server's answer to one greeting says: mining (which dialect), something else
(what it looks like), or nothing.

The project's own dissectors (minewatch.protocols) judge the exchange, fed our greeting
and the answer as if they had been captured: a probe is as strong as dissection because
it is dissection, of a conversation minewatch started.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from minewatch.model.schema import Direction, MessageKind
from minewatch.probe.greetings import Greeting
from minewatch.probe.result import Dialect
from minewatch.protocols.base import WireMessage, dissect_connection

__all__ = ["Answer", "AnswerKind", "classify", "looks_like_tls"]


class AnswerKind(StrEnum):
    MINING = "mining"
    OTHER = "other"  # the server answered, not in a mining protocol
    CLOSED = "closed"  # the server hung up without a word
    SILENT = "silent"  # nothing within the answer timeout, connection still open


@dataclass(frozen=True)
class Answer:
    kind: AnswerKind
    detail: str
    protocol: str | None = None
    strength: float = 0.0
    # The server spoke something that is not JSON lines (HTTP, XMPP, TLS, ...): the other
    # JSON greetings need not be tried on this transport.
    foreign: bool = False


# An XMRig-style pool that refuses an unknown login still says it is a pool: the message
# names the wallet or login (nodejs-pool "Invalid payment address provided", monero-pool
# "Invalid address"); a generic JSON-RPC server says "method not found".
_LOGIN_REFUSED = re.compile(r"address|wallet|login|worker|miner|payment", re.IGNORECASE)
_SV2_SETUP_SUCCESS, _SV2_SETUP_ERROR = 0x01, 0x02
# Answer one-sided: the dissector's strength for a session where only one side is seen
# speaking mining (protocols/base.py `freeze`).
REFUSED_LOGIN_STRENGTH = 0.85
# A Noise SV2 pool reads the first 64 bytes of anything as the client's key and answers
# with its 234-byte act 2 (stratum-mining/sv2-spec 04; PROTOCOLS.md 1.6).
NOISE_ACT2 = 234


def looks_like_tls(data: bytes) -> bool:
    """A TLS record header (handshake or alert, versions 3.0 to 1.3)."""
    return len(data) >= 3 and data[0] in (0x15, 0x16) and data[1] == 3 and data[2] <= 4


def _what(data: bytes) -> str:
    """A few words naming what a non-mining answer looks like."""
    head = data[:200]
    if looks_like_tls(head):
        return "a TLS record (the port speaks TLS)"
    first = head.splitlines()[0].decode("latin-1") if head.strip() else ""
    if head.startswith(b"HTTP/"):
        return f"HTTP ({first[:60]})"
    if b"<html" in head.lower() or b"<!doctype html" in head.lower():
        return "HTML (a web server)"
    if head.lstrip().startswith(b"<"):
        return "XML" + (" (an XMPP stream)" if b"stream" in head else "")
    if head[:1] in (b"{", b"["):
        return f"JSON that is not a mining answer: {first[:80]}"
    if head[:1] == b"\x20" and len(head) >= 4:
        return f"an MQTT CONNACK (return code {head[3]})"
    printable = sum(c.isprintable() for c in first) / max(1, len(first))
    return f"text: {first[:60]!r}" if printable > 0.9 else f"{len(data)} bytes of binary data"


def _messages(greeting: Greeting, answer: bytes) -> list[WireMessage]:
    out = [WireMessage(0, 0, 0.0, Direction.CLIENT_TO_SERVER, greeting.kind, greeting.data.rstrip(b"\n"))]
    if greeting.kind == MessageKind.SV2_FRAME:
        parts = [answer]
    else:
        parts = [p for p in answer.split(b"\n") if p.strip()]
    for i, part in enumerate(parts, 1):
        out.append(WireMessage(0, i, 0.001 * i, Direction.SERVER_TO_CLIENT, greeting.kind, part))
    return out


def _first_json(answer: bytes) -> dict[str, object] | None:
    for part in answer.split(b"\n"):
        try:
            obj = json.loads(part)
        except (ValueError, RecursionError):  # a hostile answer nests deeper than Python
            continue
        if isinstance(obj, dict):
            return obj
    return None


def _v1_detail(obj: dict[str, object]) -> str:
    result = obj.get("result")
    if isinstance(result, list) and len(result) >= 2 and isinstance(result[1], str):
        size = f", extranonce2 size {result[2]}" if len(result) > 2 else ""
        return f"answered mining.subscribe with a subscription id and extranonce1 {result[1][:16]}{size}"
    return "answered mining.subscribe with a subscription"


def _json_detail(greeting: Greeting, answer: bytes) -> str:
    obj = _first_json(answer) or {}
    if greeting.dialect == Dialect.XMRIG:
        result = obj.get("result")
        job = result.get("job") if isinstance(result, dict) else None
        if isinstance(job, dict):
            return f"answered an XMRig login with a job (blob of {len(str(job.get('blob', ''))) // 2} bytes)"
        return "answered an XMRig login with mining jobs"
    if greeting.dialect == Dialect.ETHEREUM_STRATUM:
        return "answered an EthereumStratum/1.0.0 subscribe" + _v1_detail(obj).removeprefix(
            "answered mining.subscribe"
        )
    return _v1_detail(obj)


def _refused_login(greeting: Greeting, answer: bytes) -> str | None:
    obj = _first_json(answer)
    if greeting.dialect != Dialect.XMRIG or obj is None or obj.get("id") != 1:
        return None
    error = obj.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    if isinstance(message, str) and _LOGIN_REFUSED.search(message):
        return f"refused our XMRig login as a pool does: {message[:80]!r}"
    return None


def _sv2(answer: bytes) -> Answer | None:
    if len(answer) < 6 or answer[0:2] != b"\x00\x00":
        return None
    msg_type, length = answer[2], int.from_bytes(answer[3:6], "little")
    if msg_type not in (_SV2_SETUP_SUCCESS, _SV2_SETUP_ERROR) or length > 512:
        return None
    if msg_type == _SV2_SETUP_SUCCESS:
        return Answer(
            AnswerKind.MINING, "answered SV2 SetupConnection with SetupConnection.Success", "stratum-v2", 0.98
        )
    code = answer[11 : 11 + answer[10]].decode("utf-8", "replace") if len(answer) > 10 else ""
    return Answer(
        AnswerKind.MINING,
        f"answered SV2 SetupConnection with SetupConnection.Error ({code or 'no code'})",
        "stratum-v2",
        REFUSED_LOGIN_STRENGTH,
    )


def classify(greeting: Greeting, answer: bytes, closed: bool) -> Answer:
    """The meaning of `answer` (what the server sent, bounded) to `greeting`; `closed` if
    the server hung up."""
    if not answer:
        if closed:
            return Answer(AnswerKind.CLOSED, f"closed the connection on {greeting.method}")
        return Answer(AnswerKind.SILENT, f"said nothing to {greeting.method}")
    if greeting.dialect == Dialect.STRATUM_V2:
        sv2 = _sv2(answer)
        if sv2 is not None:
            return sv2
    else:
        session = dissect_connection(_messages(greeting, answer))
        if session is not None and session.server_confirmed:
            detail = _json_detail(greeting, answer)
            return Answer(AnswerKind.MINING, detail, session.protocol, session.confidence)
        refused = _refused_login(greeting, answer)
        if refused is not None:
            return Answer(AnswerKind.MINING, refused, "xmrig", REFUSED_LOGIN_STRENGTH)
    if len(answer) == NOISE_ACT2 and answer.lstrip()[:1] not in (b"{", b"<") and not looks_like_tls(answer):
        return Answer(
            AnswerKind.MINING,
            f"answered {greeting.method} with 234 bytes, a Stratum V2 Noise handshake reply (act 2)",
            "stratum-v2",
            REFUSED_LOGIN_STRENGTH,
        )
    what = _what(answer)
    foreign = not what.startswith("JSON")
    return Answer(AnswerKind.OTHER, f"answered {greeting.method} with {what}", foreign=foreign)
