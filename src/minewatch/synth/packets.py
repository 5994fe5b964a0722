"""Byte builders for the generator: Ethernet/IPv4/TCP/UDP frames, TLS ClientHello, DNS."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import BinaryIO

__all__ = ["client_hello", "dns_message", "ipv4", "tcp_frame", "udp_frame", "write_pcap"]

ETH_IPV4 = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
ETH_VLAN_IPV4 = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x81\x00\x00\x64\x08\x00"


def ipv4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def _ip_header(src: bytes, dst: bytes, proto: int, payload_len: int) -> bytes:
    # Checksums are left zero: capture readers and flow engines do not verify them.
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0, 0x4000, 64, proto, 0, src, dst)


def tcp_frame(
    src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes, vlan: bool
) -> bytes:
    tcp = struct.pack(
        "!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, 65535, 0, 0
    )
    eth = ETH_VLAN_IPV4 if vlan else ETH_IPV4
    return eth + _ip_header(src, dst, 6, len(tcp) + len(payload)) + tcp + payload


def udp_frame(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    return ETH_IPV4 + _ip_header(src, dst, 17, 8 + len(payload)) + udp + payload


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def client_hello(sni: str | None, alpn: bytes = b"h2") -> bytes:
    """A TLS 1.3 ClientHello record (RFC 8446) with the usual browser extensions."""
    exts = b""
    if sni:
        name = sni.encode()
        exts += _ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)
    exts += _ext(10, b"\x00\x06\x00\x1d\x00\x17\x00\x18")
    exts += _ext(11, b"\x01\x00")
    exts += _ext(13, b"\x00\x08\x04\x03\x08\x04\x04\x01\x05\x01")
    if alpn:
        exts += _ext(16, struct.pack("!HB", len(alpn) + 1, len(alpn)) + alpn)
    exts += _ext(43, b"\x04\x03\x04\x03\x03")
    exts += _ext(51, b"\x00\x26\x00\x1d\x00\x20" + bytes(32))
    ciphers = b"\x13\x01\x13\x02\x13\x03\xc0\x2b\xc0\x2f\xc0\x2c\xc0\x30"
    body = (
        b"\x03\x03"
        + bytes(32)
        + b"\x20"
        + bytes(32)
        + struct.pack("!H", len(ciphers))
        + ciphers
        + b"\x01\x00"
    )
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def dns_message(txid: int, name: str, answer: bytes | None) -> bytes:
    """A DNS query (answer None) or a response with one A record."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    flags, ancount = (0x8180, 1) if answer else (0x0100, 0)
    msg = struct.pack("!HHHHHH", txid, flags, 1, ancount, 0, 0) + qname + b"\x00\x01\x00\x01"
    if answer:
        msg += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + answer
    return msg


def write_pcap(out: BinaryIO, packets: Iterable[tuple[float, bytes]]) -> tuple[int, int]:
    """Write (timestamp in s, Ethernet frame) pairs as a classic microsecond pcap;
    returns (packets, bytes written)."""
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    packets_written, written = 0, 24
    for ts, frame in packets:
        sec = int(ts)
        out.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(frame), len(frame)))
        out.write(frame)
        packets_written += 1
        written += 16 + len(frame)
    return packets_written, written
