"""Evidence to findings: one finding per host and activity.

Confidence combines the strongest evidence of each kind as independent reasons
(noisy-OR): many flows to the same pool are one reason, not fifty.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from minewatch.estimate import EstimateOptions, algorithm_info, measure
from minewatch.model.findings import (
    Activity,
    Evidence,
    EvidenceKind,
    Finding,
    Shares,
    combined_confidence,
    union_pools,
)
from minewatch.protocols.base import MiningSession

__all__ = ["fuse"]

MAX_EVIDENCE_PER_FINDING = 12

SessionKey = tuple[str | None, int]
PeerKey = tuple[str | None, str, int]  # input, server address, server port


def _distinct(evidence: list[Evidence]) -> tuple[Evidence, ...]:
    seen: dict[tuple[str, str], Evidence] = {}
    for ev in sorted(evidence, key=lambda e: (-e.strength, e.first_seen)):
        seen.setdefault((ev.kind, ev.detail), ev)
    return tuple(list(seen.values())[:MAX_EVIDENCE_PER_FINDING])


def _traffic(evidence: list[Evidence]) -> int:
    """Bytes of the connections behind the evidence, each flow record counted once.
    Per server endpoint of one input: the dissected connections' whole bytes, or the bytes
    of every record of that client's connection to it, batch by batch (detectors give
    each batch's first record and total, detect/detectors.py `_connections`), whichever is
    more: both count the same records, so they never add up."""
    dissected: dict[PeerKey, dict[int, int]] = defaultdict(dict)
    batches: dict[PeerKey, dict[int, int]] = defaultdict(dict)
    for ev in evidence:
        if ev.peer is None or not ev.bytes:
            continue
        key = (ev.source, ev.peer.ip, ev.peer.port)
        if ev.kind == EvidenceKind.DISSECTOR and ev.conn_id is not None:
            dissected[key][ev.conn_id] = max(dissected[key].get(ev.conn_id, 0), ev.bytes)
        elif ev.flow_id is not None:
            batches[key][ev.flow_id] = max(batches[key].get(ev.flow_id, 0), ev.bytes)
    return sum(
        max(sum(dissected[k].values()), sum(batches[k].values())) for k in dissected.keys() | batches.keys()
    )


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _one(host: str, activity: Activity, evidence: list[Evidence], sessions: list[MiningSession]) -> Finding:
    # The protocol that carried the most work names the finding (a miner may probe a pool
    # with getwork before settling on stratum).
    protocols = Counter({s.protocol: 0 for s in sessions})
    for s in sessions:
        protocols[s.protocol] += 1 + s.jobs + s.submitted
    if not protocols:
        protocols = Counter(ev.protocol for ev in evidence if ev.protocol)
    algorithms = Counter(s.algorithm for s in sessions if s.algorithm)
    algorithm = algorithms.most_common(1)[0][0] if algorithms else None
    info = algorithm_info(algorithm)
    coins = Counter(ev.coin for ev in evidence if ev.coin)
    coin = info.coin if info else coins.most_common(1)[0][0] if coins else None
    timeline = sorted({(d_ts, d) for s in sessions for d_ts, d in s.difficulty})
    shares = None
    if sessions:
        shares = Shares(
            sum(s.submitted for s in sessions),
            sum(s.accepted for s in sessions),
            sum(s.rejected for s in sessions),
        )
    logins = tuple(dict.fromkeys(login for s in sessions for login in s.logins))
    agents = Counter(s.agent for s in sessions if s.agent)
    reported = [s.reported_hashrate for s in sessions if s.reported_hashrate]
    return Finding(
        host=host,
        activity=activity,
        confidence=combined_confidence(evidence),
        first_seen=min(ev.first_seen for ev in evidence),
        last_seen=max(ev.last_seen for ev in evidence),
        evidence=_distinct(evidence),
        protocol=protocols.most_common(1)[0][0] if protocols else None,
        coin=coin,
        algorithm=algorithm,
        pools=union_pools(ev.peer for ev in evidence if ev.peer is not None),
        logins=logins,
        agent=agents.most_common(1)[0][0] if agents else None,
        shares=shares,
        difficulty=timeline[-1][1] if timeline else None,
        difficulty_timeline=tuple((_ts(t), d) for t, d in timeline),
        reported_hashrate_hs=max(reported) if reported else None,
        sources=tuple(sorted({ev.source for ev in evidence if ev.source})),
        bytes_total=_traffic(evidence),
    )


def fuse(
    evidence: Iterable[Evidence],
    sessions: dict[SessionKey, MiningSession],
    estimate: EstimateOptions | None = None,
) -> list[Finding]:
    """Findings from all evidence, most confident first, mining ones with their estimate.
    `sessions` is keyed by (source, conn_id) so connections of different captures never mix."""
    groups: dict[tuple[str, Activity], list[Evidence]] = defaultdict(list)
    for ev in evidence:
        groups[(ev.host, ev.activity)].append(ev)
    findings = []
    for (host, activity), evs in groups.items():
        keys = {(ev.source, ev.conn_id) for ev in evs if ev.conn_id is not None}
        found = [sessions[k] for k in sorted(keys, key=str) if k in sessions]
        mining = activity == Activity.MINING
        finding = _one(host, activity, evs, found if mining else [])
        if mining:
            finding = measure(finding, found, evs, estimate or EstimateOptions())
        findings.append(finding)
    return sorted(findings, key=lambda f: (-f.confidence, f.activity, f.host))
