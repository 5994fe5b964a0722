"""`minewatch traces`: trading traces (exchange and OTC sites reached, per host and day)
from captures, flow exports or the store, kept in the store's traces dataset."""

from __future__ import annotations

import json
import sys
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from minewatch.cli.options import SinceOption, UntilOption
from minewatch.options import Opt, whole

if TYPE_CHECKING:
    from minewatch.model.findings import Finding
    from minewatch.model.traces import TradingTrace
    from minewatch.report.trading import TradingSummary

__all__ = ["register", "trading_summary"]

LIMIT = Opt("--limit", whole(1, 1_000_000), 50, "Traces shown (all are stored).")


def register(app: typer.Typer) -> None:
    """Add `traces` to `app`."""

    @app.command("traces")
    def traces(
        inputs: Annotated[
            list[Path] | None, typer.Argument(help="Captures or flow logs (default: the store's flows).")
        ] = None,
        store: Annotated[
            Path | None,
            typer.Option("--store", help="Read flows from it (without inputs) and keep the traces."),
        ] = None,
        since: SinceOption = None,
        until: UntilOption = None,
        sites: Annotated[
            list[Path] | None,
            typer.Option("--sites", help="`sites check --json` results: their exchange and otc sites count."),
        ] = None,
        intel: Annotated[list[Path] | None, typer.Option("--intel", help="Extra indicator list.")] = None,
        json_lines: Annotated[bool, typer.Option("--json", help="One JSON object a trace a line.")] = False,
        limit: Annotated[int, LIMIT.flag()] = LIMIT.default,
    ) -> None:
        """Per host and UTC day, the exchange and OTC sites reached (DNS, SNI, HTTP Host), with
        flows, bytes, visits and hours. Whole UTC days; stored days are replaced."""
        from minewatch.cli.flowinput import read_flows
        from minewatch.cli.main import EXIT_INPUT, _report_inputs
        from minewatch.intel.indicators import load_default
        from minewatch.model.traces import TradingTrace
        from minewatch.trading.traces import compute_traces, days_of, sites_from_checks, trading_sites

        source, reports = read_flows("traces", inputs, store, since, until)
        checked = [s for path in sites or [] for s in sites_from_checks(path)]
        table = compute_traces(source, trading_sites(load_default(intel or []), checked), since, until)
        if store is not None:
            from minewatch.store import Store
            from minewatch.store.traces import write_traces

            target = Store(store)
            write_traces(store, table, target.tag, days_of(since, until, table))
        rows = [TradingTrace.from_row(r) for r in table.slice(0, limit).to_pylist()]
        _report_inputs(reports)
        if json_lines:
            for t in rows:
                sys.stdout.write(json.dumps(t.to_json(), ensure_ascii=False) + "\n")
        else:
            _table(rows, table.num_rows)
        if any(r.error for r in reports):
            raise typer.Exit(EXIT_INPUT)


def _table(rows: list[TradingTrace], total: int) -> None:
    table = Table("host", "day", "site", "class", "flows", "bytes", "visits", "active hours (UTC)")
    for t in rows:
        hours = ",".join(str(h) for h, n in enumerate(t.hours) if n)
        table.add_row(
            t.host,
            t.day.isoformat(),
            t.site,
            t.category,
            str(t.flows),
            f"{t.bytes:,}",
            str(t.sessions),
            hours,
        )
    out = Console(highlight=False)
    Console(highlight=False, width=None if out.is_terminal else 160).print(table)
    if total > len(rows):
        shown = f"minewatch: {len(rows)} of {total} traces shown"
        Console(stderr=True, highlight=False).print(shown, markup=False)


def trading_summary(
    store: Path,
    episodes: list[Finding],
    since: datetime | None,
    until: datetime | None,
    region: str | None,
    zone: tzinfo,
) -> TradingSummary:
    """The bulletin's trading section: the store's traces of the period (computed from its
    flows, not stored, when the store has never had traces computed), attributed."""
    from minewatch.attribute.attributor import Attributor
    from minewatch.intel.indicators import load_default
    from minewatch.report.trading import summarise
    from minewatch.sites.names import FlowSource
    from minewatch.store import Store
    from minewatch.store.traces import read_traces
    from minewatch.trading.traces import compute_traces, trading_sites

    target = Store(store)
    if (store / "traces").is_dir():
        table = read_traces(store, since, until)
    else:
        files = FlowSource(files=tuple(target.flow_files(since, until)))
        table = compute_traces(files, trading_sites(load_default()), since, until)
    attributor = Attributor.from_dir(target.attribution_dir)
    attribute = attributor.attribute if attributor else None
    return summarise(table, episodes, attribute, region, zone)
