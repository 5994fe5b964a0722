"""A user-space link emulator between two TUN devices in two namespaces: delay, jitter and loss.

The kernel this corpus is made on has no sch_netem (and no module loading), so `tc netem` is not
available. This does netem's job for the few packets a second a miner sends: each IP packet read
from one side is written to the other after rtt/2 plus normal jitter (sigma jitter/2), or dropped
with probability loss. Unlike netem with jitter it keeps each direction in order (a release time
never precedes the previous one), as real paths mostly do.

    python -m corpus.mining_link NS_A:TUN_A NS_B:TUN_B --rtt-ms 40 --jitter-ms 10 --loss-pct 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import fcntl
import os
import random
import signal
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Shaping", "main", "open_tun"]

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
MAX_PACKET = 65536


@dataclass(frozen=True)
class Shaping:
    rtt_ms: float
    jitter_ms: float
    loss_pct: float

    def delay_s(self, rng: random.Random) -> float:
        """One direction's delay for one packet, in seconds."""
        d = self.rtt_ms / 2
        if self.jitter_ms:
            d = rng.gauss(d, self.jitter_ms / 2)
        return max(0.0, d) / 1000


def _setns(ns: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(Path("/run/netns") / ns, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


def open_tun(ns: str, name: str) -> int:
    """Attach to the (persistent) TUN device `name` of namespace `ns`; a non-blocking fd of raw IP packets."""
    _setns(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class _Direction:
    def __init__(self, src: int, dst: int, shaping: Shaping, rng: random.Random) -> None:
        self.src, self.dst, self.shaping, self.rng = src, dst, shaping, rng
        self.last_release = 0.0

    def on_readable(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                packet = os.read(self.src, MAX_PACKET)
            except BlockingIOError:
                return
            if self.rng.random() * 100 < self.shaping.loss_pct:
                continue
            release = max(loop.time() + self.shaping.delay_s(self.rng), self.last_release)
            self.last_release = release
            loop.call_at(release, self._write, packet)

    def _write(self, packet: bytes) -> None:
        # the other side went down: the packet is lost, as on a real link
        with contextlib.suppress(OSError):
            os.write(self.dst, packet)


async def _serve(a: int, b: int, shaping: Shaping) -> None:
    loop = asyncio.get_running_loop()
    rng = random.Random()
    for src, dst in ((a, b), (b, a)):
        loop.add_reader(src, _Direction(src, dst, shaping, rng).on_readable)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await stop.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m corpus.mining_link", description=__doc__.splitlines()[0])
    p.add_argument("a", help="NS:TUN")
    p.add_argument("b", help="NS:TUN")
    p.add_argument("--rtt-ms", type=float, default=0.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--loss-pct", type=float, default=0.0)
    args = p.parse_args(argv)
    fds = [open_tun(*side.split(":", 1)) for side in (args.a, args.b)]
    asyncio.run(_serve(fds[0], fds[1], Shaping(args.rtt_ms, args.jitter_ms, args.loss_pct)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
