"""An APK's zip, read under bounds with the zip reader androguard itself uses (apkInspector,
which reads entries the way Android does, tampered headers included), so what we vet is
exactly what androguard will inflate."""

from __future__ import annotations

import io
import re
import zlib
from pathlib import Path
from typing import Any

from apkInspector.headers import ZipEntry

from minewatch.apps.limits import Limits
from minewatch.errors import ApkError

__all__ = ["MANIFEST", "Archive"]

MANIFEST = "AndroidManifest.xml"
_LOCAL_HEADER = 30  # bytes of a zip local file header before its name and extra field
_SIGNATURE_FILE = re.compile(r"^META-INF/[^/]+\.(?:RSA|DSA|EC)$")


class Archive:
    """The entries of one APK file; `read` inflates one under a byte cap."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.source = str(path)
        self.limits = limits
        size = path.stat().st_size
        if size > limits.file_bytes:
            raise ApkError(self.source, f"{size} bytes, more than the {limits.file_bytes} read here")
        self.raw = path.read_bytes()
        try:
            self._zip = ZipEntry.parse(io.BytesIO(self.raw), True)
        except Exception:  # any failure of the zip reader on these bytes means: no zip
            raise ApkError(self.source, "not a zip archive (no readable central directory)") from None
        self.names = tuple(self._zip.central_directory.entries)
        if len(self.names) > limits.entries:
            raise ApkError(self.source, f"{len(self.names)} zip entries, more than {limits.entries}")
        if MANIFEST not in self.names:
            raise ApkError(self.source, f"a zip but not an APK: no {MANIFEST}")

    def size(self, name: str) -> int:
        """The uncompressed size the central directory declares for `name`, in bytes."""
        return int(self._zip.central_directory.entries[name].uncompressed_size)

    def read(self, name: str, cap: int, *, prefix: bool = False) -> bytes:
        """`name` inflated, at most `cap` bytes: past that an ApkError (a zip bomb), or with
        `prefix` its first `cap` bytes. Mirrors apkInspector's choice of sizes and method."""
        try:
            local: dict[str, Any] = self._zip.get_local_header_dict(name)
            central: dict[str, Any] = self._zip.get_central_directory_entry_dict(name)
        except KeyError:
            raise ApkError(self.source, f"{name}: no local header matches its directory entry") from None
        if local["compressed_size"] == 0 or local["uncompressed_size"] == 0:
            packed, plain = central["compressed_size"], central["uncompressed_size"]
        else:
            packed, plain = local["compressed_size"], local["uncompressed_size"]
        start = (
            central["relative_offset_of_local_file_header"]
            + _LOCAL_HEADER
            + local["file_name_length"]
            + local["extra_field_length"]
        )
        method = local["compression_method"]
        stored = self.raw[start : start + plain]
        if method == 0 or (method != 8 and packed == plain):
            return self._capped(name, stored, cap, prefix)
        inflated = _inflate(self.raw[start : start + packed], cap)
        if inflated is None and method == 8:
            raise ApkError(self.source, f"{name}: bad deflate data")
        # An unknown method that does not inflate is read as stored, as Android does.
        return self._capped(name, stored if inflated is None else inflated, cap, prefix)

    def _capped(self, name: str, data: bytes, cap: int, prefix: bool) -> bytes:
        if len(data) <= cap:
            return data
        if prefix:
            return data[:cap]
        raise ApkError(self.source, f"{name} inflates past {cap} bytes (a zip bomb?)")

    def vet(self) -> None:
        """Check every entry androguard will inflate whole (manifest, resources, v1
        signature files) stays under the entry cap, since its own reader has no cap."""
        cap = self.limits.entry_bytes
        for name in self.names:
            if name in (MANIFEST, "resources.arsc") or _SIGNATURE_FILE.match(name):
                self.read(name, cap)


def _inflate(data: bytes, cap: int) -> bytes | None:
    """Raw deflate `data` inflated to at most `cap` + 1 bytes; None if it is not deflate."""
    try:
        return zlib.decompressobj(-15).decompress(data, cap + 1)
    except zlib.error:
        return None
