"""The regional bulletin's figures, from the store's findings and their attribution: how
many mining hosts, their traffic, hashrate per algorithm, energy and CO2 with bounds; by
place, by sector with the compromised share, by coin and pool; top organisations; the
trend by day; and the notes a reader needs to trust the figures."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Bulletin", "Count", "bulletin_findings", "make_bulletin"]


@dataclass(frozen=True)
class Count:
    """Mining hosts under one label, and how many of them are likely compromised."""

    label: str
    hosts: int
    compromised: int = 0


@dataclass(frozen=True)
class AlgorithmFigure:
    algorithm: str
    hosts: int
    hosts_measured: int
    hashrate: float | None
    low: float | None
    high: float | None
    unit: str


@dataclass(frozen=True)
class Bulletin:
    since: str | None
    until: str | None
    region: str | None
    mining_hosts: int
    first_seen: str | None
    last_seen: str | None
    mbit_s: float | None
    algorithms: tuple[AlgorithmFigure, ...]
    energy_kwh_day: tuple[float, float, float] | None
    co2_kg_day: tuple[float, float, float] | None
    compromised: int
    attributed: int
    by_province: tuple[Count, ...]
    by_city: tuple[Count, ...]
    by_county: tuple[Count, ...]
    by_sector: tuple[Count, ...]
    by_coin: tuple[Count, ...]
    by_pool: tuple[Count, ...]
    top_organisations: tuple[Count, ...]
    trend: tuple[Count, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        def counts(cs: tuple[Count, ...]) -> list[dict[str, Any]]:
            return [{"label": c.label, "hosts": c.hosts, "compromised": c.compromised} for c in cs]

        return {
            "since": self.since,
            "until": self.until,
            "region": self.region,
            "mining_hosts": self.mining_hosts,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "mbit_s": self.mbit_s,
            "algorithms": [vars(a) for a in self.algorithms],
            "energy_kwh_day": _bounds(self.energy_kwh_day),
            "co2_kg_day": _bounds(self.co2_kg_day),
            "compromised": self.compromised,
            "attributed": self.attributed,
            "by_province": counts(self.by_province),
            "by_city": counts(self.by_city),
            "by_county": counts(self.by_county),
            "by_sector": counts(self.by_sector),
            "by_coin": counts(self.by_coin),
            "by_pool": counts(self.by_pool),
            "top_organisations": counts(self.top_organisations),
            "trend": counts(self.trend),
            "notes": list(self.notes),
        }


def _bounds(b: tuple[float, float, float] | None) -> dict[str, float] | None:
    return None if b is None else {"low": b[0], "best": b[1], "high": b[2]}


def _parse(t: str) -> datetime:
    return datetime.fromisoformat(t.replace("Z", "+00:00"))


def _counted(
    hosts_by_label: dict[str, set[str]], compromised: set[str], top: int | None = None
) -> tuple[Count, ...]:
    rows = [Count(label, len(h), len(h & compromised)) for label, h in hosts_by_label.items()]
    rows.sort(key=lambda c: (-c.hosts, c.label))
    return tuple(rows[:top] if top else rows)


NOTES = {
    "en": (
        "Mining hosts are distinct addresses with a mining finding in the period; a host seen in several "
        "windows counts once.",
        "Traffic is each finding's bytes over the time it was seen, added up: the rate of the miners at "
        "work; flow exports that sample packets under-count it.",
        "Hashrate is measured only where a pool accepted shares on a readable session; totals add the hosts' "
        "estimates per algorithm and never across algorithms; bounds add the hosts' bounds (wider than a "
        "joint interval). Hosts found only by intel, timing or flow counters have no hashrate.",
        "Energy and CO2 bounds pair the low hashrate with the most efficient hardware and the high one with "
        "the least efficient; CO2 uses the grid factor in each finding.",
        "Owner, sector and place come from the address-space inventory, else from the ASN and RIR sources "
        "supplied; 'likely compromised' marks miners on government, education, healthcare and enterprise "
        "machines, which have no business mining.",
    ),
    "zh": (
        "挖矿主机数为时段内有挖矿发现的不同地址数；同一主机在多个时间窗内出现只计一次。",
        "挖矿流量为各发现的字节数除以其被观测的时长之和，即挖矿主机工作时的速率；对报文抽样的流记录会低估流量。",
        "算力只在矿池接受份额且会话可读时测得；总数按算法分别相加，不跨算法相加；区间为各主机区间之和（比联合区间宽）。"
        "仅由情报、时序或流计数发现的主机没有算力数据。",
        "耗电与二氧化碳的区间把算力下限配最节能的设备、上限配最耗能的设备；二氧化碳按各发现中的电网排放因子计算。",
        "归属单位、行业和地区来自地址资产清单，清单未覆盖时来自所提供的ASN与RIR数据；“疑似被入侵”指政府、教育、"
        "医疗和企业机器上的挖矿，这些机器本不应挖矿。",
    ),
}


def bulletin_findings(findings: list[dict[str, Any]], region: str | None) -> list[dict[str, Any]]:
    """The mining findings a bulletin counts: with `region`, only hosts whose place path
    mentions it (e.g. 江苏 or 江苏省)."""
    mining = [f for f in findings if f["activity"] == "mining"]
    if not region:
        return mining
    return [f for f in mining if any(region in p for p in ((f.get("attribution") or {}).get("region") or []))]


def make_bulletin(
    findings: list[dict[str, Any]],
    since: str | None = None,
    until: str | None = None,
    region: str | None = None,
    lang: str = "en",
) -> Bulletin:
    """The bulletin over mining findings (JSON contract objects with `attribution`);
    `region` keeps only hosts whose place path mentions it (e.g. 江苏 or 江苏省)."""
    mining = bulletin_findings(findings, region)
    hosts = {f["host"] for f in mining}
    compromised = {
        f["host"] for f in mining if (f.get("attribution") or {}).get("likely_compromised") is True
    }
    attributed = {f["host"] for f in mining if f.get("attribution")}
    places: list[dict[str, set[str]]] = [defaultdict(set), defaultdict(set), defaultdict(set)]
    sectors: dict[str, set[str]] = defaultdict(set)
    orgs: dict[str, set[str]] = defaultdict(set)
    coins: dict[str, set[str]] = defaultdict(set)
    pools: dict[str, set[str]] = defaultdict(set)
    days: dict[str, set[str]] = defaultdict(set)
    for f in mining:
        a = f.get("attribution") or {}
        path = a.get("region") or []
        for level in range(3):
            label = " / ".join(path[: level + 1]) if len(path) > level else "unknown"
            places[level][label].add(f["host"])
        sectors[a.get("sector") or "unknown"].add(f["host"])
        if a.get("organisation"):
            orgs[f"{a['organisation']} ({a.get('sector') or 'unknown'})"].add(f["host"])
        coins[f.get("coin") or "unknown"].add(f["host"])
        for p in f.get("pools") or []:
            pools[f"{p.get('name') or p['ip']}:{p['port']}"].add(f["host"])
        days[f["first_seen"][:10]].add(f["host"])
    firsts = [_parse(f["first_seen"]) for f in mining]
    lasts = [_parse(f["last_seen"]) for f in mining]
    first, last = (min(firsts), max(lasts)) if mining else (None, None)
    # Each finding's rate while it was seen, added up: the traffic of the miners at work.
    rate = sum(
        int(f.get("bytes") or 0) * 8 / max((b - a).total_seconds(), 1.0)
        for f, a, b in zip(mining, firsts, lasts, strict=True)
    )
    algorithms = _algorithms(mining)
    energy = _sum_bounds([f.get("energy_kwh_day_bounds") for f in mining])
    co2 = _sum_bounds([f.get("co2_kg_day") for f in mining])
    notes = list(NOTES[lang])
    if len(attributed) < len(hosts):
        missing = len(hosts) - len(attributed)
        notes.append(
            f"{missing} of {len(hosts)} mining hosts could not be attributed."
            if lang == "en"
            else f"{len(hosts)}个挖矿主机中有{missing}个无法确定归属。"
        )
    return Bulletin(
        since=since,
        until=until,
        region=region,
        mining_hosts=len(hosts),
        first_seen=first.isoformat().replace("+00:00", "Z") if first else None,
        last_seen=last.isoformat().replace("+00:00", "Z") if last else None,
        mbit_s=round(rate / 1e6, 6) if mining else None,
        algorithms=algorithms,
        energy_kwh_day=energy,
        co2_kg_day=co2,
        compromised=len(compromised),
        attributed=len(attributed),
        by_province=_counted(places[0], compromised),
        by_city=_counted(places[1], compromised),
        by_county=_counted(places[2], compromised),
        by_sector=_counted(sectors, compromised),
        by_coin=_counted(coins, compromised),
        by_pool=_counted(pools, compromised, top=20),
        top_organisations=_counted(orgs, compromised, top=20),
        trend=tuple(sorted(_counted(days, compromised), key=lambda c: c.label)),
        notes=tuple(notes),
    )


def _algorithms(mining: list[dict[str, Any]]) -> tuple[AlgorithmFigure, ...]:
    by_algo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in mining:
        by_algo[f.get("algorithm") or "unknown"].append(f)
    out = []
    for algo, fs in sorted(by_algo.items()):
        measured = [f["hashrate"] for f in fs if f.get("hashrate")]
        units = Counter(h["unit"] for h in measured)
        unit = units.most_common(1)[0][0] if units else "H/s"
        same = [h for h in measured if h["unit"] == unit]
        out.append(
            AlgorithmFigure(
                algorithm=algo,
                hosts=len({f["host"] for f in fs}),
                hosts_measured=len({f["host"] for f in fs if f.get("hashrate")}),
                hashrate=sum(h["value"] for h in same) if same else None,
                low=sum(h["low"] for h in same) if same else None,
                high=sum(h["high"] for h in same) if same else None,
                unit=unit,
            )
        )
    return tuple(out)


def _sum_bounds(values: list[dict[str, float] | None]) -> tuple[float, float, float] | None:
    present = [v for v in values if v]
    if not present:
        return None
    return (
        round(sum(v["low"] for v in present), 6),
        round(sum(v["best"] for v in present), 6),
        round(sum(v["high"] for v in present), 6),
    )
