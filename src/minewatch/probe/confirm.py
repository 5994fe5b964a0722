"""`--confirm`: probe the pools of mining findings that no dissector has seen, and let the
answers weigh in.

- A pool that answers a mining greeting adds `probe` evidence as strong as dissection's
  (the probe is a dissected conversation), and the confidence is recomputed.
- A finding that rests only on behaviour (timing or flow-model) evidence, all of whose
  pools answered and are not pools, is dropped from the findings and returned as a
  `Rejection` (the CLI prints one line for each on stderr).
- Intel matches are never dropped: a blocklisted pool may refuse strangers, serve another
  port, or have moved; a `not-pool` answer only fails to add evidence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from minewatch.model.findings import (
    Activity,
    Endpoint,
    Evidence,
    EvidenceKind,
    Finding,
    combined_confidence,
)
from minewatch.probe.prober import Prober
from minewatch.probe.result import ProbeResult, Target, Verdict

__all__ = ["Confirmation", "Confirmer", "Rejection"]

# Evidence a probe's `not-pool` answer may overrule: models of timing and counters only.
_OVERRULED = {EvidenceKind.BEHAVIOUR}


@dataclass(frozen=True)
class Rejection:
    """A finding dropped because every pool it names answered, and none as a pool."""

    finding: Finding
    results: tuple[ProbeResult, ...]

    def line(self) -> str:
        """One sentence for a person."""
        pools = "; ".join(f"{r.target}: {r.detail}" for r in self.results)
        return f"rejected {self.finding.host} ({self.finding.activity.value}): {pools}"


@dataclass(frozen=True)
class Confirmation:
    findings: tuple[Finding, ...]
    rejected: tuple[Rejection, ...]
    results: tuple[ProbeResult, ...]


def _targets(f: Finding) -> list[Target]:
    # A pool known only from a DNS answer has no port to greet.
    return [Target(p.ip, p.port, p.name) for p in f.pools if p.port and p.ip]


def _needs_probe(f: Finding) -> bool:
    kinds = {e.kind for e in f.evidence}
    return f.activity == Activity.MINING and EvidenceKind.DISSECTOR not in kinds and bool(_targets(f))


def _evidence(f: Finding, r: ProbeResult) -> Evidence:
    when = r.measured.strftime("%Y-%m-%d %H:%M:%SZ")
    how = f"{r.dialect.value if r.dialect else r.protocol} over {r.transport.value if r.transport else '?'}"
    detail = f"probe of {r.target}: a {how} pool: {r.detail}; measured {when}" + (
        " (cached)" if r.cached else ""
    )
    return Evidence(
        f.host,
        Activity.MINING,
        EvidenceKind.PROBE,
        r.strength,
        detail,
        f.first_seen,
        f.last_seen,
        peer=Endpoint(r.target.ip, r.target.port, r.target.name),
        protocol=r.protocol,
    )


class Confirmer:
    """Confirms findings with `prober`; `on_reject` hears of each rejection as it happens."""

    def __init__(self, prober: Prober, on_reject: Callable[[Rejection], None] | None = None) -> None:
        self.prober = prober
        self.on_reject = on_reject

    def confirm(self, findings: Sequence[Finding]) -> Confirmation:
        """The findings with probe evidence added or rejected ones removed."""
        # One probe per server, with its name as SNI when any finding knows it.
        wanted: dict[tuple[str, int], Target] = {}
        pools = {t for f in findings if _needs_probe(f) for t in _targets(f)}
        for t in sorted(pools, key=lambda t: t.sort_key):
            if t.name or (t.ip, t.port) not in wanted:
                wanted[(t.ip, t.port)] = t
        probed = self.prober.probe(list(wanted.values())) if wanted else []
        results = dict(zip(wanted, probed, strict=True))
        kept: list[Finding] = []
        rejected: list[Rejection] = []
        for f in findings:
            mine = [results[(t.ip, t.port)] for t in _targets(f)] if _needs_probe(f) else []
            if mine and all(r.verdict == Verdict.NOT_POOL for r in mine) and self._overruled(f):
                rejection = Rejection(f, tuple(mine))
                rejected.append(rejection)
                if self.on_reject is not None:
                    self.on_reject(rejection)
                continue
            kept.append(self._with_evidence(f, [r for r in mine if r.verdict == Verdict.POOL]))
        return Confirmation(tuple(kept), tuple(rejected), tuple(results.values()))

    @staticmethod
    def _overruled(f: Finding) -> bool:
        return {e.kind for e in f.evidence} <= _OVERRULED

    @staticmethod
    def _with_evidence(f: Finding, pools: list[ProbeResult]) -> Finding:
        if not pools:
            return f
        evidence = tuple(sorted((*f.evidence, *(_evidence(f, r) for r in pools)), key=lambda e: -e.strength))
        return dataclasses.replace(f, evidence=evidence, confidence=combined_confidence(evidence))
