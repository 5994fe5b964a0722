"""Terminal and JSON Lines renderings of a scan result."""

from __future__ import annotations

import json
from typing import TextIO

from rich.console import Console
from rich.table import Table

from minewatch.model.findings import Bounds, Finding, Hashrate, ScanResult
from minewatch.report.figures import Figures
from minewatch.report.jsonl import finding_to_json

__all__ = ["format_rate", "print_jsonl", "print_summary", "print_table"]

_PREFIXES = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _si(value: float, unit: str) -> str:
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _range(best: float, low: float, high: float, unit: str) -> str:
    return f"{_si(best, unit)} ({_si(low, '').strip()}-{_si(high, '').strip()})"


def format_rate(h: Hashrate | None) -> str:
    """`12 MH/s (7.8 M-17.8 M)`: the estimate and its 95% interval."""
    if h is None:
        return ""
    if h.shares == 0:
        return f"< {_si(h.high, h.unit)}"
    return _range(h.value, h.low, h.high, h.unit)


def _bounds(b: Bounds | None, unit: str) -> str:
    return "" if b is None else _range(b.best, b.low, b.high, unit)


def print_jsonl(result: ScanResult, out: TextIO) -> None:
    for f in result.findings:
        out.write(json.dumps(finding_to_json(f), ensure_ascii=False) + "\n")


def _pools(f: Finding) -> str:
    shown = [f"{p.name or p.ip}:{p.port}" for p in f.pools[:3]]
    more = f" +{len(f.pools) - 3}" if len(f.pools) > 3 else ""
    return ", ".join(shown) + more


def _shares(f: Finding) -> str:
    if f.shares is None:
        return ""
    rejected = f" ({f.shares.rejected} rej)" if f.shares.rejected else ""
    return f"{f.shares.accepted}/{f.shares.submitted}{rejected}"


def print_table(result: ScanResult, console: Console) -> None:
    if not result.findings:
        console.print("No mining, pool, exchange, web-miner or node activity found.")
        return
    table = Table(title=f"{len(result.findings)} findings", title_justify="left")
    # Estimates and the reason are worth their width only on a wide terminal; --json and
    # --summary always have them.
    measured = console.width >= 120
    wide = console.width >= 160
    columns = ["Host", "Activity", "Protocol", "Coin / algorithm", "Pools / peers", "Shares"]
    columns += ["Hashrate (95%)", "Power W"] if measured else []
    for name in (*columns, "Conf."):
        table.add_column(name, overflow="fold")
    if wide:
        table.add_column("Why", overflow="ellipsis", no_wrap=True, max_width=60)
    for f in result.findings:
        coin = " / ".join(x for x in (f.coin, f.algorithm) if x)
        why = f.evidence[0].detail if f.evidence else ""
        cells = [f.host, f.activity.value, f.protocol or "", coin, _pools(f), _shares(f)]
        if measured:
            cells += [format_rate(f.hashrate), _bounds(f.power_w, "")]
        cells.append(f"{f.confidence:.2f}")
        table.add_row(*cells, *([why] if wide else []))
    console.print(table)


def print_summary(summary: Figures, console: Console) -> None:
    """The figures of the whole input, each host once."""
    table = Table(title="Summary", title_justify="left", show_header=False)
    table.add_column("figure")
    table.add_column("value", overflow="fold")
    start, end = summary.since or summary.first_seen, summary.until or summary.last_seen
    when = f"{start[:19].replace('T', ' ')} to {end[:19].replace('T', ' ')} UTC" if start and end else "-"
    table.add_row("window", when)
    table.add_row("mining hosts", str(summary.mining_hosts))
    rate = f"{summary.mbit_s_period:.4g} Mbit/s" if summary.mbit_s_period is not None else "-"
    working = f"; {summary.mbit_s:.4g} Mbit/s while mining" if summary.mbit_s is not None else ""
    table.add_row("mining traffic", f"{rate} ({_si(summary.mining_bytes, 'B')}){working}")
    for a in summary.algorithms:
        measured = f"{a.hosts_measured} of {a.hosts} hosts measured"
        rated = (
            _range(a.hashrate, a.low or 0.0, a.high or 0.0, a.unit.removesuffix("/s")) + "/s"
            if a.hashrate is not None
            else "-"
        )
        table.add_row(f"hashrate {a.algorithm}", f"{rated}; {measured}")
    table.add_row("power", _bounds(summary.power_w, "W") or "-")
    table.add_row("energy per day", _bounds(summary.energy_kwh_day, "kWh") or "-")
    table.add_row("CO2 per day", _bounds(summary.co2_kg_day, "kg") or "-")
    console.print(table)
    if summary.hosts_without_estimate:
        console.print(
            f"note: {summary.hosts_without_estimate} of {summary.mining_hosts} mining hosts have no hashrate "
            "(encrypted, flow-only or unknown algorithm): the totals are lower bounds of what they describe",
            markup=False,
        )
