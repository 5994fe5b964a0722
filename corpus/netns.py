"""A private network for one capture: a server namespace and client namespaces on veth pairs.

Clients (10.98.CELL.10+j) sit on a bridge in a router namespace, joined by veth pairs; the
server (10.99.CELL.1) is joined to the router by one veth pair, on which tcpdump captures.
These addresses exist only inside these namespaces and no route leads anywhere else, so
nothing the programs send can leave the machine. The router passes every packet through
`corpus.delay` (this kernel has no netem qdisc), so both directions see the profile's delay,
jitter, loss and reordering.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NETEM", "Netem", "Topology", "topology"]


@dataclass(frozen=True)
class Netem:
    """A link profile, applied to each direction (so the round trip is twice `delay_ms`)."""

    name: str
    delay_ms: float
    jitter_ms: float
    loss_pct: float
    reorder_pct: float = 0.0


NETEM: dict[str, Netem] = {
    n.name: n
    for n in (
        Netem("lan", 0.5, 0.1, 0.0),
        Netem("wan", 20.0, 5.0, 0.1),
        Netem("mobile", 60.0, 20.0, 1.0, reorder_pct=0.5),
    )
}


def _run(args: Sequence[str]) -> None:
    subprocess.run(list(args), check=True, capture_output=True)


def _quiet(args: Sequence[str]) -> None:
    subprocess.run(list(args), check=False, capture_output=True)


@dataclass(frozen=True)
class Topology:
    """Names and addresses of one cell: server 10.99.CELL.1, clients 10.98.CELL.10+j, and a
    router namespace between them whose TUN device carries the link emulation."""

    cell: int
    tag: str
    clients: int

    @property
    def server_ns(self) -> str:
        return f"mwc{self.tag}s{self.cell}"

    @property
    def router_ns(self) -> str:
        return f"mwc{self.tag}r{self.cell}"

    def client_ns(self, j: int) -> str:
        return f"mwc{self.tag}c{self.cell}x{j}"

    @property
    def server_ip(self) -> str:
        return f"10.99.{self.cell}.1"

    def client_ip(self, j: int) -> str:
        return f"10.98.{self.cell}.{10 + j}"

    @property
    def capture_dev(self) -> str:
        """The server's only interface: tcpdump here sees every packet of the cell once."""
        return "eth0"

    def in_server(self, args: Sequence[str]) -> list[str]:
        """A command line that runs ARGS in the server namespace."""
        return ["ip", "netns", "exec", self.server_ns, *args]

    def in_client(self, j: int, args: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.client_ns(j), *args]

    def namespaces(self) -> list[str]:
        return [self.server_ns, self.router_ns, *(self.client_ns(j) for j in range(self.clients))]


def _no_offload(ns: str, dev: str) -> None:
    # Without this the kernel hands tcpdump 60 KB "segments" that no real link carries; the
    # engine's burst sizes come from TCP lengths, so segments must be what a NIC would send.
    if shutil.which("ethtool"):
        _quiet(["ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off"])


def _sysctl(ns: str, *settings: str) -> None:
    for kv in settings:
        _run(["ip", "netns", "exec", ns, "sysctl", "-qw", kv])


def _router(t: Topology) -> None:
    r = t.router_ns
    _run(["ip", "netns", "add", r])
    _run(["ip", "-n", r, "link", "set", "lo", "up"])
    _run(["ip", "-n", r, "link", "add", "brc", "type", "bridge"])
    _run(["ip", "-n", r, "addr", "add", f"10.98.{t.cell}.1/24", "dev", "brc"])
    _run(["ip", "-n", r, "link", "set", "brc", "up"])
    _run(["ip", "-n", r, "tuntap", "add", "dev", "tun0", "mode", "tun"])
    _run(["ip", "-n", r, "link", "set", "tun0", "up"])
    _sysctl(r, "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
    _sysctl(r, "net.ipv4.conf.tun0.rp_filter=0")
    # Packets from either side go to the TUN device (table 200); what the emulator writes
    # back comes in on tun0 and takes the main table, which delivers it.
    _run(["ip", "-n", r, "route", "add", "default", "dev", "tun0", "table", "200"])
    for dev in ("brc", "srv"):
        _run(["ip", "-n", r, "rule", "add", "iif", dev, "table", "200", "priority", "100"])


def _build(t: Topology, names: Sequence[str]) -> None:
    _router(t)
    s, r = t.server_ns, t.router_ns
    _run(["ip", "netns", "add", s])
    _run(["ip", "-n", s, "link", "set", "lo", "up"])
    _run(["ip", "-n", r, "link", "add", "srv", "type", "veth", "peer", "name", t.capture_dev, "netns", s])
    _run(["ip", "-n", r, "addr", "add", f"10.99.{t.cell}.2/24", "dev", "srv"])
    _run(["ip", "-n", r, "link", "set", "srv", "up"])
    _run(["ip", "-n", s, "addr", "add", f"{t.server_ip}/24", "dev", t.capture_dev])
    _run(["ip", "-n", s, "link", "set", t.capture_dev, "up"])
    _run(["ip", "-n", s, "route", "add", f"10.98.{t.cell}.0/24", "via", f"10.99.{t.cell}.2"])
    _no_offload(s, t.capture_dev)
    _no_offload(r, "srv")
    for j in range(t.clients):
        c = t.client_ns(j)
        _run(["ip", "netns", "add", c])
        host_file = Path("/etc/netns") / c / "hosts"
        host_file.parent.mkdir(parents=True, exist_ok=True)
        lines = ["127.0.0.1 localhost", *(f"{t.server_ip} {name}" for name in names)]
        host_file.write_text("\n".join(lines) + "\n")
        _run(["ip", "-n", r, "link", "add", f"c{j}", "type", "veth", "peer", "name", "eth0", "netns", c])
        _run(["ip", "-n", r, "link", "set", f"c{j}", "master", "brc", "up"])
        _run(["ip", "-n", c, "link", "set", "lo", "up"])
        _run(["ip", "-n", c, "addr", "add", f"{t.client_ip(j)}/24", "dev", "eth0"])
        _run(["ip", "-n", c, "link", "set", "eth0", "up"])
        _run(["ip", "-n", c, "route", "add", f"10.99.{t.cell}.0/24", "via", f"10.98.{t.cell}.1"])
        _no_offload(r, f"c{j}")
        _no_offload(c, "eth0")


def destroy(t: Topology) -> None:
    """Kill every process left in the namespaces and delete them; safe to call twice."""
    for ns in t.namespaces():
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        _quiet(["ip", "netns", "del", ns])
        shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)


@contextlib.contextmanager
def topology(
    cell: int, profile: Netem, *, clients: int = 2, names: Sequence[str] = (), tag: str = "", seed: int = 0
) -> Iterator[Topology]:
    """The namespaces of one cell, removed on exit (also after an error or Ctrl-C).

    `names` resolve to the server address in the clients' /etc/hosts (`ip netns exec` mounts
    /etc/netns/NS/hosts over it), so clients connect by name and send SNI."""
    if not 1 <= cell <= 254:
        raise ValueError(f"cell {cell} outside 1..254")
    t = Topology(cell=cell, tag=tag or str(os.getpid() % 100000), clients=clients)
    emulator: subprocess.Popen[bytes] | None = None
    try:
        _build(t, names)
        emulator = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                t.router_ns,
                sys.executable,
                "-m",
                "corpus.delay",
                "--profile",
                profile.name,
                "--seed",
                str(seed),
            ],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        yield t
    finally:
        if emulator is not None:
            emulator.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                emulator.wait(5)
        destroy(t)
