"""The bounds `apps check` reads an APK under: an APK is hostile input, so every size it
declares or inflates to is capped before it is read."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]

_MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 512 * _MIB  # the APK file itself (large games ship ~200 MB)
    entries: int = 100_000  # zip entries
    entry_bytes: int = 64 * _MIB  # one entry we inflate whole: manifest, resources, dex, signature
    dex_files: int = 32  # classes.dex, classes2.dex, ...
    native_libs: int = 256  # lib/<abi>/*.so files listed
    native_scan_bytes: int = 8 * _MIB  # bytes of each .so scanned for printable strings
    native_scanned: int = 32  # .so files scanned
    strings: int = 200_000  # distinct strings kept, UI and code together
    string_chars: int = 512  # characters kept of one string
