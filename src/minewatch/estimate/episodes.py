"""Host episodes: every window's finding of one host and activity, merged into one.

A collector writes a finding per host per window (1,440 a day) and hourly imports one per
file; the bulletin, the summaries and the cases count a host once. An episode sums the
windows' bytes once, spans their first and last sight, merges their evidence with counts
and their pools, and re-estimates the hashrate from all their connections' exposures with
the estimator of a single scan, so N windows of a session give the estimate of the whole
session; power, energy and CO2 follow from that hashrate.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

from minewatch.estimate.coins import algorithm_info
from minewatch.estimate.hashrate import hashrate_from_exposures
from minewatch.estimate.measure import with_power
from minewatch.estimate.power import DEFAULT_GRID, GridFactor
from minewatch.model.findings import Activity, Endpoint, Evidence, Finding, combined_confidence

__all__ = ["MAX_EVIDENCE", "consolidate", "consolidate_sorted", "merge_windows"]

MAX_EVIDENCE = 12
# Notes that the re-estimate writes again from the merged hashrate.
_REDONE_NOTES = ("hardware ", "power:", "hashrate counts accepted shares only")


def consolidate(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per host and activity (an episode), most confident first."""
    groups: dict[tuple[str, Activity], list[Finding]] = defaultdict(list)
    for f in findings:
        groups[(f.host, f.activity)].append(f)
    episodes = [merge_windows(windows) for windows in groups.values()]
    return sorted(episodes, key=lambda f: (-f.confidence, f.activity, f.host))


def consolidate_sorted(findings: Iterable[Finding]) -> list[Finding]:
    """`consolidate` for findings that arrive grouped by host and activity (a store read
    in that order): only one host's windows are held at a time."""
    episodes: list[Finding] = []
    for _, windows in itertools.groupby(findings, key=lambda f: (f.host, f.activity)):
        episodes.append(merge_windows(list(windows)))
    return sorted(episodes, key=lambda f: (-f.confidence, f.activity, f.host))


def _distinct_windows(windows: Sequence[Finding]) -> list[Finding]:
    # The same window stored twice (a file imported again) is one window.
    seen: dict[tuple[object, ...], Finding] = {}
    for w in windows:
        key = (w.first_seen, w.last_seen, w.bytes_total, w.shares, w.exposures, w.evidence, w.sources)
        seen.setdefault(key, w)
    return sorted(seen.values(), key=lambda w: (w.first_seen, w.last_seen))


def merge_windows(windows: Sequence[Finding]) -> Finding:
    """The episode of one host and activity from its windows' findings."""
    distinct = _distinct_windows(windows)
    if len(distinct) == 1:
        return distinct[0]
    evidence = _merged_evidence(distinct)
    weights = Counter({id(w): 1 + (w.shares.accepted if w.shares else 0) for w in distinct})
    lead = max(distinct, key=lambda w: (weights[id(w)], w.last_seen))
    shares = [w.shares for w in distinct if w.shares is not None]
    timeline = sorted({point for w in distinct for point in w.difficulty_timeline})
    reported = [w.reported_hashrate_hs for w in distinct if w.reported_hashrate_hs is not None]
    attributed = [w.attribution for w in distinct if w.attribution is not None]
    episode = Finding(
        host=lead.host,
        activity=lead.activity,
        confidence=max(
            combined_confidence(e for w in distinct for e in w.evidence), *(w.confidence for w in distinct)
        ),
        first_seen=min(w.first_seen for w in distinct),
        last_seen=max(w.last_seen for w in distinct),
        evidence=evidence,
        protocol=_most(distinct, weights, lambda w: w.protocol),
        coin=lead.coin,
        algorithm=lead.algorithm,
        pools=_pools(distinct),
        logins=tuple(dict.fromkeys(login for w in distinct for login in w.logins)),
        agent=_most(distinct, weights, lambda w: w.agent),
        shares=sum(shares[1:], shares[0]) if shares else None,
        difficulty=timeline[-1][1] if timeline else lead.difficulty,
        difficulty_timeline=tuple(timeline),
        reported_hashrate_hs=max(reported) if reported else None,
        coin_basis=lead.coin_basis,
        estimate_notes=tuple(
            dict.fromkeys(n for w in distinct for n in w.estimate_notes if not n.startswith(_REDONE_NOTES))
        ),
        bytes_total=sum(w.bytes_total for w in distinct),
        sources=tuple(sorted({s for w in distinct for s in w.sources})),
        windows=sum(w.windows for w in distinct),
        attribution=attributed[-1] if attributed else None,
    )
    return _estimated(episode, distinct)


