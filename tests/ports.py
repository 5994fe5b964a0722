"""A free port on loopback for a server a test starts (TCP, or UDP for flow exports)."""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port(udp: bool = False) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
