"""Embedded strings of an app's code: the string table of each dex file, and printable runs
of each native library. Both readers are bounded in strings and characters and tolerant
of any bytes: a bad table ends the read with a note, never an exception."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator

__all__ = ["dex_strings", "native_strings"]

_DEX_MAGIC = re.compile(rb"dex\n\d{3}\x00")
_STRING_IDS = 0x38  # header offset of string_ids_size, then string_ids_off (dex format)
_HEADER = 0x70
_PRINTABLE = re.compile(rb"[\x20-\x7e]{6,}")  # as strings(1) with -n 6


def dex_strings(data: bytes, most: int, chars: int) -> tuple[list[str], str | None]:
    """Up to `most` strings of a dex file's string table (each cut to `chars`), and a note
    when the table was cut or unreadable. Only the string table is read: parsing every
    class of a large app would cost seconds and memory for nothing the signals use."""
    if len(data) < _HEADER or not _DEX_MAGIC.match(data):
        return [], "not a dex file (bad magic)"
    count, offset = struct.unpack_from("<II", data, _STRING_IDS)
    if offset + 4 * min(count, most) > len(data):
        return [], "dex string table lies outside the file"
    out = [s for s in _table(data, offset, min(count, most), chars) if s is not None]
    if len(out) < min(count, most):
        return out, "dex string data lies outside the file"
    return out, f"dex strings cut at {most} of {count}" if count > most else None


def _table(data: bytes, offset: int, count: int, chars: int) -> Iterator[str | None]:
    for i in range(count):
        (at,) = struct.unpack_from("<I", data, offset + 4 * i)
        text = _string_data(data, at, chars)
        if text is None:
            yield None
            return
        yield text


def _string_data(data: bytes, at: int, chars: int) -> str | None:
    """One string_data_item: a ULEB128 length in UTF-16 units, then MUTF-8 bytes ending in
    NUL. Decoded as UTF-8 (MUTF-8 differs only for NUL and characters beyond the BMP,
    which come out as replacement characters)."""
    for _ in range(5):  # a uleb128 of a u32 has at most 5 bytes
        if at >= len(data):
            return None
        more = data[at] & 0x80
        at += 1
        if not more:
            break
    end = data.find(b"\x00", at, at + 4 * chars)
    raw = data[at : end if end >= 0 else at + 4 * chars]
    return raw.decode("utf-8", errors="replace")[:chars]


def native_strings(data: bytes, most: int, chars: int) -> list[str]:
    """Up to `most` printable ASCII runs of six or more bytes in a native library."""
    out: list[str] = []
    for match in _PRINTABLE.finditer(data):
        out.append(match.group(0)[:chars].decode("ascii"))
        if len(out) >= most:
            break
    return out
