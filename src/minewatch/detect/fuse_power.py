"""One finding per site that both the meter and the network accuse: the network's mining
hosts inside the site's address space, with the meter's evidence added. The meter bounds
the energy (the hosts cannot use more than the site draws) and measures the site's whole
new load (the step in its baseload); the network gives the hashrate, which a meter cannot."""

from __future__ import annotations

import ipaddress
from typing import Any

from minewatch.detect.power import THRESHOLD, PowerAssessment, power_evidence
from minewatch.model.document import rfc3339
from minewatch.model.findings import Activity, Finding

__all__ = ["assessment_to_json", "fuse_sites"]


def assessment_to_json(a: PowerAssessment) -> dict[str, Any]:
    site = a.site
    return {
        "meter": a.meter,
        "site": site.site if site else None,
        "organisation": site.organisation if site else None,
        "business_type": site.business_type if site else None,
        "region": list(site.region) if site else [],
        "region_code": site.region_code if site else None,
        "period_start": rfc3339(a.period_start),
        "period_end": rfc3339(a.period_end),
        "score": a.score,
        "suspect": a.score >= THRESHOLD,
        "start": rfc3339(a.start) if a.start else None,
        "mining_kw": a.mining_kw,
        "reasons": [
            {"feature": r.feature, "value": r.value, "part": round(r.part, 3), "sentence": r.sentence}
            for r in sorted(a.reasons, key=lambda r: -r.part)
        ],
        "first_day": rfc3339(a.first_day) if a.first_day else None,
        "daily_kwh": [None if x != x else round(x, 3) for x in a.daily_kwh],
    }


def _inside(host: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def fuse_sites(assessments: list[PowerAssessment], findings: list[Finding]) -> list[dict[str, Any]]:
    """A finding per suspect site with mining hosts (episodes) seen by the network in its
    ranges, as the `"type": "site"` JSON lines of `meters detect --json`."""
    out = []
    for a in assessments:
        if a.score < THRESHOLD or a.site is None or not a.site.networks:
            continue
        hosts = [f for f in findings if f.activity == Activity.MINING and _inside(f.host, a.site.networks)]
        if not hosts:
            continue
        reasons = [e for f in hosts for e in f.evidence] + [power_evidence(a, hosts[0].host)]
        evidence = [{"kind": e.kind.value, "detail": e.detail, "strength": e.strength} for e in reasons]
        finite = [x for x in a.daily_kwh if x == x]
        site_max = max(finite) if finite else None
        network = [f.energy_kwh_day_bounds for f in hosts if f.energy_kwh_day_bounds is not None]
        low = float(sum(b.low for b in network)) if network else 0.0
        high: float | None = float(sum(b.high for b in network)) if network else None
        if site_max is not None:
            high = min(high, site_max) if high is not None else site_max
        best = float(sum(b.best for b in network)) if network else None
        if best is not None and high is not None:
            best = min(best, high)
        low = min(low, high) if high is not None else low
        # The meter measures all of the site's mining load; the network's hosts may be part of it.
        metered = round(a.mining_kw * 24, 3) if a.mining_kw is not None else None
        notes = []
        if metered is not None and high is not None and metered > 1.5 * high:
            notes.append(
                f"the meter shows {metered:,.0f} kWh/day of steady new load, more than the network's hosts "
                f"explain ({high:,.1f} at most): machines the network does not see, or other new equipment"
            )
        rates = [f.hashrate for f in hosts if f.hashrate is not None]
        out.append(
            {
                "site": a.site.site,
                "meter": a.meter,
                "organisation": a.site.organisation,
                "region": list(a.site.region),
                "region_code": a.site.region_code,
                "hosts": sorted({f.host for f in hosts}),
                "first_seen": rfc3339(min([f.first_seen for f in hosts] + ([a.start] if a.start else []))),
                "last_seen": rfc3339(max(f.last_seen for f in hosts)),
                "power_score": a.score,
                "mining_kw": a.mining_kw,
                "energy_kwh_day": {"low": round(low, 3), "best": best, "high": high},
                "energy_basis": "the network's hosts, no more than the site draws",
                "metered_kwh_day": metered,
                "notes": notes,
                "hashrate": {
                    "value": sum(r.value for r in rates) if rates else None,
                    "low": sum(r.low for r in rates) if rates else None,
                    "high": sum(r.high for r in rates) if rates else None,
                    "unit": rates[0].unit if rates else None,
                    "basis": "network (shares); a meter cannot tell hashrate",
                },
                "evidence": evidence,
            }
        )
    return out
