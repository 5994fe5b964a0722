"""The bulletin's "Trading traces" section: which hosts reached exchange and OTC sites,
how much and when, from the store's traces (model/traces.py). Kept apart from every
mining figure: no hashrate, no energy, and no host here is counted as a mining host.

Activity.EXCHANGE findings (a visit to a listed exchange, found by the intel detectors)
stay out of the mining figures as before; this section counts them beside the traces
(`exchange_finding_hosts`, and how many of those hosts have traces), so the two agree or
say why not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from html import escape
from typing import Any

import pyarrow as pa

from minewatch.model.attribution import Attribution
from minewatch.model.document import rfc3339
from minewatch.model.findings import Activity, Finding
from minewatch.model.traces import HOURS, TradingTrace

__all__ = ["HostTrading", "SiteTrading", "TradingSummary", "summarise", "trading_section"]


@dataclass(frozen=True)
class SiteTrading:
    site: str
    category: str
    hosts: int
    sessions: int
    flows: int
    bytes: int
    days: int


@dataclass(frozen=True)
class HostTrading:
    host: str
    owner: str | None
    sector: str
    sites: tuple[str, ...]
    days: int  # active days
    sessions: int
    flows: int
    bytes: int
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class TradingSummary:
    hosts: int
    sites: int
    sessions: int
    flows: int
    bytes: int
    by_site: tuple[SiteTrading, ...]
    by_sector: tuple[tuple[str, int], ...]
    top_hosts: tuple[HostTrading, ...]
    hours: tuple[int, ...]  # flows begun in each hour of the office's day
    timezone: str
    exchange_finding_hosts: int
    exchange_findings_traced: int

    def to_json(self) -> dict[str, Any]:
        return {
            "hosts": self.hosts,
            "sites": self.sites,
            "sessions": self.sessions,
            "flows": self.flows,
            "bytes": self.bytes,
            "by_site": [vars(s) for s in self.by_site],
            "by_sector": [{"sector": s, "hosts": n} for s, n in self.by_sector],
            "top_hosts": [vars(h) | {"sites": list(h.sites)} for h in self.top_hosts],
            "hours": list(self.hours),
            "timezone": self.timezone,
            "exchange_finding_hosts": self.exchange_finding_hosts,
            "exchange_findings_traced": self.exchange_findings_traced,
        }


def _local_hours(traces: list[TradingTrace], tz: tzinfo) -> tuple[int, ...]:
    """The UTC hour bins moved to the office's hours (by each trace day's offset)."""
    out = [0] * HOURS
    for t in traces:
        offset = tz.utcoffset(t.first_seen)
        shift = int(offset.total_seconds() // 3600) if offset else 0
        for h, n in enumerate(t.hours):
            out[(h + shift) % HOURS] += n
    return tuple(out)


def summarise(
    table: pa.Table,
    episodes: Iterable[Finding] = (),
    attribute: Callable[[str], Attribution | None] | None = None,
    region: str | None = None,
    tz: tzinfo = UTC,
    limit: int = 20,
) -> TradingSummary:
    """The section over stored traces (TRACE_SCHEMA rows; one row per host, day and site,
    so a Python pass over them is a pass over hosts, not flows) and the period's episodes
    (for the Activity.EXCHANGE cross-count); `region` keeps hosts placed there."""
    owners = {h: attribute(h) if attribute else None for h in set(table["host"].to_pylist())}
    if region:
        owners = {h: a for h, a in owners.items() if a and any(region in p for p in a.region)}
    traces = [TradingTrace.from_row(r) for r in table.to_pylist() if r["host"] in owners]
    per_site: dict[str, list[TradingTrace]] = defaultdict(list)
    per_host: dict[str, list[TradingTrace]] = defaultdict(list)
    for t in traces:
        per_site[t.site].append(t)
        per_host[t.host].append(t)
    sites = sorted(
        (
            SiteTrading(
                s,
                ts[0].category,
                len({t.host for t in ts}),
                sum(t.sessions for t in ts),
                sum(t.flows for t in ts),
                sum(t.bytes for t in ts),
                len({t.day for t in ts}),
            )
            for s, ts in per_site.items()
        ),
        key=lambda s: (-s.hosts, -s.bytes, s.site),
    )
    hosts = sorted((_host(h, ts, owners.get(h)) for h, ts in per_host.items()), key=_host_rank)
    sectors: dict[str, int] = defaultdict(int)
    for h in hosts:
        sectors[h.sector] += 1
    exchange = {
        f.host
        for f in episodes
        if f.activity == Activity.EXCHANGE
        and (not region or (f.attribution and any(region in p for p in f.attribution.region)))
    }
    return TradingSummary(
        hosts=len(per_host),
        sites=len(per_site),
        sessions=sum(t.sessions for t in traces),
        flows=sum(t.flows for t in traces),
        bytes=sum(t.bytes for t in traces),
        by_site=tuple(sites[:limit]),
        by_sector=tuple(sorted(sectors.items(), key=lambda kv: (-kv[1], kv[0]))),
        top_hosts=tuple(hosts[:limit]),
        hours=_local_hours(traces, tz),
        timezone=str(tz),
        exchange_finding_hosts=len(exchange),
        exchange_findings_traced=len(exchange & per_host.keys()),
    )


def _host_rank(h: HostTrading) -> tuple[int, int, int, str]:
    return (-h.days, -h.sessions, -h.bytes, h.host)


def _host(host: str, ts: list[TradingTrace], a: Attribution | None) -> HostTrading:
    return HostTrading(
        host,
        a.organisation if a else None,
        a.sector.value if a else "unknown",
        tuple(sorted({t.site for t in ts})),
        len({t.day for t in ts}),
        sum(t.sessions for t in ts),
        sum(t.flows for t in ts),
        sum(t.bytes for t in ts),
        rfc3339(min(t.first_seen for t in ts)),
        rfc3339(max(t.last_seen for t in ts)),
    )


LABELS = {
    "en": {
        "title": "Trading traces",
        "intro": "Hosts that reached exchange and OTC sites (DNS, TLS SNI, HTTP Host). Not mining: "
        "these hosts and bytes are in none of the mining figures above.",
        "hosts": "Hosts",
        "sites": "Sites",
        "sessions": "Visits",
        "bytes": "Bytes",
        "site": "Site",
        "class": "Class",
        "days": "Days",
        "host": "Host",
        "owner": "Owner",
        "hours": "Flows by hour of day",
        "findings": "Hosts with exchange findings: {n}, of which with traces: {m}.",
        "none": "No trading traces in the period (computed by `minewatch traces --store`).",
    },
    "zh": {
        "title": "交易痕迹",
        "intro": "访问交易所和场外交易网站的主机（DNS、TLS SNI、HTTP Host）。"
        "非挖矿：这些主机和字节不计入上面任何挖矿数据。",
        "hosts": "主机",
        "sites": "网站",
        "sessions": "访问次数",
        "bytes": "字节",
        "site": "网站",
        "class": "类别",
        "days": "天数",
        "host": "主机",
        "owner": "归属",
        "hours": "按小时的流数",
        "findings": "有交易所发现的主机：{n}，其中有交易痕迹的：{m}。",
        "none": "时段内没有交易痕迹（由 `minewatch traces --store` 计算）。",
    },
}


def _hours_svg(hours: tuple[int, ...]) -> str:
    top = max(hours) or 1
    bars = "".join(
        f'<rect x="{h * 20}" y="{80 - round(80 * n / top)}" width="16" height="{round(80 * n / top)}" '
        f'fill="#d9a35b"/><text x="{h * 20 + 2}" y="94" font-size="9">{h}</text>'
        for h, n in enumerate(hours)
    )
    width = 20 * HOURS
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="100" role="img">{bars}</svg>'


def trading_section(s: TradingSummary | None, lang: str) -> str:
    """The section as HTML (empty when there is no summary at all)."""
    if s is None:
        return ""
    t = LABELS[lang]
    found = escape(t["findings"].format(n=s.exchange_finding_hosts, m=s.exchange_findings_traced))
    if s.hosts == 0:
        return f"<h2>{escape(t['title'])}</h2><p>{escape(t['none'])}</p><p>{found}</p>"
    sites = "".join(
        f"<tr><td>{escape(r.site)}</td><td>{escape(r.category)}</td><td class=n>{r.hosts}</td>"
        f"<td class=n>{r.days}</td><td class=n>{r.sessions}</td><td class=n>{r.bytes:,}</td></tr>"
        for r in s.by_site
    )
    hosts = "".join(
        f"<tr><td>{escape(h.host)}</td><td>{escape(h.owner or '')} ({escape(h.sector)})</td>"
        f"<td>{escape(', '.join(h.sites))}</td><td class=n>{h.days}</td><td class=n>{h.sessions}</td>"
        f"<td class=n>{h.bytes:,}</td></tr>"
        for h in s.top_hosts
    )
    head = (
        f"<tr><th>{escape(t['site'])}</th><th>{escape(t['class'])}</th><th>{escape(t['hosts'])}</th>"
        f"<th>{escape(t['days'])}</th><th>{escape(t['sessions'])}</th><th>{escape(t['bytes'])}</th></tr>"
    )
    host_head = (
        f"<tr><th>{escape(t['host'])}</th><th>{escape(t['owner'])}</th><th>{escape(t['sites'])}</th>"
        f"<th>{escape(t['days'])}</th><th>{escape(t['sessions'])}</th><th>{escape(t['bytes'])}</th></tr>"
    )
    return (
        f"<h2>{escape(t['title'])}</h2><p>{escape(t['intro'])}</p>"
        f"<p>{escape(t['hosts'])}: {s.hosts} · {escape(t['sites'])}: {s.sites} · "
        f"{escape(t['sessions'])}: {s.sessions} · {escape(t['bytes'])}: {s.bytes:,}</p><p>{found}</p>"
        f"<table>{head}{sites}</table><table>{host_head}{hosts}</table>"
        f"<h3>{escape(t['hours'])} ({escape(s.timezone)})</h3>{_hours_svg(s.hours)}"
    )
