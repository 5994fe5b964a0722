"""The bulletin as one self-contained HTML page: styles inline, charts as inline SVG, no
script and no request to anywhere, so it opens the same offline. Chinese or English."""

from __future__ import annotations

from datetime import UTC, tzinfo
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from minewatch.model.document import parse_time
from minewatch.report.bulletin import Bulletin, Count
from minewatch.report.citymap import city_map_svg
from minewatch.report.trading import TradingSummary, trading_section

__all__ = ["LABELS", "SECTOR_NAMES", "bars_svg", "curve_svg", "human_number", "meters_section", "render_html"]

LABELS = {
    "en": {
        "title": "Cryptocurrency mining bulletin",
        "period": "Period",
        "region": "Region",
        "all": "all regions",
        "headline": "Headline figures",
        "hosts": "Mining IP addresses",
        "traffic": "Mining traffic (period average)",
        "traffic_mining": "Mining traffic while mining",
        "before": "previous period",
        "energy": "Energy per day",
        "co2": "CO2 per day",
        "compromised": "On machines likely compromised",
        "hashrate": "Hashrate by algorithm",
        "algorithm": "Algorithm",
        "measured": "hosts measured",
        "interval": "95% bounds",
        "map": "Where the mining hosts are",
        "by_city": "By city",
        "by_county": "By county",
        "by_sector": "By sector (compromised share)",
        "by_coin": "By coin",
        "by_pool": "By pool",
        "top_orgs": "Top organisations",
        "trend": "Mining hosts by day",
        "method": "How the figures are made",
        "unknown": "unknown",
        "none": "none measured",
        "meters": "Meters by mining score",
        "meter": "Meter",
        "site": "Site",
        "business": "Declared business",
        "score": "Score",
        "since": "Since",
        "load": "Daily energy (red: from the suspect rise)",
        "why": "Why",
    },
    "zh": {
        "title": "加密货币挖矿通报",
        "period": "时段",
        "region": "地区",
        "all": "全部地区",
        "headline": "主要数据",
        "hosts": "挖矿IP数",
        "traffic": "挖矿流量（时段平均）",
        "traffic_mining": "挖矿时流量",
        "before": "上一时段",
        "energy": "日耗电量",
        "co2": "日二氧化碳排放",
        "compromised": "疑似被入侵的机器",
        "hashrate": "各算法算力",
        "algorithm": "算法",
        "measured": "测得算力的主机",
        "interval": "95%区间",
        "map": "挖矿主机分布",
        "by_city": "按城市",
        "by_county": "按区县",
        "by_sector": "按行业（被入侵比例）",
        "by_coin": "按币种",
        "by_pool": "按矿池",
        "top_orgs": "主要单位",
        "trend": "每日挖矿主机数",
        "method": "数据说明",
        "unknown": "未知",
        "none": "未测得",
        "meters": "电表挖矿可疑度排名",
        "meter": "电表",
        "site": "站点",
        "business": "申报行业",
        "score": "可疑度",
        "since": "起始",
        "load": "日用电量（红色：可疑上升之后）",
        "why": "依据",
    },
}
# Sector names as the page shows them (the JSON keeps the codes).
SECTOR_NAMES = {
    "zh": {
        "government": "政府",
        "education": "教育",
        "healthcare": "医疗",
        "enterprise": "企业",
        "residential": "家庭宽带",
        "datacenter": "数据中心/云",
        "unknown": "未知",
    },
    "en": {"datacenter": "data centre / cloud"},
}

_STYLE = " ".join(
    [
        'body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei",sans-serif;',
        "margin:2em auto;max-width:60em;color:#1b1b1b;line-height:1.45}",
        "h1{font-size:1.6em;margin-bottom:.2em}",
        "h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}",
        ".figures{display:flex;flex-wrap:wrap;gap:1em}",
        ".figure{flex:1 1 10em;border:1px solid #ddd;border-radius:6px;padding:.6em .8em}",
        ".figure b{display:block;font-size:1.5em}.figure span{color:#555;font-size:.9em}",
        "table{border-collapse:collapse;width:100%;font-size:.92em}",
        "td,th{border-bottom:1px solid #eee;padding:.25em .5em;text-align:left}",
        "td.n{text-align:right;font-variant-numeric:tabular-nums}svg{max-width:100%;height:auto}",
        ".notes li{margin-bottom:.3em;color:#333}",
        "@media print{body{margin:0;max-width:none}.figure{break-inside:avoid}h2{break-after:avoid}}",
    ]
)


