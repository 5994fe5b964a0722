"""The typed values of the benign corpus: settings (from data/settings.toml), a cell's server
context, one client session's context, and the manifest."""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import tomllib
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

__all__ = ["Capture", "Cell", "Manifest", "Pattern", "Session", "Setting", "load_settings"]

DATA = Path(__file__).with_name("data")


class Pattern(StrEnum):
    """When a session sends its application messages."""

    PERIODIC = "periodic"  # every mean_s, +-10%
    POISSON = "poisson"  # exponential gaps of mean mean_s
    BURSTS = "bursts"  # Poisson bursts of 3-20 messages 50-300 ms apart
    IDLE = "idle"  # nothing but the protocol's own keepalives


@dataclass(frozen=True)
class Setting:
    program: str
    name: str
    tls: bool
    pattern: Pattern
    mean_s: float
    keepalive_s: tuple[float, float]
    role: str
    slots: int  # concurrent sessions of this setting in one cell at scale full


def load_settings(path: Path = DATA / "settings.toml") -> list[Setting]:
    """Every (program, setting) of the corpus, in file order."""
    raw = tomllib.loads(path.read_text())
    return [
        Setting(
            program=s["program"],
            name=s["name"],
            tls=bool(s["tls"]),
            pattern=Pattern(s["pattern"]),
            mean_s=float(s.get("mean_s", 0)),
            keepalive_s=(float(s["keepalive_s"][0]), float(s["keepalive_s"][1])),
            role=s.get("role", ""),
            slots=int(s["slots"]),
        )
        for s in raw["setting"]
    ]


@dataclass(frozen=True)
class Cell:
    """What a program's server needs: its folder, address, certificate and the setting."""

    dir: Path
    ip: str
    host: str
    port: int
    setting: Setting
    cert: Path
    key: Path
    ca: Path
    slots: int


@dataclass(frozen=True)
class Session:
    """One client connection's life: where to, how, for how long, with which random stream."""

    host: str
    port: int
    setting: Setting
    ca: Path
    dir: Path
    slot: int
    index: int
    duration: float
    rng: random.Random

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def keepalive(self) -> float:
        lo, hi = self.setting.keepalive_s
        return self.rng.uniform(lo, hi)

    def gaps(self) -> list[float]:
        """Seconds between this session's application messages, within its duration."""
        s, out, t = self.setting, [], 0.0
        while s.pattern is not Pattern.IDLE:
            if s.pattern is Pattern.PERIODIC:
                gap = s.mean_s * self.rng.uniform(0.9, 1.1)
                burst = 1
            else:
                gap = self.rng.expovariate(1 / s.mean_s)
                burst = self.rng.randint(3, 20) if s.pattern is Pattern.BURSTS else 1
            t += gap
            if t >= self.duration - 2:
                break
            out.append(gap)
            for _ in range(burst - 1):
                g = self.rng.uniform(0.05, 0.3)
                t += g
                out.append(g)
        return out

    async def ticks(self) -> AsyncIterator[int]:
        """Yields once per application message at its time, then sleeps out the session. A
        caller that takes time per message (typing a command) delays the later ones, but the
        session still ends on time."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.duration
        for i, gap in enumerate(self.gaps()):
            if loop.time() + gap >= end - 2:
                break
            await asyncio.sleep(gap)
            yield i
        await asyncio.sleep(max(0.0, end - loop.time()))

    def text(self, lo: int = 8, hi: int = 200) -> str:
        """A random printable message of lo..hi characters."""
        words = ["ok", "temp", "status", "hello", "ping", "update", "value", "sensor", "room", "note"]
        out = ""
        target = self.rng.randint(lo, hi)
        while len(out) < target:
            out += self.rng.choice(words) + " "
        return out[:target]


@dataclass(frozen=True)
class Capture:
    file: str
    program: str
    setting: str
    transport: str  # "plain" | "tls"
    netem: str
    server_ip: str
    server_port: int
    sni: str | None
    sessions: int
    seconds: float
    long_sessions: int = 0  # sessions the client held for >= 70 s
    errors: int = 0


@dataclass
class Manifest:
    command: str
    captures: list[Capture] = field(default_factory=list)
    version: int = 1
    kind: str = "benign"

    def write(self, path: Path) -> None:
        """Atomically: a reader never sees half a manifest, even while a run goes on."""
        doc = {"version": self.version, "kind": self.kind, "command": self.command}
        doc["captures"] = [asdict(c) for c in self.captures]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        tmp.replace(path)

    @staticmethod
    def read(path: Path) -> Manifest:
        doc = json.loads(path.read_text())
        return Manifest(command=doc["command"], captures=[Capture(**c) for c in doc["captures"]])
