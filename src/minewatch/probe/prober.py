"""Probing targets: policy, cache and limits first, then a short plan of connections per
target (plain, then TLS with SNI, then TLS without), each greeting in turn, stopping at the
first mining answer or when the server has shown what else it speaks."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from minewatch.probe.cache import ProbeCache
from minewatch.probe.classify import Answer, AnswerKind, classify, looks_like_tls
from minewatch.probe.client import Bounds, ConnectFailed, Connection
from minewatch.probe.greetings import JSON_GREETINGS, STRATUM_V2, Greeting
from minewatch.probe.limits import Limiter, LimitSettings
from minewatch.probe.policy import Policy
from minewatch.probe.result import Certificate, ProbeResult, Target, Transport, Verdict

__all__ = ["Prober"]

# Two hang-ups in plaintext: perhaps the port speaks TLS; try that before the rest.
MAX_CLOSED_PER_TRANSPORT = 2


@dataclass(frozen=True)
class _Step:
    """One greeting's outcome on one transport."""

    transport: Transport
    greeting: Greeting
    answer: Answer
    latency_s: float


@dataclass
class _Run:
    """What one target's plan has seen so far."""

    target: Target
    steps: list[_Step] = field(default_factory=list)
    failures: list[ConnectFailed] = field(default_factory=list)
    connections: int = 0
    certificate: Certificate | None = None
    stop: bool = False
    hangups: Counter[Transport] = field(default_factory=Counter)
    spoke_json: bool = False


def _not_probed(target: Target, why: str) -> ProbeResult:
    return ProbeResult(target, Verdict.NOT_PROBED, f"not probed: {why}", datetime.now(UTC))


