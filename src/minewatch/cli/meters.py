"""Commands for meter data: `minewatch meters import`, `meters registry`, `meters detect`."""

import json
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
import typer
from rich.console import Console
from rich.table import Table

from minewatch.cli.options import SinceOption, StoreOption, UntilOption
from minewatch.errors import UsageError
from minewatch.options import Opt, number, whole

__all__ = ["register"]

err = Console(stderr=True, highlight=False, soft_wrap=True)
UTC_OFFSET = Opt("--utc-offset", number(-12, 14, "hours"), 8.0, "The sites' local time, hours from UTC.")
TOP = Opt("--top", whole(1, 100_000), 20, "Rows in the table.")


def register(app: typer.Typer) -> None:
    meters_app = typer.Typer(no_args_is_help=True, help="Electricity meters: series, registry, detection.")
    app.add_typer(meters_app, name="meters")

    @meters_app.command("registry")
    def registry(
        path: Annotated[Path, typer.Argument(help="CSV: meter_id, site, organisation, business_type, ...")],
        store: StoreOption,
    ) -> None:
        """Keep the meter registry (meter -> site, owner, declared business, place, networks)."""
        from minewatch.store.meters import MeterStore

        kept = MeterStore(store).keep_registry(path)
        err.print(f"minewatch: {len(kept.sites)} meters in the registry from {path}", markup=False)

    @meters_app.command("import")
    def import_meters(
        paths: Annotated[
            list[Path], typer.Argument(help="CSV or Parquet: meter id, time, kwh|wh|kw|w, phases.")
        ],
        store: StoreOption,
        unit: Annotated[
            str | None, typer.Option("--unit", help="The value column's unit, if its name lies.")
        ] = None,
        json_lines: Annotated[bool, typer.Option("--json", help="Problems as JSON Lines.")] = False,
    ) -> None:
        """Check and store meter series; every problem is reported per meter."""
        from minewatch.errors import InputError
        from minewatch.sources.meters import read_meters
        from minewatch.store.meters import MeterStore

        target = MeterStore(store)
        registry = target.registry()
        failed = 0
        table = Table(
            "file", "meter", "problem", "count", "first", "what was done", title="Meter data problems"
        )
        for path in paths:
            try:
                read = read_meters(path, unit, registry.capacities() if registry else None)
            except InputError as e:
                err.print(f"minewatch: {e}", markup=False)
                failed += 1
                continue
            target.write_series(path.name, read.series, read.interval_s)
            err.print(
                f"minewatch: {path}: {len(read.interval_s)} meters, {read.series.num_rows} readings, "
                f"{len(read.issues)} problems",
                markup=False,
            )
            for issue in read.issues:
                if json_lines:
                    first = issue.first.isoformat() if issue.first else None
                    row = {"file": str(path), "meter": issue.meter, "kind": issue.kind, "count": issue.count}
                    print(json.dumps({**row, "first": first, "detail": issue.detail}, ensure_ascii=False))
                else:
                    when = f"{issue.first:%Y-%m-%d %H:%M}" if issue.first else ""
                    table.add_row(path.name, issue.meter, issue.kind, str(issue.count), when, issue.detail)
        if table.row_count and not json_lines:
            Console(highlight=False, width=None if Console().is_terminal else 160).print(table)
        if failed:
            raise typer.Exit(1)

    @meters_app.command("detect")
    def detect_meters(
        store: StoreOption,
        json_lines: Annotated[
            bool, typer.Option("--json", help="Assessments and site findings as JSON Lines.")
        ] = False,
        utc_offset: Annotated[float, UTC_OFFSET.flag()] = UTC_OFFSET.default,
        top: Annotated[int, TOP.flag()] = TOP.default,
        since: SinceOption = None,
        until: UntilOption = None,
    ) -> None:
        """Score every meter for mining load; join suspect sites to the network's findings."""
        from minewatch.detect.fuse_power import assessment_to_json, fuse_sites
        from minewatch.detect.power import assess_all
        from minewatch.store import Store
        from minewatch.store.meters import MeterStore

        source = MeterStore(store)
        series, intervals = source.read_series()
        if series is None:
            raise UsageError(str(store), f"no meter series (minewatch meters import FILE --store {store})")
        # The period to score: the readings in [since, until).
        stamp = pa.timestamp("s", tz="UTC")
        start, end = since, until
        if start is not None:
            series = series.filter(pc.greater_equal(series["ts"].cast(stamp), pa.scalar(start, stamp)))
        if end is not None:
            series = series.filter(pc.less(series["ts"].cast(stamp), pa.scalar(end, stamp)))
        assessments = assess_all(series, intervals, source.registry(), utc_offset)
        rows = [assessment_to_json(a) for a in assessments]
        source.write_assessments(rows)
        sites = fuse_sites(assessments, Store(store).findings())
        if json_lines:
            for row in rows:
                print(json.dumps({"type": "meter", **row}, ensure_ascii=False))
            for site in sites:
                print(json.dumps({"type": "site", **site}, ensure_ascii=False))
            return
        table = Table(
            "meter", "site", "business", "score", "from", "kW", "why", title="Meters by mining score"
        )
        for row in rows[:top]:
            why = "; ".join(r["sentence"] for r in row["reasons"][:2])
            table.add_row(
                row["meter"],
                row["site"] or "",
                row["business_type"] or "",
                f"{row['score']:.2f}",
                (row["start"] or "")[:10],
                f"{row['mining_kw']:.1f}" if row["mining_kw"] else "",
                why,
            )
        out = Console(highlight=False, width=None if Console().is_terminal else 160)
        out.print(table)
        for site in sites:
            energy = site["energy_kwh_day"]["best"]
            out.print(
                f"site {site['site']} ({site['organisation']}): meter {site['meter']} and the network agree: "
                f"hosts {', '.join(site['hosts'])}; {energy} kWh/day ({site['energy_basis']}); "
                f"metered new load {site['metered_kwh_day']} kWh/day",
                markup=False,
            )
        suspect = sum(1 for r in rows if r["suspect"])
        err.print(
            f"minewatch: {len(rows)} meters, {suspect} suspect, {len(sites)} sites with network evidence",
            markup=False,
        )