def _most(
    windows: Sequence[Finding], weights: Counter[int], value: Callable[[Finding], str | None]
) -> str | None:
    counts: Counter[str] = Counter()
    for w in windows:
        v = value(w)
        if v:
            counts[v] += weights[id(w)]
    return counts.most_common(1)[0][0] if counts else None


def _pools(windows: Sequence[Finding]) -> tuple[Endpoint, ...]:
    # The same endpoint may be known with and without a name: keep the named one.
    named: dict[tuple[str, int], Endpoint] = {}
    for p in sorted({p for w in windows for p in w.pools}, key=lambda p: (p.ip, p.port, p.name or "")):
        if p.name or (p.ip, p.port) not in named:
            named[(p.ip, p.port)] = p
    return tuple(named.values())


def _merged_evidence(windows: Sequence[Finding]) -> tuple[Evidence, ...]:
    """One reason per kind and peer (or per sentence when there is no peer), with how many
    records gave it, its span and bytes; the strongest sentence speaks for it."""
    merged: dict[tuple[object, ...], Evidence] = {}
    for e in (e for w in windows for e in w.evidence):
        key = (e.kind, e.peer, e.protocol) if e.peer is not None else (e.kind, e.detail)
        old = merged.get(key)
        if old is None:
            merged[key] = e
            continue
        best = e if (e.strength, e.last_seen) > (old.strength, old.last_seen) else old
        merged[key] = dataclasses.replace(
            best,
            first_seen=min(e.first_seen, old.first_seen),
            last_seen=max(e.last_seen, old.last_seen),
            bytes=e.bytes + old.bytes,
            count=e.count + old.count,
        )
    ranked = sorted(merged.values(), key=lambda e: (-e.strength, -e.count, e.first_seen))
    return tuple(ranked[:MAX_EVIDENCE])


def _grid(windows: Sequence[Finding]) -> GridFactor:
    """The grid factor the windows were priced with (CO2 over energy), else the default."""
    for w in windows:
        if w.co2_kg_day and w.energy_kwh_day_bounds and w.energy_kwh_day_bounds.best > 0:
            factor = w.co2_kg_day.best / w.energy_kwh_day_bounds.best
            if math.isclose(factor, DEFAULT_GRID.kg_per_kwh, rel_tol=1e-9):
                return DEFAULT_GRID
            return GridFactor(factor, "the grid factor of the host's window findings")
    return DEFAULT_GRID


def _estimated(episode: Finding, windows: Sequence[Finding]) -> Finding:
    """The episode's hashrate from all its windows' exposures, then power and energy."""
    measured = [w for w in windows if w.hashrate is not None and w.algorithm == episode.algorithm]
    exposures = tuple(dict.fromkeys(x for w in measured for x in w.exposures))
    hashrate = hashrate_from_exposures(exposures) if exposures else None
    info = algorithm_info(episode.algorithm)
    if hashrate is None or info is None:
        return episode
    unit = next(w.hashrate.unit for w in measured if w.hashrate is not None)
    hashrate = dataclasses.replace(hashrate, unit=unit)
    notes = list(episode.estimate_notes)
    if episode.shares is not None and episode.shares.rejected:
        notes.append(
            f"hashrate counts accepted shares only; {episode.shares.rejected} rejected shares "
            "would add to the work done"
        )
    priced = dataclasses.replace(episode, hashrate=hashrate, exposures=exposures)
    return with_power(priced, info.family, notes, _grid(windows))
