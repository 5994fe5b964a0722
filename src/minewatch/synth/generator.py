"""A mixed capture of ordinary traffic with a little mining of every variant in it.

Thousands of hosts browse over TLS, download over HTTP, resolve names and hold long idle
connections; a fraction of a percent of the packets is mining (Stratum V1, EthereumStratum,
EthProxy, XMRig, getwork over HTTP, Stratum V2 over Noise, stratum inside TLS). Addresses:
clients in 10.0.0.0/8, servers in the benchmarking range 198.18.0.0/15 (RFC 2544).
Deterministic for a given seed.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from minewatch.synth.packets import client_hello, dns_message, ipv4, tcp_frame, udp_frame, write_pcap

__all__ = ["GeneratorConfig", "GeneratorReport", "generate"]

Packet = tuple[float, bytes]
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
WEB_NAMES = ("www.example.com", "cdn.example.net", "mail.example.org", "video.example.com", "api.example.net")
POOL_NAMES = ("eu1.ethermine.org", "pool.supportxmr.com", "stratum.antpool.com", "xmr.2miners.com")
BULK = random.Random(7).randbytes(1 << 16)
MINING_VARIANTS = (
    "stratum-v1",
    "ethereum-stratum",
    "ethproxy",
    "xmrig",
    "getwork",
    "sv2-noise",
    "stratum-tls",
)


@dataclass(frozen=True)
class GeneratorConfig:
    target_bytes: int
    hosts: int = 2000
    duration_s: float = 600.0
    mining_hosts: int = 14
    seed: int = 1
    start_ts: float = 1_790_000_000.0


@dataclass(frozen=True)
class GeneratorReport:
    path: Path
    packets: int
    bytes: int
    flows: int
    mining_hosts: tuple[tuple[str, str], ...]


class TcpConv:
    """One TCP connection: builds frames with consistent sequence numbers."""

    def __init__(self, client: bytes, server: bytes, cport: int, sport: int, vlan: bool = False) -> None:
        self.c, self.s, self.cp, self.sp, self.vlan = client, server, cport, sport, vlan
        self.cseq, self.sseq = 1000, 5000

    def open(self, t: float) -> Iterator[Packet]:
        yield t, tcp_frame(self.c, self.s, self.cp, self.sp, self.cseq, 0, SYN, b"", self.vlan)
        yield (
            t + 0.0004,
            tcp_frame(self.s, self.c, self.sp, self.cp, self.sseq, self.cseq + 1, SYN | ACK, b"", self.vlan),
        )
        self.cseq += 1
        self.sseq += 1
        yield (
            t + 0.0008,
            tcp_frame(self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, ACK, b"", self.vlan),
        )

    def send(self, t: float, from_client: bool, data: bytes) -> Packet:
        if from_client:
            frame = tcp_frame(
                self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, PSH | ACK, data, self.vlan
            )
            self.cseq += len(data)
        else:
            frame = tcp_frame(
                self.s, self.c, self.sp, self.cp, self.sseq, self.cseq, PSH | ACK, data, self.vlan
            )
            self.sseq += len(data)
        return t, frame

    def close(self, t: float) -> Iterator[Packet]:
        yield t, tcp_frame(self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, FIN | ACK, b"", self.vlan)
        yield (
            t + 0.0005,
            tcp_frame(self.s, self.c, self.sp, self.cp, self.sseq, self.cseq + 1, FIN | ACK, b"", self.vlan),
        )


def _line(obj: object) -> bytes:
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def _hex(rng: random.Random, n: int) -> str:
    return rng.randbytes(n).hex()


def web_tls(rng: random.Random, t: float, client: bytes, server: bytes) -> Iterator[Packet]:
    conv = TcpConv(client, server, rng.randint(32768, 60999), 443, vlan=rng.random() < 0.1)
    yield from conv.open(t)
    t += 0.01
    yield conv.send(t, True, client_hello(rng.choice(WEB_NAMES)))
    yield conv.send(t + 0.02, False, b"\x16\x03\x03" + BULK[:1400])
    for i in range(int(rng.lognormvariate(2.5, 1.3)) + 1):
        t += rng.expovariate(400)
        yield conv.send(t, False, b"\x17\x03\x03" + BULK[i % 64 : i % 64 + 1445])
        if i % 2:
            yield (
                t + 0.0002,
                tcp_frame(client, server, conv.cp, 443, conv.cseq, conv.sseq, ACK, b"", conv.vlan),
            )
    yield from conv.close(t + 0.05)


def http_download(rng: random.Random, t: float, client: bytes, server: bytes) -> Iterator[Packet]:
    conv = TcpConv(client, server, rng.randint(32768, 60999), 80)
    yield from conv.open(t)
    yield conv.send(t + 0.002, True, b"GET /files/data.bin HTTP/1.1\r\nHost: downloads.example.org\r\n\r\n")
    segments = int(rng.lognormvariate(3.0, 1.2)) + 1
    yield conv.send(t + 0.01, False, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (segments * 1448))
    for i in range(segments):
        t += rng.expovariate(800)
        yield conv.send(t + 0.01, False, BULK[i % 512 : i % 512 + 1448])
    yield from conv.close(t + 0.05)


def dns_lookup(rng: random.Random, t: float, client: bytes, server: bytes) -> Iterator[Packet]:
    txid, port, name = rng.randint(0, 65535), rng.randint(32768, 60999), rng.choice(WEB_NAMES)
    yield t, udp_frame(client, server, port, 53, dns_message(txid, name, None))
    yield (
        t + 0.003,
        udp_frame(
            server, client, 53, port, dns_message(txid, name, bytes([198, 18, 1, rng.randint(1, 250)]))
        ),
    )


def idle_long(rng: random.Random, t: float, client: bytes, server: bytes, end: float) -> Iterator[Packet]:
    conv = TcpConv(client, server, rng.randint(32768, 60999), 5223)
    yield from conv.open(t)
    yield conv.send(t + 0.01, True, client_hello("push.example.com", b""))
    while t < end - 130:
        t += rng.uniform(60, 120)
        yield conv.send(t, True, b"\x17\x03\x03" + BULK[:40])
        yield conv.send(t + 0.05, False, b"\x17\x03\x03" + BULK[:40])


def mining(
    rng: random.Random, variant: str, t: float, client: bytes, server: bytes, end: float
) -> Iterator[Packet]:
    """One long mining session of `variant` from `t` to `end`."""
    if variant == "getwork":
        yield from _getwork(rng, t, client, server, end)
        return
    port = {
        "stratum-v1": 3333,
        "ethereum-stratum": 4444,
        "ethproxy": 8008,
        "xmrig": 3333,
        "sv2-noise": 34254,
    }.get(variant, 5555)
    conv = TcpConv(client, server, rng.randint(32768, 60999), port)
    yield from conv.open(t)
    t += 0.01
    for from_client, data in _stratum_opening(rng, variant):
        t += 0.002
        yield conv.send(t, from_client, data)
    next_job, msg_id = t + 30, 10
    while t < end:
        t += rng.expovariate(1 / 8)
        if t >= next_job:
            next_job += 30
            yield conv.send(t, False, _job(rng, variant))
        msg_id += 1
        submit, answer = _share(rng, variant, msg_id)
        yield conv.send(t, True, submit)
        yield conv.send(t + 0.03, False, answer)
    yield from conv.close(t + 1)


def _stratum_opening(rng: random.Random, variant: str) -> list[tuple[bool, bytes]]:
    if variant == "stratum-v1":
        return [
            (True, _line({"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.12.0"]})),
            (False, _line({"id": 1, "result": [[["mining.notify", "ae68"]], "08000002", 4], "error": None})),
            (True, _line({"id": 2, "method": "mining.authorize", "params": ["synthetic.worker1", "x"]})),
            (False, _line({"id": 2, "result": True, "error": None})),
            (False, _line({"id": None, "method": "mining.set_difficulty", "params": [65536]})),
            (False, _job(rng, variant)),
        ]
    if variant == "ethereum-stratum":
        return [
            (
                True,
                _line(
                    {
                        "id": 1,
                        "method": "mining.subscribe",
                        "params": ["ethminer/0.19.0", "EthereumStratum/1.0.0"],
                    }
                ),
            ),
            (
                False,
                _line(
                    {
                        "id": 1,
                        "result": [["mining.notify", "ae68", "EthereumStratum/1.0.0"], "080c"],
                        "error": None,
                    }
                ),
            ),
            (True, _line({"id": 3, "method": "mining.authorize", "params": ["0xsynthetic.rig", "x"]})),
            (False, _line({"id": 3, "result": True, "error": None})),
            (False, _line({"id": None, "method": "mining.set_difficulty", "params": [2.0]})),
            (False, _job(rng, variant)),
        ]
    if variant == "ethproxy":
        login = {"id": 1, "jsonrpc": "2.0", "method": "eth_submitLogin", "params": ["0x" + "ab" * 20]}
        return [
            (True, _line(login)),
            (False, _line({"id": 1, "jsonrpc": "2.0", "result": True})),
            (False, _job(rng, variant)),
        ]
    if variant == "xmrig":
        params = {
            "login": "4" + "A" * 94,
            "pass": "x",
            "agent": "XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0",
            "algo": ["rx/0"],
        }
        job = {
            "blob": _hex(rng, 76),
            "job_id": "1",
            "target": "b88d0600",
            "seed_hash": _hex(rng, 32),
            "algo": "rx/0",
        }
        return [
            (True, _line({"id": 1, "jsonrpc": "2.0", "method": "login", "params": params})),
            (
                False,
                _line(
                    {
                        "id": 1,
                        "jsonrpc": "2.0",
                        "error": None,
                        "result": {"id": "r1", "job": job, "status": "OK"},
                    }
                ),
            ),
        ]
    if variant == "sv2-noise":
        return [(True, rng.randbytes(64)), (False, rng.randbytes(234))]
    return [(True, client_hello(rng.choice(POOL_NAMES), b"")), (False, b"\x16\x03\x03" + BULK[:1200])]


def _job(rng: random.Random, variant: str) -> bytes:
    job_id = _hex(rng, 4)
    if variant == "stratum-v1":
        params = [
            job_id,
            _hex(rng, 32),
            _hex(rng, 60),
            _hex(rng, 40),
            [_hex(rng, 32)],
            "20000000",
            "1703a30c",
            "5f5e1000",
            True,
        ]
        return _line({"id": None, "method": "mining.notify", "params": params})
    if variant == "ethereum-stratum":
        return _line(
            {"id": None, "method": "mining.notify", "params": [job_id, _hex(rng, 32), _hex(rng, 32), True]}
        )
    if variant == "ethproxy":
        work = [
            "0x" + _hex(rng, 32),
            "0x" + _hex(rng, 32),
            "0x00000000dbe6fecebdedd5beb573440e5a884d1b2fbf06fcce912adcb8d8422e",
        ]
        return _line({"id": 0, "jsonrpc": "2.0", "result": work})
    if variant == "xmrig":
        job = {
            "blob": _hex(rng, 76),
            "job_id": job_id,
            "target": "b88d0600",
            "seed_hash": _hex(rng, 32),
            "algo": "rx/0",
        }
        return _line({"jsonrpc": "2.0", "method": "job", "params": job})
    return b"\x17\x03\x03" + rng.randbytes(rng.randint(200, 400))


def _share(rng: random.Random, variant: str, msg_id: int) -> tuple[bytes, bytes]:
    if variant == "stratum-v1":
        params = ["synthetic.worker1", "job", _hex(rng, 4), "5f5e1000", _hex(rng, 4)]
        return _line({"id": msg_id, "method": "mining.submit", "params": params}), _line(
            {"id": msg_id, "result": True, "error": None}
        )
    if variant == "ethereum-stratum":
        return _line(
            {"id": msg_id, "method": "mining.submit", "params": ["0xsynthetic.rig", "job", _hex(rng, 6)]}
        ), _line({"id": msg_id, "result": True, "error": None})
    if variant == "ethproxy":
        params = ["0x" + _hex(rng, 8), "0x" + _hex(rng, 32), "0x" + _hex(rng, 32)]
        return _line({"id": msg_id, "jsonrpc": "2.0", "method": "eth_submitWork", "params": params}), _line(
            {"id": msg_id, "jsonrpc": "2.0", "result": True}
        )
    if variant == "xmrig":
        share = {"id": "r1", "job_id": "1", "nonce": _hex(rng, 4), "result": _hex(rng, 32), "algo": "rx/0"}
        return _line({"id": msg_id, "jsonrpc": "2.0", "method": "submit", "params": share}), _line(
            {"id": msg_id, "jsonrpc": "2.0", "error": None, "result": {"status": "OK"}}
        )
    if variant == "sv2-noise":
        return rng.randbytes(62), rng.randbytes(46)
    return b"\x17\x03\x03" + rng.randbytes(180), b"\x17\x03\x03" + rng.randbytes(60)


def _getwork(rng: random.Random, t: float, client: bytes, server: bytes, end: float) -> Iterator[Packet]:
    """ethminer-style getwork polling: a new HTTP/1.0 connection every few seconds."""
    body = _line({"id": 1, "jsonrpc": "2.0", "method": "eth_getWork", "params": []}).strip()
    while t < end:
        conv = TcpConv(client, server, rng.randint(32768, 60999), 8545)
        yield from conv.open(t)
        head = b"POST / HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        yield conv.send(t + 0.002, True, head + body)
        work = [
            "0x" + _hex(rng, 32),
            "0x" + _hex(rng, 32),
            "0x00000000dbe6fecebdedd5beb573440e5a884d1b2fbf06fcce912adcb8d8422e",
        ]
        reply = _line({"id": 1, "jsonrpc": "2.0", "result": work}).strip()
        yield conv.send(
            t + 0.01,
            False,
            b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(reply)
            + reply,
        )
        yield from conv.close(t + 0.012)
        t += rng.uniform(2, 6)


def _flows(cfg: GeneratorConfig, rng: random.Random) -> tuple[list[Iterator[Packet]], list[tuple[str, str]]]:
    start, end = cfg.start_ts, cfg.start_ts + cfg.duration_s
    clients = [f"10.{1 + i // 65000}.{(i // 250) % 250}.{1 + i % 250}" for i in range(cfg.hosts)]
    flows: list[Iterator[Packet]] = []
    miners = []
    for i in range(cfg.mining_hosts):
        variant = MINING_VARIANTS[i % len(MINING_VARIANTS)]
        host = clients[-1 - i]
        miners.append((host, variant))
        flows.append(
            mining(rng, variant, start + rng.uniform(0, 5), ipv4(host), ipv4(f"198.19.0.{10 + i}"), end)
        )
    budget = cfg.target_bytes
    per_flow = {"web": 60_000, "http": 40_000, "dns": 200, "idle": 600}
    kinds, weights = ("web", "http", "dns", "idle"), (0.45, 0.1, 0.42, 0.03)
    while budget > 0:
        kind = rng.choices(kinds, weights)[0]
        c = ipv4(rng.choice(clients))
        s = ipv4(f"198.18.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
        t = rng.uniform(start, end - 1)
        if kind == "web":
            flows.append(web_tls(rng, t, c, s))
        elif kind == "http":
            flows.append(http_download(rng, t, c, s))
        elif kind == "dns":
            flows.append(dns_lookup(rng, t, c, ipv4("198.18.0.53")))
        else:
            flows.append(idle_long(rng, t, c, s, end))
        budget -= per_flow[kind]
    return flows, miners


def generate(path: Path, cfg: GeneratorConfig) -> GeneratorReport:
    """Write a pcap of about `cfg.target_bytes` to `path`."""
    rng = random.Random(cfg.seed)
    flows, miners = _flows(cfg, rng)
    with path.open("wb") as out:
        packets, written = write_pcap(out, heapq.merge(*flows, key=lambda p: p[0]))
    return GeneratorReport(path, packets, written, len(flows), tuple(miners))