def human_number(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "–"
    for scale, suffix in ((1e15, " P"), (1e12, " T"), (1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(x) >= scale:
            return f"{x / scale:.{digits}f}{suffix}"
    return f"{x:.{digits}f}"


def _rate(value: float | None, unit: str, none: str) -> str:
    return f"{human_number(value)} {unit}" if value is not None else escape(none)


def bars_svg(
    rows: tuple[Count, ...], unknown: str, limit: int = 12, names: dict[str, str] | None = None
) -> str:
    """A horizontal bar chart as inline SVG: hosts, with the compromised part darker."""
    rows = rows[:limit]
    if not rows:
        return f"<p>{escape(unknown)}</p>"
    top = max(c.hosts for c in rows) or 1
    height, label_w, bar_w = 22, 260, 360
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 80}" '
        f'height="{height * len(rows) + 6}" role="img">'
    ]
    for i, c in enumerate(rows):
        y = i * height + 3
        w = max(1, round(bar_w * c.hosts / top))
        dark = round(bar_w * c.compromised / top)
        label = c.label if c.label != "unknown" else unknown
        label = (names or {}).get(label, label)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(label[:40])}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{height - 7}" fill="#8fb3d9"/>'
            f'<rect x="{label_w}" y="{y + 3}" width="{dark}" height="{height - 7}" fill="#c0504d"/>'
            f'<text x="{label_w + w + 6}" y="{y + 15}" font-size="12">{c.hosts}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _trend(rows: tuple[Count, ...], unknown: str) -> str:
    if not rows:
        return f"<p>{escape(unknown)}</p>"
    top = max(c.hosts for c in rows) or 1
    w, h, step = 720, 160, max(8, min(40, 720 // max(1, len(rows))))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 30}" role="img">']
    for i, c in enumerate(rows):
        bh = round(h * c.hosts / top)
        x = i * step
        parts.append(f'<rect x="{x}" y="{h - bh}" width="{step - 2}" height="{bh}" fill="#8fb3d9"/>')
        if len(rows) <= 31 or i % 7 == 0:
            parts.append(f'<text x="{x}" y="{h + 14}" font-size="9">{escape(c.label[5:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def curve_svg(daily: list[float | None], first_day: str | None, start: str | None, width: int = 360) -> str:
    """A meter's daily energy as a small inline SVG line; days from the suspect rise in red."""
    values = [v for v in daily if v is not None]
    if not values:
        return ""
    top = max(values) or 1.0
    h = 48
    step = width / max(len(daily) - 1, 1)
    cut = len(daily)
    if start and first_day:
        from datetime import datetime

        cut = (
            datetime.fromisoformat(start.replace("Z", "+00:00"))
            - datetime.fromisoformat(first_day.replace("Z", "+00:00"))
        ).days

    def line(lo: int, hi: int, colour: str) -> str:
        points = " ".join(
            f"{i * step:.1f},{h - 2 - (v / top) * (h - 4):.1f}"
            for i, v in enumerate(daily)
            if lo <= i < hi and v is not None
        )
        return (
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{points}"/>'
            if points
            else ""
        )

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" role="img">'
        f"{line(0, cut + 1, '#5b7fa8')}{line(cut, len(daily), '#c0504d')}</svg>"
    )


def meters_section(rows: list[dict[str, Any]], lang: str, limit: int = 20) -> str:
    """The meters ranked by score, each with its reasons and its load curve."""
    if not rows:
        return ""
    t = LABELS[lang]
    body = []
    for r in rows[:limit]:
        # The rise and its date first: the finding a person can check on the curve.
        reasons = sorted(
            r.get("reasons") or [], key=lambda x: (x["feature"] != "baseload_step_kw", -x["part"])
        )
        why = "; ".join(str(x["sentence"]) for x in reasons[:3] if x["part"] > 0.3)
        score = float(r["score"])
        body.append(
            f"<tr><td>{escape(str(r['meter']))}</td><td>{escape(str(r.get('site') or ''))}<br>"
            f"<small>{escape(str(r.get('organisation') or ''))}</small></td>"
            f"<td>{escape(str(r.get('business_type') or ''))}</td><td class=n><b>{score:.2f}</b></td>"
            f"<td>{escape(str(r.get('start') or '')[:10])}</td>"
            f"<td>{curve_svg(r.get('daily_kwh') or [], r.get('first_day'), r.get('start'))}</td>"
            f"<td><small>{escape(why)}</small></td></tr>"
        )
    return (
        f"<h2>{escape(t['meters'])}</h2><table><tr><th>{escape(t['meter'])}</th><th>{escape(t['site'])}</th>"
        f"<th>{escape(t['business'])}</th><th>{escape(t['score'])}</th><th>{escape(t['since'])}</th>"
        f"<th>{escape(t['load'])}</th><th>{escape(t['why'])}</th></tr>{''.join(body)}</table>"
    )


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return UTC


def local_time(text: str, zone: tzinfo, lang: str) -> str:
    """An RFC 3339 time as the office reads it: its zone, its language, to the minute."""
    t = parse_time(text).astimezone(zone)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}" if lang == "zh" else f"{t.day} {t:%b %Y %H:%M}"


def _versus(now: float | None, before: float | None, t: dict[str, str]) -> str:
    """The change against the period before, as a reader says it."""
    if now is None or before is None:
        return ""
    if before == 0:
        return f"{t['before']}: 0"
    return f"{t['before']}: {human_number(before)} ({(now - before) / before:+.0%})"


def render_html(
    b: Bulletin,
    lang: str = "en",
    meters: list[dict[str, Any]] | None = None,
    trading: TradingSummary | None = None,
) -> str:
    t = LABELS[lang]
    unknown = t["unknown"]
    share = f"{b.compromised / b.mining_hosts:.0%}" if b.mining_hosts else "–"
    energy = b.energy_kwh_day
    co2 = b.co2_kg_day
    before = b.previous
    figures = [
        (
            t["hosts"],
            f"{b.mining_hosts:,}",
            _versus(b.mining_hosts, before.mining_hosts if before else None, t),
        ),
        (
            t["traffic"],
            f"{human_number(b.mbit_s_period, 3) if b.mbit_s_period is not None else '–'} Mbit/s",
            _versus(b.mbit_s_period, before.mbit_s_period if before else None, t),
        ),
        (t["traffic_mining"], f"{human_number(b.mbit_s, 3) if b.mbit_s is not None else '–'} Mbit/s", ""),
        (
            t["energy"],
            f"{human_number(energy.best)} kWh" if energy else "–",
            f"{human_number(energy.low)}–{human_number(energy.high)}" if energy else "",
        ),
        (
            t["co2"],
            f"{human_number(co2.best)} kg" if co2 else "–",
            f"{human_number(co2.low)}–{human_number(co2.high)}" if co2 else "",
        ),
        (t["compromised"], share, f"{b.compromised} / {b.mining_hosts}"),
    ]
    zone = _zone(b.timezone)
    shown = (b.since or b.first_seen, b.until or b.last_seen)
    period = " — ".join(local_time(x, zone, lang) if x else "–" for x in shown) + f" ({b.timezone})"
    algo_rows = "".join(
        f"<tr><td>{escape(a.algorithm)}</td><td class=n>{a.hosts}</td><td class=n>{a.hosts_measured}</td>"
        f"<td class=n>{_rate(a.hashrate, a.unit, t['none'])}</td>"
        f"<td class=n>{human_number(a.low)}–{human_number(a.high)}</td></tr>"
        for a in b.algorithms
    )
    places = [(c.label.split(" / ")[-1], c.code, c.hosts) for c in b.by_city if c.label != "unknown"]
    sections = [
        (t["map"], city_map_svg(places, lang)),
        (t["by_city"], bars_svg(b.by_city, unknown)),
        (t["by_county"], bars_svg(b.by_county, unknown)),
        (t["by_sector"], bars_svg(b.by_sector, unknown, names=SECTOR_NAMES[lang])),
        (t["by_coin"], bars_svg(b.by_coin, unknown)),
        (t["by_pool"], bars_svg(b.by_pool, unknown)),
        (t["top_orgs"], bars_svg(b.top_organisations, unknown)),
        (t["trend"], _trend(b.trend, unknown)),
    ]
    html = [
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{escape(t['title'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(t['title'])}</h1>",
        f"<p>{escape(t['period'])}: {escape(period)} · "
        f"{escape(t['region'])}: {escape(b.region or t['all'])}</p>",
        f"<h2>{escape(t['headline'])}</h2><div class=figures>",
        *(
            f"<div class=figure><span>{escape(k)}</span><b>{escape(v)}</b><span>{escape(x)}</span></div>"
            for k, v, x in figures
        ),
        "</div>",
        f"<h2>{escape(t['hashrate'])}</h2><table><tr><th>{escape(t['algorithm'])}</th><th>IP</th>"
        f"<th>{escape(t['measured'])}</th><th>H/s</th><th>{escape(t['interval'])}</th></tr>{algo_rows}</table>",
        *(f"<h2>{escape(title)}</h2>{body}" for title, body in sections),
        meters_section(meters or [], lang),
        trading_section(trading, lang),  # its own section: never part of the mining figures
        f"<h2>{escape(t['method'])}</h2><ul class=notes>",
        *(f"<li>{escape(n)}</li>" for n in b.notes),
        "</ul></body></html>",
    ]
    return "\n".join(html)
