"""Conversions between the targets miners see on the wire and difficulties.

All return expected hashes per share unless named `pool difficulty`. Sources: xmrig
src/base/net/stratum/Job.cpp `setTarget` and Job.h `toDiff`; open-ethereum-pool
util/util.go `TargetHexToDiff`.
"""

from __future__ import annotations

__all__ = ["hashes_from_target256", "hashes_from_xmrig_target", "number"]

_U64 = 0xFFFFFFFFFFFFFFFF


def hashes_from_xmrig_target(text: object) -> float | None:
    """XMRig/CryptoNote `target`: 8 hex chars (LE uint32) or 16 (LE uint64)."""
    if not isinstance(text, str) or len(text) not in (8, 16):
        return None
    try:
        raw = int.from_bytes(bytes.fromhex(text), "little")
    except ValueError:
        return None
    if raw == 0:
        return None
    target = _U64 // (0xFFFFFFFF // raw) if len(text) == 8 else raw
    return float(_U64 // target) if target else None


def hashes_from_target256(text: object, little_endian: bool = False) -> float | None:
    """A 256-bit boundary as hex (optionally 0x-prefixed): expected hashes = 2^256 / T."""
    if not isinstance(text, str):
        return None
    t = text[2:] if text.startswith(("0x", "0X")) else text
    if not 1 <= len(t) <= 64:
        return None
    try:
        raw = bytes.fromhex(t.rjust(64, "0"))
    except ValueError:
        return None
    value = int.from_bytes(raw, "little" if little_endian else "big")
    return float(2**256 / value) if value else None


def number(value: object) -> float | None:
    """A finite positive JSON number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = float(value)
    return v if 0 < v < 1e30 else None
