"""`minewatch probe HOST:PORT...`, and the options `--confirm` adds to scan, collect and
detect: who may be probed, how hard, and where results are cached."""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from minewatch.errors import OptionError
from minewatch.options import (
    PROBE_CONCURRENCY,
    PROBE_INTERVAL,
    PROBE_MAX,
    PROBE_RATE,
    PROBE_TIMEOUT,
    PROBE_TTL,
)
from minewatch.probe import (
    CACHE_FILE,
    Bounds,
    Confirmer,
    LimitSettings,
    Policy,
    ProbeCache,
    Prober,
    ProbeResult,
    Rejection,
    Target,
    Verdict,
    parse_exclusions,
)

__all__ = [
    "ConfirmOption",
    "ProbeCacheOption",
    "ProbeExcludeOption",
    "ProbeMaxOption",
    "ProbePrivateOption",
    "ProbeRateOption",
    "ProbeSettings",
    "register",
]

ConfirmOption = Annotated[
    bool,
    typer.Option(
        "--confirm",
        help="Probe the pools of mining findings no dissector saw: a pool adds evidence, a "
        "behaviour-only finding whose pools all answer as non-pools is rejected (stderr).",
    ),
]
ProbePrivateOption = Annotated[
    bool, typer.Option("--probe-private", help="Also probe private, loopback and reserved addresses.")
]
ProbeExcludeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--probe-exclude", help="Never probe this network, or the networks in this file (repeatable)."
    ),
]
ProbeCacheOption = Annotated[
    Path | None,
    typer.Option("--probe-cache", help="Probe results kept here (default: the store's, else memory)."),
]
ProbeRateOption = Annotated[float, PROBE_RATE.flag()]
ProbeMaxOption = Annotated[int, PROBE_MAX.flag()]


@dataclass(frozen=True)
class ProbeSettings:
    """What the probe options asked for; `prober()` builds the prober."""

    private: bool = False
    exclude: tuple[str, ...] = ()
    cache: Path | None = None
    rate: float = PROBE_RATE.default
    concurrency: int = PROBE_CONCURRENCY.default
    interval_s: float = PROBE_INTERVAL.default
    timeout_s: float = PROBE_TIMEOUT.default
    ttl_s: float = PROBE_TTL.default
    max_targets: int = PROBE_MAX.default

    def prober(self, store: Path | None = None) -> Prober:
        path = self.cache or (store / CACHE_FILE if store is not None else None)
        limits = LimitSettings(
            rate_per_s=self.rate,
            burst=max(1, min(4, int(self.rate) + 1)),
            concurrency=self.concurrency,
            interval_s=self.interval_s,
            max_targets=self.max_targets,
        )
        return Prober(
            Policy(parse_exclusions(self.exclude), self.private),
            limits,
            Bounds(self.timeout_s, self.timeout_s),
            ProbeCache(path, timedelta(seconds=self.ttl_s)),
        )

    def confirmer(self, store: Path | None = None) -> Confirmer:
        """A confirmer that prints each rejection on stderr as one line."""
        return Confirmer(self.prober(store), on_reject=_print_rejection)


_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _print_rejection(rejection: Rejection) -> None:
    _err.print(f"minewatch: {rejection.line()}", markup=False)


def confirm_settings(
    confirm: bool,
    private: bool,
    exclude: list[str] | None,
    cache: Path | None,
    rate: float,
    max_targets: int = PROBE_MAX.default,
) -> ProbeSettings | None:
    """The settings of `--confirm`, None without it (exclusions are parsed now: a bad one
    is a usage error before any work)."""
    settings = ProbeSettings(private, tuple(exclude or ()), cache, rate, max_targets=max_targets)
    parse_exclusions(settings.exclude)
    return settings if confirm else None


def parse_target(text: str, sni: str | None) -> Target | ProbeResult:
    """HOST:PORT (or [v6]:PORT) as a target, its name resolved once here and never again;
    a name that does not resolve is an error result. OptionError if it is not HOST:PORT."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise OptionError("probe", text, "HOST:PORT, e.g. pool.example.net:3333 or 203.0.113.9:443")
    try:
        ip = str(ipaddress.ip_address(host))
        name = sni
    except ValueError:
        name = sni or host
        try:
            ip = str(socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0][4][0])
        except (socket.gaierror, UnicodeError) as e:
            reason = e.strerror if isinstance(e, socket.gaierror) else str(e)
            return ProbeResult(
                Target(host, int(port), name),
                Verdict.ERROR,
                f"cannot resolve {host}: {reason}",
                datetime.now(UTC),
            )
    return Target(str(ip), int(port), name)


def _table(results: list[ProbeResult]) -> None:
    table = Table("server", "verdict", "transport", "dialect", "latency", "measured (UTC)", "detail")
    for r in results:
        table.add_row(
            str(r.target),
            r.verdict.value,
            r.transport.value if r.transport else "",
            r.dialect.value if r.dialect else "",
            "" if r.latency_s is None else f"{r.latency_s * 1000:.0f} ms",
            f"{r.measured.astimezone(UTC):%Y-%m-%d %H:%M:%S}" + (" (cached)" if r.cached else ""),
            r.detail + (f"; certificate {r.certificate.subject}" if r.certificate else ""),
        )
    out = Console(highlight=False)
    Console(highlight=False, width=None if out.is_terminal else 160).print(table)


def register(app: typer.Typer) -> None:
    """Add `probe` to `app`."""

    @app.command()
    def probe(
        servers: Annotated[list[str], typer.Argument(help="HOST:PORT of each server to probe.")],
        sni: Annotated[str | None, typer.Option("--sni", help="Server name to send in TLS.")] = None,
        json_lines: Annotated[
            bool, typer.Option("--json", help="One JSON object per server per line.")
        ] = False,
        private: ProbePrivateOption = False,
        exclude: ProbeExcludeOption = None,
        cache: ProbeCacheOption = None,
        rate: ProbeRateOption = PROBE_RATE.default,
        concurrency: Annotated[int, PROBE_CONCURRENCY.flag()] = PROBE_CONCURRENCY.default,
        interval: Annotated[float, PROBE_INTERVAL.flag()] = PROBE_INTERVAL.default,
        timeout: Annotated[float, PROBE_TIMEOUT.flag()] = PROBE_TIMEOUT.default,
        ttl: Annotated[float, PROBE_TTL.flag()] = PROBE_TTL.default,
    ) -> None:
        """Connect to servers and speak the mining protocols (Stratum V1, XMRig,
        EthereumStratum, Stratum V2), plain and over TLS: is each a mining pool?"""
        settings = ProbeSettings(
            private, tuple(exclude or ()), cache, rate, concurrency, interval, timeout, ttl
        )
        parsed = [parse_target(s, sni) for s in servers]
        prober = settings.prober()
        targets = [p for p in parsed if isinstance(p, Target)]
        done = iter(prober.probe(targets))
        results = [p if isinstance(p, ProbeResult) else next(done) for p in parsed]
        if json_lines:
            for r in results:
                sys.stdout.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
        else:
            _table(results)
