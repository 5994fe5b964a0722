"""Wallet addresses in text, each kept only when its checksum holds, so a random string of
the right length is not an address. Returns (format, address) pairs; the format names are
the rows of data/wallets.csv."""

from __future__ import annotations

import re
from collections.abc import Iterator

import base58
import bech32
from Crypto.Hash import keccak

__all__ = ["FORMATS", "find_addresses", "valid"]

_B58 = "1-9A-HJ-NP-Za-km-z"
_CANDIDATES = (
    ("bitcoin-base58check", re.compile(rf"\b[13][{_B58}]{{25,34}}\b")),
    ("bitcoin-bech32", re.compile(r"\bbc1q[02-9ac-hj-np-z]{38,58}\b")),
    ("bitcoin-bech32m", re.compile(r"\bbc1[02-9ac-hj-npr-z][02-9ac-hj-np-z]{38,58}\b")),
    ("ethereum-eip55", re.compile(r"\b0x[0-9a-fA-F]{40}\b")),
    ("monero", re.compile(rf"\b[48][{_B58}]{{94}}\b")),
)
FORMATS = tuple(name for name, _ in _CANDIDATES)
_BECH32M_CONST = 0x2BC830A3  # BIP-350
_XMR_BLOCK = 11  # Monero base58 encodes 8-byte blocks as 11 characters
_XMR_SIZES = {0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
_XMR_PREFIXES = frozenset({18, 42})  # mainnet standard and subaddress


def _keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def _base58check(text: str) -> bool:
    try:
        raw = base58.b58decode_check(text)
    except ValueError:
        return False
    return len(raw) == 21 and raw[0] in (0x00, 0x05)


def _segwit(text: str, const: int) -> bool:
    """BIP-173/350: the bech32 or bech32m checksum over hrp `bc`, and the witness version
    that goes with it (v0 with bech32, v1+ with bech32m), and a program of legal length."""
    hrp, _, rest = text.lower().rpartition("1")
    if hrp != "bc" or len(rest) < 7:
        return False
    data = [bech32.CHARSET.find(c) for c in rest]
    if -1 in data or bech32.bech32_polymod(bech32.bech32_hrp_expand(hrp) + data) != const:
        return False
    version, program = data[0], bech32.convertbits(data[1:-6], 5, 8, False)
    if program is None or not 2 <= len(program) <= 40 or version > 16:
        return False
    return (version == 0) == (const == 1) and (version != 0 or len(program) in (20, 32))


def _eip55(text: str) -> bool:
    """Only a mixed-case address carries a checksum: each letter is upper case exactly when
    the matching nibble of keccak256(lower-case hex) is 8 or more."""
    body = text[2:]
    if body.lower() == body or body.upper() == body:
        return False
    digest = _keccak256(body.lower().encode()).hex()
    return all(
        c.isdigit() or c.isupper() == (int(h, 16) >= 8) for c, h in zip(body, digest[:40], strict=True)
    )


def _monero_decode(text: str) -> bytes | None:
    out = bytearray()
    for start in range(0, len(text), _XMR_BLOCK):
        block = text[start : start + _XMR_BLOCK]
        size = _XMR_SIZES.get(len(block))
        if size is None:
            return None
        value = 0
        for char in block:
            value = value * 58 + base58.BITCOIN_ALPHABET.index(char.encode())
        if value >= 1 << (8 * size):
            return None
        out += value.to_bytes(size)
    return bytes(out)


def _monero(text: str) -> bool:
    raw = _monero_decode(text)
    if raw is None or len(raw) != 69 or raw[0] not in _XMR_PREFIXES:
        return False
    return _keccak256(raw[:-4])[:4] == raw[-4:]


_CHECKS = {
    "bitcoin-base58check": _base58check,
    "bitcoin-bech32": lambda t: _segwit(t, 1),
    "bitcoin-bech32m": lambda t: _segwit(t, _BECH32M_CONST),
    "ethereum-eip55": _eip55,
    "monero": _monero,
}


def valid(fmt: str, text: str) -> bool:
    """Whether `text` is an address of `fmt` with a correct checksum."""
    return _CHECKS[fmt](text)


def find_addresses(text: str) -> Iterator[tuple[str, str]]:
    """(format, address) for each distinct checksum-valid address in `text`."""
    seen: set[str] = set()
    for fmt, pattern in _CANDIDATES:
        for match in pattern.finditer(text):
            address = match.group(0)
            if address not in seen and valid(fmt, address):
                seen.add(address)
                yield fmt, address
