"""Real APKs built in the test: the manifest and string resources compiled to binary AXML
and resources.arsc by Debian's aapt (against android-framework-res), a classes.dex written
here with its string table, native libraries as minimal ELF files carrying strings, and
the whole signed v1+v2+v3 by Debian's apksigner with a key made by keytool. scripts/setup
installs aapt, apksigner, android-framework-res and Java."""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["FRAMEWORK", "AppSpec", "Signer", "build_apk", "dex_file", "elf_file", "missing_tools"]

FRAMEWORK = Path("/usr/share/android-framework-res/framework-res.apk")
_TOOLS = {"aapt": "aapt", "apksigner": "apksigner", "keytool": "openjdk-17-jre-headless"}


def missing_tools() -> str | None:
    """Why APKs cannot be built here (a tool scripts/setup installs is missing), or None."""
    for tool, package in _TOOLS.items():
        if shutil.which(tool) is None:
            return f"{tool} missing (Debian package {package}, installed by scripts/setup)"
    if not FRAMEWORK.is_file():
        return f"{FRAMEWORK} missing (Debian package android-framework-res, installed by scripts/setup)"
    return None


@dataclass(frozen=True)
class AppSpec:
    package: str
    label: str
    shown: tuple[str, ...] = ()  # string resources: what the app shows
    code: tuple[str, ...] = ()  # strings of classes.dex
    libs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lib/arm64-v8a/NAME -> strings
    permissions: tuple[str, ...] = ("android.permission.INTERNET",)


def _res_string(text: str) -> str:
    """aapt's string escapes: quote marks and a leading @ or ? mean something to it."""
    text = escape(text).replace("'", "\\'").replace('"', '\\"')
    return "\\" + text if text[:1] in ("@", "?") else text


def _manifest(spec: AppSpec) -> str:
    perms = "".join(f'<uses-permission android:name="{p}"/>' for p in spec.permissions)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android"'
        f' package="{spec.package}" android:versionCode="7" android:versionName="2.1.0">'
        '<uses-sdk android:minSdkVersion="21" android:targetSdkVersion="29"/>'
        f'{perms}<application android:label="@string/app_name"/></manifest>'
    )


def _strings_xml(spec: AppSpec) -> str:
    rows = [f'<string name="app_name">{_res_string(spec.label)}</string>']
    rows += [f'<string name="s{i}">{_res_string(t)}</string>' for i, t in enumerate(spec.shown)]
    return '<?xml version="1.0" encoding="utf-8"?>\n<resources>' + "".join(rows) + "</resources>"


def _uleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def dex_file(strings: tuple[str, ...]) -> bytes:
    """A valid dex 035 file whose only content is `strings`: header, string_ids (sorted, as
    the format asks), string_data (ULEB128 UTF-16 length, MUTF-8 bytes, NUL) and map_list,
    with its Adler-32 checksum and SHA-1 signature."""
    ordered = sorted(set(strings), key=lambda s: s.encode("utf-16-be"))
    n, header = len(ordered), 0x70
    data_off = header + 4 * n
    offsets, blob = [], bytearray()
    for text in ordered:
        offsets.append(data_off + len(blob))
        blob += _uleb128(len(text.encode("utf-16-le")) // 2) + text.encode("utf-8") + b"\x00"
    blob += b"\x00" * (-len(blob) % 4)
    map_off = data_off + len(blob)
    items = [(0x0000, 1, 0), (0x0001, n, header), (0x2002, n, data_off), (0x1000, 1, map_off)]
    maps = struct.pack("<I", len(items)) + b"".join(struct.pack("<HHII", t, 0, c, o) for t, c, o in items)
    size = map_off + len(maps)
    head = bytearray(header)
    head[0:8] = b"dex\n035\x00"
    struct.pack_into("<III", head, 0x20, size, header, 0x12345678)
    struct.pack_into("<I", head, 0x34, map_off)
    struct.pack_into("<II", head, 0x38, n, header if n else 0)
    struct.pack_into("<II", head, 0x68, size - data_off, data_off)
    body = head + b"".join(struct.pack("<I", o) for o in offsets) + blob + maps
    body[12:32] = hashlib.sha1(body[32:]).digest()
    body[8:12] = struct.pack("<I", zlib.adler32(bytes(body[12:])))
    return bytes(body)


def elf_file(strings: tuple[str, ...]) -> bytes:
    """A minimal AArch64 ELF shared object: the 64-byte header, then the strings as data
    (no sections needed for a reader that scans printable runs)."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, version 1
    header = ident + struct.pack("<HHIQQQIHHHHHH", 3, 183, 1, 0, 0, 0, 0, 64, 56, 0, 64, 0, 0)
    return header + b"\x00".join(s.encode() for s in strings) + b"\x00"


class Signer:
    """One RSA key (keytool) for every APK of a test session; signs with apksigner."""

    def __init__(self, folder: Path) -> None:
        self.keystore = folder / "test.jks"
        subprocess.run(
            ["keytool", "-genkeypair", "-keystore", str(self.keystore), "-storepass", "minewatch",
             "-keypass", "minewatch", "-alias", "app", "-keyalg", "RSA", "-keysize", "2048",
             "-validity", "3650", "-dname", "CN=Minewatch Test, O=minewatch, C=CN"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def sign(self, unsigned: Path, out: Path) -> None:
        subprocess.run(
            ["apksigner", "sign", "--ks", str(self.keystore), "--ks-pass", "pass:minewatch",
             "--ks-key-alias", "app", "--v1-signing-enabled", "true", "--v2-signing-enabled", "true",
             "--v3-signing-enabled", "true", "--out", str(out), str(unsigned)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def build_apk(spec: AppSpec, folder: Path, name: str, signer: Signer) -> Path:
    """`spec` as a signed APK `folder`/`name`.apk."""
    work = folder / f"{name}.src"
    (work / "res" / "values").mkdir(parents=True)
    (work / "AndroidManifest.xml").write_text(_manifest(spec), encoding="utf-8")
    (work / "res" / "values" / "strings.xml").write_text(_strings_xml(spec), encoding="utf-8")
    unsigned = folder / f"{name}.unsigned.apk"
    subprocess.run(
        ["aapt", "package", "-f", "-M", str(work / "AndroidManifest.xml"), "-S", str(work / "res"),
         "-I", str(FRAMEWORK), "-F", str(unsigned)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with zipfile.ZipFile(unsigned, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("classes.dex", dex_file(spec.code))
        for lib, strings in spec.libs.items():
            z.writestr(f"lib/arm64-v8a/{lib}", elf_file(strings))
    out = folder / f"{name}.apk"
    signer.sign(unsigned, out)
    return out
