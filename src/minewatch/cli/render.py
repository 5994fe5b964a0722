"""Terminal and JSON Lines renderings of a scan result."""

from __future__ import annotations

import json
from typing import TextIO

from rich.console import Console
from rich.table import Table

from minewatch.model.findings import Finding, ScanResult
from minewatch.report.jsonl import finding_to_json

__all__ = ["print_jsonl", "print_table"]


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
    for name in ("Host", "Activity", "Protocol", "Coin / algorithm", "Pools / peers", "Shares", "Conf."):
        table.add_column(name, overflow="fold")
    # The reason is worth its width only on a wide terminal; --json always has it.
    wide = console.width >= 140
    if wide:
        table.add_column("Why", overflow="ellipsis", no_wrap=True, max_width=60)
    for f in result.findings:
        coin = " / ".join(x for x in (f.coin, f.algorithm) if x)
        why = f.evidence[0].detail if f.evidence else ""
        cells = [
            f.host,
            f.activity.value,
            f.protocol or "",
            coin,
            _pools(f),
            _shares(f),
            f"{f.confidence:.2f}",
        ]
        table.add_row(*cells, *([why] if wide else []))
    console.print(table)
