"""The link emulator of a cell: delay, jitter, loss and reordering on a TUN device.

This machine's kernel has no netem qdisc, so the router namespace between clients and server
routes every packet through a TUN device; this process holds each packet for the profile's
one-way delay (normal jitter) and writes it back, and the kernel forwards it on. Run inside
the router namespace: `python -m corpus.delay --dev tun0 --profile wan --seed 1`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import random
import signal
import struct

from corpus.netns import NETEM, Netem

_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000


def open_tun(name: str) -> int:
    """A file descriptor on the (already created) TUN device NAME."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), _IFF_TUN | _IFF_NO_PI))
    return fd


class Link:
    """Per-direction FIFO queues: jitter varies the delay but keeps order unless `reorder` draws."""

    def __init__(self, fd: int, profile: Netem, rng: random.Random) -> None:
        self.fd, self.p, self.rng = fd, profile, rng
        self.last: dict[bytes, float] = {}
        self.loop = asyncio.get_running_loop()

    def on_readable(self) -> None:
        for _ in range(256):
            try:
                pkt = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            self.handle(pkt)

    def handle(self, pkt: bytes) -> None:
        if len(pkt) < 20 or self.rng.random() * 100 < self.p.loss_pct:
            return
        delay = max(0.0, self.rng.gauss(self.p.delay_ms, self.p.jitter_ms)) / 1000
        due = self.loop.time() + delay
        direction = pkt[16:20]  # destination address: one queue per direction
        if self.rng.random() * 100 >= self.p.reorder_pct:
            due = max(due, self.last.get(direction, 0.0))
            self.last[direction] = due
        self.loop.call_at(due, self.send, pkt)

    def send(self, pkt: bytes) -> None:
        with contextlib.suppress(OSError):  # the device went away: the cell is ending
            os.write(self.fd, pkt)


async def run(dev: str, profile: Netem, seed: int) -> None:
    fd = open_tun(dev)
    link = Link(fd, profile, random.Random(seed))
    loop = asyncio.get_running_loop()
    loop.add_reader(fd, link.on_readable)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", default="tun0")
    ap.add_argument("--profile", choices=sorted(NETEM), required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    asyncio.run(run(a.dev, NETEM[a.profile], a.seed))


if __name__ == "__main__":
    main()
