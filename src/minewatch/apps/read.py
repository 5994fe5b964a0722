"""One APK file read into an `ApkInfo`: manifest, label, signing certificates (androguard),
native libraries and embedded strings (bounded readers of our own over vetted entries)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from loguru import logger

from minewatch.apps.archive import Archive
from minewatch.apps.limits import Limits
from minewatch.apps.strings import dex_strings, native_strings
from minewatch.errors import ApkError

__all__ = ["ApkInfo", "Certificate", "NativeLib", "read_apk"]

# androguard logs every AXML attribute at DEBUG level through loguru: silence it here, so
# only our own one-line errors reach the person.
logger.disable("androguard")

T = TypeVar("T")

_DEX = re.compile(r"^classes\d*\.dex$")
_NATIVE = re.compile(r"^lib/([^/]+)/([^/]+\.so)$")
# The signal words are English and Chinese: other translations of the same strings only
# cost time (an app ships 80 locales).
_LOCALES = ("en", "zh")


@dataclass(frozen=True)
class Certificate:
    scheme: str  # v1 (JAR signature), v2 or v3 (APK signing block)
    subject: str
    issuer: str
    sha256: str  # of the DER certificate, lower-case hex

    def to_json(self) -> dict[str, str]:
        return {"scheme": self.scheme, "subject": self.subject, "issuer": self.issuer, "sha256": self.sha256}


@dataclass(frozen=True)
class NativeLib:
    abi: str  # arm64-v8a, armeabi-v7a, x86_64, ...
    name: str  # file name, libxmrig.so
    size: int  # bytes, as the zip declares

    def to_json(self) -> dict[str, object]:
        return {"abi": self.abi, "name": self.name, "size": self.size}


@dataclass(frozen=True)
class ApkInfo:
    package: str
    label: str
    version_name: str
    version_code: str
    permissions: tuple[str, ...]
    certificates: tuple[Certificate, ...]
    native_libs: tuple[NativeLib, ...]
    ui_strings: tuple[str, ...]  # string resources: the text the app shows
    code_strings: tuple[str, ...]  # dex string tables and printable runs of native libraries
    notes: tuple[str, ...]  # what a bound cut or what could not be read

    def to_json(self) -> dict[str, object]:
        return {
            "package": self.package,
            "label": self.label,
            "version_name": self.version_name,
            "version_code": self.version_code,
            "permissions": list(self.permissions),
            "certificates": [c.to_json() for c in self.certificates],
            "native_libs": [n.to_json() for n in self.native_libs],
            "strings": {"ui": len(self.ui_strings), "code": len(self.code_strings)},
            "notes": list(self.notes),
        }


def read_apk(path: Path, limits: Limits | None = None) -> ApkInfo:
    """What `path` declares and carries; ApkError when it is no readable APK."""
    limits = limits or Limits()
    archive = Archive(path, limits)
    archive.vet()
    from androguard.core.apk import APK  # imported late: it takes a moment

    try:
        apk = APK(archive.raw, raw=True)
    except Exception as e:  # androguard on hostile bytes: any failure means unreadable
        raise ApkError(archive.source, f"androguard cannot read it: {type(e).__name__}") from None
    if not apk.is_valid_APK() or not apk.get_package():
        raise ApkError(archive.source, "a zip but not an APK: its AndroidManifest.xml does not parse")
    notes: list[str] = []
    ui = _ui_strings(apk, limits, notes)
    code = _code_strings(archive, limits, notes)
    keep = max(0, limits.strings - len(ui))
    if len(code) > keep:
        notes.append(f"strings cut at {limits.strings}")
    return ApkInfo(
        package=str(apk.get_package()),
        label=_guard(lambda: str(apk.get_app_name() or ""), "", "label", notes),
        version_name=str(apk.get_androidversion_name() or ""),
        version_code=str(apk.get_androidversion_code() or ""),
        permissions=tuple(sorted(set(apk.get_permissions()))),
        certificates=_certificates(apk, notes),
        native_libs=_native_libs(archive, limits, notes),
        ui_strings=ui,
        code_strings=tuple(code[:keep]),
        notes=tuple(notes),
    )


def _guard(call: Callable[[], T], fallback: T, what: str, notes: list[str]) -> T:
    """`call()`, or `fallback` with a note: androguard parses hostile structures (resource
    tables, signing blocks) that may fail in any way, and one bad part must not hide the rest."""
    try:
        return call()
    except Exception as e:
        notes.append(f"{what} unreadable: {type(e).__name__}")
        return fallback


def _ui_strings(apk: Any, limits: Limits, notes: list[str]) -> tuple[str, ...]:
    def strings() -> list[str]:
        resources = apk.get_android_resources()
        if resources is None:
            return []
        found = resources.get_resolved_strings()
        return [
            str(v)
            for locales in found.values()
            for locale, table in locales.items()
            if locale == "DEFAULT" or locale.startswith(_LOCALES)
            for v in table.values()
        ]

    return _distinct(_guard(strings, [], "string resources", notes), limits.strings, limits.string_chars)


def _code_strings(archive: Archive, limits: Limits, notes: list[str]) -> list[str]:
    out: list[str] = []
    dexes = [n for n in archive.names if _DEX.match(n)]
    if len(dexes) > limits.dex_files:
        notes.append(f"{len(dexes)} dex files, read the first {limits.dex_files}")
    for name in dexes[: limits.dex_files]:
        found, note = dex_strings(archive.read(name, limits.entry_bytes), limits.strings, limits.string_chars)
        out.extend(found)
        if note:
            notes.append(f"{name}: {note}")
    libs = [n for n in archive.names if _NATIVE.match(n)]
    for name in libs[: limits.native_scanned]:
        data = archive.read(name, limits.native_scan_bytes, prefix=True)
        out.extend(native_strings(data, limits.strings, limits.string_chars))
    return list(_distinct(out, limits.strings, limits.string_chars))


def _native_libs(archive: Archive, limits: Limits, notes: list[str]) -> tuple[NativeLib, ...]:
    libs = []
    for name in archive.names:
        match = _NATIVE.match(name)
        if match:
            libs.append(NativeLib(match.group(1), match.group(2), archive.size(name)))
    if len(libs) > limits.native_libs:
        notes.append(f"{len(libs)} native libraries, listed the first {limits.native_libs}")
    return tuple(libs[: limits.native_libs])


def _certificates(apk: Any, notes: list[str]) -> tuple[Certificate, ...]:
    schemes: tuple[tuple[str, Callable[[], list[Any]]], ...] = (
        ("v1", apk.get_certificates_v1),
        ("v2", apk.get_certificates_v2),
        ("v3", apk.get_certificates_v3),
    )
    out: list[Certificate] = []
    none: list[Any] = []
    for scheme, certs in schemes:
        for cert in _guard(certs, none, f"{scheme} signature", notes):
            if cert is not None:
                out.append(_certificate(scheme, cert))
    return tuple(out)


def _certificate(scheme: str, cert: Any) -> Certificate:
    """An asn1crypto certificate as its names and SHA-256 fingerprint."""
    return Certificate(scheme, cert.subject.human_friendly, cert.issuer.human_friendly, cert.sha256.hex())


def _distinct(values: Iterable[str], most: int, chars: int) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        text = value[:chars]
        if text.strip() and text not in seen:
            seen[text] = None
            if len(seen) >= most:
                break
    return tuple(seen)