class Prober:
    """Probes targets within `policy` and `limits`, reusing `cache`. `probe` runs its own
    event loop; `probe_async` runs in the caller's."""

    def __init__(
        self,
        policy: Policy | None = None,
        limits: LimitSettings | None = None,
        bounds: Bounds | None = None,
        cache: ProbeCache | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.limiter = Limiter(limits or LimitSettings())
        self.bounds = bounds or Bounds()
        self.cache = cache if cache is not None else ProbeCache()

    def probe(self, targets: Sequence[Target]) -> list[ProbeResult]:
        """One result per target, in order (a target given twice is probed once)."""
        results = asyncio.run(self.probe_async(targets))
        self.cache.save()
        return results

    async def probe_async(self, targets: Sequence[Target]) -> list[ProbeResult]:
        self.limiter.start_run()
        slots = asyncio.Semaphore(self.limiter.settings.concurrency)
        per_ip: dict[str, asyncio.Lock] = {}
        tasks: dict[Target, asyncio.Task[ProbeResult]] = {}
        for t in targets:
            if t not in tasks:
                tasks[t] = asyncio.ensure_future(self._one(t, slots, per_ip.setdefault(t.ip, asyncio.Lock())))
        done = {t: await task for t, task in tasks.items()}
        return [done[t] for t in targets]

    async def _one(self, target: Target, slots: asyncio.Semaphore, ip_lock: asyncio.Lock) -> ProbeResult:
        refusal = self.policy.refusal(target.ip)
        if refusal is not None:
            return _not_probed(target, refusal)
        cached = self.cache.get(target)
        if cached is not None:
            return cached
        key = (target.ip, target.port)
        ago = self.limiter.too_soon(key)
        if ago is not None:
            interval = self.limiter.settings.interval_s
            return _not_probed(target, f"probed {ago:.0f} s ago (one probe per target every {interval:g} s)")
        if not self.limiter.begin(key):
            budget = self.limiter.settings.max_targets
            return _not_probed(target, f"over this run's budget of {budget} targets")
        # One probe of an address at a time, however many of its ports are suspects.
        async with slots, ip_lock:
            try:
                result = await self._plan(target)
            except Exception as e:  # noqa: BLE001 - a hostile server costs its own verdict only
                detail = f"probe failed: {type(e).__name__}: {str(e)[:200]}"
                result = ProbeResult(target, Verdict.ERROR, detail, datetime.now(UTC))
        self.cache.put(result)
        return result

    async def _plan(self, target: Target) -> ProbeResult:
        """Plain first; if the server hangs up twice without a word it may speak TLS, so TLS
        (with SNI, then without) comes next, and the other plaintext greetings only if no
        TLS handshake succeeds."""
        run = _Run(target)
        plain = [*JSON_GREETINGS, STRATUM_V2]
        found, rest = await self._transport(run, Transport.PLAIN, plain, pause_on_hangup=True)
        for transport in (*([Transport.TLS_SNI] if target.name else []), Transport.TLS):
            if found is not None or run.stop or self._tls_up(run):
                break
            found, _ = await self._transport(run, transport, list(JSON_GREETINGS))
        if found is None and rest and not run.stop and not self._tls_up(run):
            found, _ = await self._transport(run, Transport.PLAIN, rest)
        return self._result(run, found) if found is not None else self._verdict(run)

    @staticmethod
    def _tls_up(run: _Run) -> bool:
        return any(s.transport != Transport.PLAIN for s in run.steps)

    async def _connect(self, run: _Run, transport: Transport) -> Connection | None:
        if run.connections >= self.limiter.settings.max_connections:
            run.stop = True
            return None
        await self.limiter.connection()
        run.connections += 1
        try:
            conn = await Connection.open(run.target, transport, self.bounds)
        except ConnectFailed as e:
            run.failures.append(e)
            run.stop = run.stop or not e.tls  # refused or unreachable: no other transport will do
            return None
        run.certificate = run.certificate or conn.certificate
        return conn

    async def _transport(
        self, run: _Run, transport: Transport, greetings: list[Greeting], pause_on_hangup: bool = False
    ) -> tuple[_Step | None, list[Greeting]]:
        """Greet on `transport` until an answer decides: the mining step if any, and the
        greetings not tried when `pause_on_hangup` stopped at a silent hang-up."""
        conn: Connection | None = None
        try:
            for i, g in enumerate(greetings):
                if g is STRATUM_V2 and run.spoke_json:
                    continue  # the port speaks JSON lines: not plaintext SV2
                if g is STRATUM_V2 and conn is not None:
                    await conn.__aexit__(None, None, None)  # a binary greeting needs a fresh connection
                    conn = None
                if conn is not None and conn.closed:
                    await conn.__aexit__(None, None, None)
                    conn = None
                if conn is None:
                    conn = await self._connect(run, transport)
                    if conn is None:
                        return None, []
                answer, latency = await conn.exchange(g)
                step = _Step(transport, g, classify(g, answer, conn.closed), latency)
                run.steps.append(step)
                kind = step.answer.kind
                if kind == AnswerKind.MINING:
                    return step, []
                if kind == AnswerKind.SILENT:
                    await conn.__aexit__(None, None, None)  # a late answer must not mix with the next
                    conn = None
                if kind == AnswerKind.CLOSED:
                    run.hangups[transport] += 1
                    if pause_on_hangup and run.hangups[transport] >= MAX_CLOSED_PER_TRANSPORT:
                        return None, greetings[i + 1 :]
                run.spoke_json = run.spoke_json or (kind == AnswerKind.OTHER and not step.answer.foreign)
                if kind == AnswerKind.OTHER and (step.answer.foreign or transport == Transport.PLAIN):
                    # A plaintext server of another protocol (or JSON that is not mining)
                    # will not turn into a TLS pool; a TLS alert sends us on to TLS.
                    run.stop = run.stop or not looks_like_tls(answer)
                    if step.answer.foreign:
                        return None, []
            return None, []
        finally:
            if conn is not None:
                await conn.__aexit__(None, None, None)

    def _result(self, run: _Run, step: _Step) -> ProbeResult:
        how = "over TLS" if step.transport != Transport.PLAIN else "in plaintext"
        return ProbeResult(
            run.target,
            Verdict.POOL,
            f"{step.answer.detail} ({how}, {step.transport.value})",
            datetime.now(UTC),
            transport=step.transport,
            dialect=step.greeting.dialect,
            protocol=step.answer.protocol,
            latency_s=step.latency_s,
            certificate=run.certificate if step.transport != Transport.PLAIN else None,
            connections=run.connections,
            strength=step.answer.strength,
        )

    def _verdict(self, run: _Run) -> ProbeResult:
        spoke = [s for s in run.steps if s.answer.kind in (AnswerKind.OTHER, AnswerKind.CLOSED)]
        silent = [s for s in run.steps if s.answer.kind == AnswerKind.SILENT]
        if spoke:
            verdict, basis = Verdict.NOT_POOL, spoke
        elif silent:
            verdict, basis = Verdict.NO_ANSWER, silent
        else:
            refused = any(f.refused for f in run.failures)
            verdict = Verdict.ERROR if refused else Verdict.NO_ANSWER
            why = "; ".join(dict.fromkeys(f.reason for f in run.failures)) or "no connection"
            return ProbeResult(run.target, verdict, why, datetime.now(UTC), connections=run.connections)
        parts = dict.fromkeys(f"{s.transport.value}: {s.answer.detail}" for s in basis)
        last = basis[-1]
        lead = "no mining greeting answered" if verdict == Verdict.NOT_POOL else "no answer"
        return ProbeResult(
            run.target,
            verdict,
            f"{lead}; " + "; ".join(list(parts)[:4]),
            datetime.now(UTC),
            transport=last.transport,
            dialect=last.greeting.dialect,
            latency_s=last.latency_s,
            certificate=run.certificate,
            connections=run.connections,
        )
