"""Entry point: `minewatch scan`, `minewatch intel update`. `main(argv)` returns the exit
status: 0 run completed, 1 some input could not be read, 2 usage error."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from minewatch.cli.meters import register as register_meters
from minewatch.cli.options import DbOption, StoreOption
from minewatch.cli.options import when as _when
from minewatch.cli.service import register as register_service
from minewatch.detect.context import DEFAULT_HOME_NETWORKS, HomeNetworks
from minewatch.errors import CaptureReadError, MinewatchError
from minewatch.estimate import DEFAULT_GRID, EstimateOptions, GridFactor
from minewatch.intel.indicators import load_default
from minewatch.intel.update import update as update_intel
from minewatch.model.attribution import Attribution
from minewatch.model.findings import Finding, InputReport, ScanResult
from minewatch.report.jsonl import summary_to_json
from minewatch.scan import ScanOptions, scan_captures, scan_paths
from minewatch.sources.base import EngineOptions
from minewatch.sources.live import read_interface
from minewatch.sources.pcap import expand_paths

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from minewatch.report.figures import Figures
    from minewatch.store import Store

__all__ = ["app", "main", "run"]

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0] if __doc__ else None
)
intel_app = typer.Typer(no_args_is_help=True, help="Indicator lists: pools, web miners, exchanges.")
app.add_typer(intel_app, name="intel")
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _seconds(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise typer.BadParameter(f"cannot parse {value!r}: expected seconds") from None
    if not v > 0:
        raise typer.BadParameter(f"{value!r}: expected a positive number of seconds")
    return v


def _cidr(value: str) -> str:
    try:
        HomeNetworks((value,))
    except ValueError:
        raise typer.BadParameter(f"cannot parse {value!r}: expected a network such as 10.0.0.0/8") from None
    return value


def _report_inputs(inputs: tuple[InputReport, ...]) -> None:
    for r in inputs:
        if r.error:
            err.print(f"minewatch: {r.source}: {r.error}", markup=False)
        elif r.warning:
            err.print(f"minewatch: warning: {r.source}: {r.warning}", markup=False)


def _scan_files(paths: list[Path], options: ScanOptions) -> ScanResult:
    if not err.is_terminal:
        return scan_paths(paths, options)
    files, _ = expand_paths(paths)
    total = sum(p.stat().st_size for p in files if p.is_file())
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"scanning {len(files)} files", total=total or None)
        return scan_paths(paths, options, progress=lambda _src, size: bar.advance(task, size))


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@app.command()
def scan(
    paths: Annotated[list[Path] | None, typer.Argument(help="Capture files or directories of them.")] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per finding per line.")] = False,
    flows: Annotated[
        Path | None, typer.Option("--flows", help="Also write the flow records as Parquet.")
    ] = None,
    interface: Annotated[
        str | None, typer.Option("-i", "--interface", help="Capture live (needs root).")
    ] = None,
    duration: Annotated[str, typer.Option("--duration", help="Seconds to capture live.")] = "60",
    bpf: Annotated[str | None, typer.Option("--filter", help="BPF filter for live capture.")] = None,
    intel: Annotated[
        list[Path] | None, typer.Option("--intel", help="Extra indicator list (repeatable).")
    ] = None,
    home_net: Annotated[
        list[str] | None,
        typer.Option("--home-net", help="Network of ours (repeatable); default private ranges."),
    ] = None,
    idle_timeout: Annotated[
        str, typer.Option("--idle-timeout", help="Seconds before an idle flow ends.")
    ] = "300",
    active_timeout: Annotated[
        str, typer.Option("--active-timeout", help="Seconds before a long flow is cut.")
    ] = "3600",
    summary: Annotated[
        bool, typer.Option("--summary", help="Bulletin figures for the whole input (with --json: as JSON).")
    ] = False,
    grid_factor: Annotated[
        float | None,
        typer.Option("--grid-factor", min=0.0, max=2.0, help="kg CO2 per kWh (default: China 2023, 0.5306)."),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads", min=1, max=256, help="Engine threads per large capture (default: all cores)."
        ),
    ] = None,
) -> None:
    """Find mining, pools, exchanges, web miners and crypto nodes in packet captures."""
    if not paths and interface is None:
        raise typer.BadParameter("give capture paths or --interface")
    if paths and interface is not None:
        raise typer.BadParameter("give capture paths or --interface, not both")
    idle, active, live_s = _seconds(idle_timeout), _seconds(active_timeout), _seconds(duration)
    home = tuple(_cidr(c) for c in home_net) if home_net else DEFAULT_HOME_NETWORKS
    options = ScanOptions(
        engine=EngineOptions(idle_timeout_s=idle, active_timeout_s=active, workers=threads or _cores()),
        intel=load_default(intel or []),
        home=HomeNetworks(home),
        flows_path=flows,
        estimate=EstimateOptions(
            GridFactor(grid_factor, "given with --grid-factor") if grid_factor is not None else DEFAULT_GRID
        ),
    )
    if interface is not None:

        def live() -> object:
            try:
                yield read_interface(interface, live_s, options.engine, bpf)
            except CaptureReadError as e:
                yield e

        result = scan_captures(live(), options)  # type: ignore[arg-type]
    else:
        result = _scan_files(paths or [], options)
    _report_inputs(result.inputs)
    if summary:
        figures = _summary(result)
        if json_lines:
            sys.stdout.write(json.dumps(summary_to_json(figures), ensure_ascii=False) + "\n")
        else:
            from minewatch.cli.render import print_summary

            print_summary(figures, Console(highlight=False))
    elif json_lines:
        from minewatch.cli.render import print_jsonl

        print_jsonl(result, sys.stdout)
    else:
        from minewatch.cli.render import print_table

        print_table(result, Console(highlight=False))
    if result.failed_inputs:
        raise typer.Exit(EXIT_INPUT)


@intel_app.command("update")
def intel_update(
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each list.")] = 20.0,
) -> None:
    """Download the public mining blocklists (CoinBlockerLists, NoCoin) for later scans."""
    report = update_intel(timeout_s=timeout)
    for name, count in report.counts:
        err.print(f"{name}: {count} indicators", markup=False)
    err.print(f"saved to {report.path}", markup=False)


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmg]?)b?\s*$", re.IGNORECASE)


def _size(value: str) -> int:
    m = _SIZE.match(value)
    if m is None:
        raise typer.BadParameter(f"cannot parse {value!r}: expected a size such as 8MB or 1.5GB")
    return int(float(m.group(1)) * {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2).lower()])


@app.command()
def generate(
    output: Annotated[Path | None, typer.Argument(help="The pcap file to write.")] = None,
    size: Annotated[str, typer.Option("--size", help="Approximate size, e.g. 8MB or 1.5GB.")] = "8MB",
    hosts: Annotated[int, typer.Option("--hosts", help="Client hosts.")] = 2000,
    duration: Annotated[str, typer.Option("--duration", help="Seconds of traffic.")] = "600",
    seed: Annotated[int, typer.Option("--seed")] = 1,
    province: Annotated[
        Path | None,
        typer.Option("--province", help="Instead: a province-day (hourly flows, inventory, truth) here."),
    ] = None,
    miners: Annotated[int, typer.Option("--miners", help="Mining hosts of a province-day.")] = 150,
    day: Annotated[str, typer.Option("--date", help="The province-day's local date.")] = "2026-11-20",
    province_code: Annotated[str, typer.Option("--province-code", help="Division code.")] = "320000",
    intel: Annotated[Path | None, typer.Option("--intel", help="Pool list to pick pools from.")] = None,
    parquet: Annotated[bool, typer.Option("--parquet", help="Hourly files as Parquet, not CSV.")] = False,
) -> None:
    """Write a synthetic mixed capture: ordinary traffic with a little mining of every kind;
    or, with --province, a province-day of hourly flow files with its inventory and truth."""
    from minewatch.synth import GeneratorConfig
    from minewatch.synth import generate as write_capture

    if province is not None:
        _generate_province(province, hosts, miners, seed, day, province_code, intel, parquet)
        return
    if output is None:
        raise typer.BadParameter("expected the pcap file to write, or --province DIR")
    cfg = GeneratorConfig(
        target_bytes=_size(size), hosts=max(hosts, 20), duration_s=_seconds(duration), seed=seed
    )
    report = write_capture(output, cfg)
    err.print(
        f"wrote {report.path}: {report.packets} packets, {report.bytes} bytes, {report.flows} flows, "
        f"{len(report.mining_hosts)} mining hosts",
        markup=False,
    )


def _generate_province(
    out: Path, hosts: int, miners: int, seed: int, day: str, code: str, intel: Path | None, parquet: bool
) -> None:
    from datetime import date

    from minewatch.synth.province import ProvinceConfig, generate_province

    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"cannot parse --date {day!r}: expected YYYY-MM-DD") from None
    fmt: Literal["csv", "parquet"] = "parquet" if parquet else "csv"
    cfg = ProvinceConfig(out, max(hosts, 1), max(miners, 0), seed, when, code, intel, format=fmt)
    try:
        report = generate_province(cfg)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    err.print(
        f"wrote {len(report.files)} hourly files in {report.out / 'flows'}: {report.records} records "
        f"({report.mining_records} mining, {report.mining_hosts} mining hosts); inventory.csv, truth.json",
        markup=False,
    )


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise typer.BadParameter(f"{value!r}: expected HOST:PORT, e.g. 127.0.0.1:2055")
    return host.strip("[]") or "0.0.0.0", int(port)


def _mapping(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        target, sep, source = pair.partition("=")
        if not sep or not target or not source:
            raise typer.BadParameter(f"{pair!r}: expected OURS=THEIRS, e.g. client_ip=src")
        out[target.strip()] = source.strip()
    return out


@app.command()
def collect(
    store: StoreOption,
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT to receive NetFlow/IPFIX on.")
    ] = "127.0.0.1:2055",
    duration: Annotated[
        str | None,
        typer.Option("--duration", help="Stop after this many seconds (default: run until Ctrl-C)."),
    ] = None,
    window: Annotated[
        str, typer.Option("--window", help="Seconds of evidence fused into one finding.")
    ] = "60",
    intel: Annotated[
        list[Path] | None, typer.Option("--intel", help="Extra indicator list (repeatable).")
    ] = None,
) -> None:
    """Receive NetFlow v5/v9 and IPFIX, store the flows by hour, and detect as they come."""
    import logging

    from minewatch.collect import CollectOptions, Collector
    from minewatch.store import Store

    host, port = _listen(listen)
    options = CollectOptions(
        host=host, port=port, window_s=_seconds(window), scan=ScanOptions(intel=load_default(intel or []))
    )
    logging.basicConfig(level=logging.WARNING, format="minewatch: %(message)s")
    try:
        collector = Collector(Store(store), options)
    except OSError as e:
        err.print(f"minewatch: {e}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    err.print(f"minewatch: collecting on {host}:{collector.port} into {store}", markup=False)
    seconds = None if duration is None else _seconds(duration)
    try:
        if err.is_terminal:
            from rich.live import Live

            with Live(console=err, transient=False, refresh_per_second=2) as live:
                collector.run(seconds, on_status=lambda st: live.update(st.line()))
        else:
            collector.run(seconds)
    except KeyboardInterrupt:
        collector.stop.set()
    err.print(f"minewatch: {collector.status().line()}", markup=False)


@app.command("import")
def import_logs(
    paths: Annotated[
        list[Path], typer.Argument(help="nfdump, Zeek (conn, dns, ssl), CSV or Parquet flow logs.")
    ],
    store: StoreOption,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Column mapping OURS=THEIRS for CSV/Parquet (repeatable)."),
    ] = None,
    intel: Annotated[
        list[Path] | None, typer.Option("--intel", help="Extra indicator list (repeatable).")
    ] = None,
) -> None:
    """Import flow logs into the store and record what the detectors find in them."""
    from minewatch.store import Store

    target = Store(store)
    mapping = _mapping(map_)
    options = ScanOptions(
        intel=load_default(intel or []), flow_writer=target.write_flows, flow_mapping=mapping
    )
    result = scan_paths(paths, options)
    _report_inputs(result.inputs)
    written = target.write_findings(result.findings)
    flows = sum(r.flows for r in result.inputs)
    err.print(
        f"minewatch: imported {flows} flows from {len(result.inputs)} inputs; {written} findings",
        markup=False,
    )
    if result.failed_inputs:
        raise typer.Exit(EXIT_INPUT)


inventory_app = typer.Typer(no_args_is_help=True, help="The address-space inventory: whose blocks are whose.")
app.add_typer(inventory_app, name="inventory")


@inventory_app.command("import")
def inventory_import(
    path: Annotated[
        Path,
        typer.Argument(
            help="Inventory (CSV/Parquet: cidr or start/end, organisation, sector, region, ...), "
            "or a fallback: ASN database (.mmdb), iptoasn TSV, RIR delegated-extended file."
        ),
    ],
    store: StoreOption,
) -> None:
    """Make an inventory the store's, or add a fallback source; findings are attributed."""
    from minewatch.attribute.attributor import add_source
    from minewatch.store import Store

    target = Store(store)
    what = add_source(path, target.attribution_dir)
    err.print(f"minewatch: {path}: {what}, kept in {target.attribution_dir}", markup=False)


cases_app = typer.Typer(no_args_is_help=True, help="Cases under disposal: open, move, verify, export.")
app.add_typer(cases_app, name="cases")


def _cases_db(store: Path, db: str | None) -> Engine:
    from minewatch.cases.db import connect

    return connect(db or f"sqlite:///{store / 'cases.sqlite'}")


@cases_app.command("units")
def cases_units(
    path: Annotated[Path, typer.Argument(help="CSV: code, name, level, parent_code.")],
    store: StoreOption,
    db: DbOption = None,
) -> None:
    """Load the unit tree (province, cities, counties by division code)."""
    from sqlalchemy.orm import Session

    from minewatch.cases.db import load_units

    store.mkdir(parents=True, exist_ok=True)
    with Session(_cases_db(store, db)) as session:
        n = load_units(session, path)
        session.commit()
    err.print(f"minewatch: {n} units from {path}", markup=False)


@cases_app.command("sync")
def cases_sync(
    store: StoreOption,
    db: DbOption = None,
    since: Annotated[str | None, typer.Option("--since", help="Findings from this time or age.")] = None,
) -> None:
    """Open cases from the store's findings (attributed), or add findings to open ones."""
    from sqlalchemy.orm import Session

    from minewatch.cases.db import root_unit
    from minewatch.cases.workflow import open_from_findings

    rows = _attributed_episodes(store, _when(since), None)
    with Session(_cases_db(store, db)) as session:
        touched = open_from_findings(session, rows, datetime.now(UTC), root_unit(session))
        session.commit()
        opened = sum(1 for c in touched if len(c.events) == 1)
    err.print(
        f"minewatch: {len(rows)} findings: {opened} cases opened, {len(touched) - opened} updated",
        markup=False,
    )


@cases_app.command("list")
def cases_list(
    store: StoreOption,
    db: DbOption = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per case per line.")] = False,
) -> None:
    """Open and closed cases, newest first."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from minewatch.cases.models import Case

    with Session(_cases_db(store, db)) as session:
        cases = list(session.scalars(select(Case).order_by(Case.id.desc())))
        rows: list[dict[str, Any]] = [
            {
                "id": c.id,
                "host": c.host,
                "activity": c.activity,
                "unit": c.unit.name,
                "unit_code": c.unit.code,
                "severity": c.severity,
                "status": c.status,
                "verdict": c.verdict,
                "deadline": c.deadline.isoformat() if c.deadline else None,
                "findings": len(c.findings),
                "events": [
                    {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                    for e in c.events
                ],
            }
            for c in cases
        ]
    if json_lines:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    from rich.table import Table

    table = Table("id", "host", "activity", "unit", "severity", "status", "deadline", "findings")
    for r in rows:
        status = r["status"] + (f" ({r['verdict']})" if r["verdict"] else "")
        table.add_row(
            str(r["id"]),
            r["host"],
            r["activity"],
            r["unit"],
            r["severity"],
            status,
            (r["deadline"] or "")[:16],
            str(r["findings"]),
        )
    out = Console(highlight=False)
    Console(highlight=False, width=None if out.is_terminal else 132).print(table)


@cases_app.command("step")
def cases_step(
    case_id: Annotated[int, typer.Argument(help="The case.")],
    to: Annotated[
        str,
        typer.Argument(help="triaged, owner_notified, rectification_ordered, blocked, verifying, or close"),
    ],
    store: StoreOption,
    actor: Annotated[str, typer.Option("--actor", help="Who does it (for the audit trail).")],
    db: DbOption = None,
    deadline: Annotated[
        str | None, typer.Option("--deadline", help="For rectification: a time or 7d.")
    ] = None,
    verdict: Annotated[
        str | None,
        typer.Option("--verdict", help="For close: false_positive, duplicate, not_in_jurisdiction."),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="What to record with it.")] = "",
) -> None:
    """Move a case one step, or close it with a verdict."""
    from sqlalchemy.orm import Session

    from minewatch.cases.models import Case, Status, Verdict
    from minewatch.cases.workflow import close, move

    now = datetime.now(UTC)
    with Session(_cases_db(store, db)) as session:
        case = session.get(Case, case_id)
        if case is None:
            raise typer.BadParameter(f"no case {case_id}")
        if to == "close":
            try:
                chosen = Verdict(verdict or "")
            except ValueError:
                raise typer.BadParameter(f"--verdict {verdict!r}: say why the case closes") from None
            close(session, case, chosen, actor, now, note)
        else:
            try:
                status = Status(to)
            except ValueError:
                raise typer.BadParameter(f"{to!r} is not a step") from None
            due = None
            if deadline is not None:
                m = re.fullmatch(r"\s*(\d+)\s*d\s*", deadline)
                due = now + timedelta(days=int(m.group(1))) if m else _when(deadline)
            move(session, case, status, actor, now, deadline=due, detail=note)
        session.commit()
        err.print(f"minewatch: case {case_id}: {case.status}", markup=False)


@cases_app.command("tick")
def cases_tick(
    store: StoreOption,
    db: DbOption = None,
    quiet: Annotated[
        str, typer.Option("--quiet", help="Days a host must be quiet to close as stopped.")
    ] = "7",
) -> None:
    """Escalate overdue cases and close verified ones (run it from cron)."""
    from sqlalchemy.orm import Session

    from minewatch.cases.workflow import tick

    with Session(_cases_db(store, db)) as session:
        escalated, closed = tick(session, datetime.now(UTC), timedelta(days=float(quiet)))
        session.commit()
    err.print(f"minewatch: {escalated} escalated, {closed} closed as stopped", markup=False)


@cases_app.command("export")
def cases_export(
    store: StoreOption,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the RPZ, nftables, hosts, Suricata, STIX files.")
    ],
    db: DbOption = None,
) -> None:
    """Write the enforcement lists of the cases under block (closed cases withdrawn)."""
    from sqlalchemy.orm import Session

    from minewatch.cases.exports import write_exports

    with Session(_cases_db(store, db)) as session:
        entries = write_exports(session, out, datetime.now(UTC))
    err.print(f"minewatch: {len(entries)} entries in {out}", markup=False)


@app.command()
def detect(
    store: StoreOption,
    since: Annotated[
        str | None, typer.Option("--since", help="Flows from this time or age (24h, 7d).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Flows before this time.")] = None,
    intel: Annotated[
        list[Path] | None, typer.Option("--intel", help="Extra indicator list (repeatable).")
    ] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per finding per line.")] = False,
) -> None:
    """Run the detectors again over the flows in the store (say, after `intel update`), and
    record the findings."""
    from minewatch.detect import fuse
    from minewatch.detect.stored import detect_stored
    from minewatch.model.findings import ScanResult
    from minewatch.protocols.base import MiningSession
    from minewatch.store import Store

    if not store.is_dir():
        raise typer.BadParameter(f"{store}: no such store directory")
    target = Store(store)
    start, end = _when(since), _when(until)
    where = []
    if start is not None:
        where.append(f"last_seen >= TIMESTAMPTZ '{start.isoformat()}'")
    if end is not None:
        where.append(f"first_seen < TIMESTAMPTZ '{end.isoformat()}'")
    files = target.flow_files(start, end)
    sessions: dict[tuple[str | None, int], MiningSession] = {}  # filled as the evidence is read
    evidence = detect_stored(
        files,
        load_default(intel or []),
        source=str(store),
        where=" AND ".join(where) or None,
        sessions=sessions,
    )
    result = ScanResult(findings=tuple(fuse(list(evidence), sessions)), inputs=())
    written = target.write_findings(result.findings)
    err.print(f"minewatch: {len(files)} flow files, {written} findings recorded", markup=False)
    from minewatch.cli.render import print_jsonl, print_table

    if json_lines:
        print_jsonl(result, sys.stdout)
    else:
        print_table(result, Console(highlight=False))


@app.command()
def report(
    store: StoreOption,
    out: Annotated[Path, typer.Option("--out", help="Folder for bulletin.html, .pdf, .json and .csv.")],
    since: Annotated[str | None, typer.Option("--since", help="From this time or age (24h, 7d).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this time.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Only hosts placed here, e.g. 江苏.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "en",
    timezone: Annotated[
        str, typer.Option("--timezone", help="The office's time zone, for times and days.")
    ] = "Asia/Shanghai",
) -> None:
    """The regional bulletin from the store's findings, each host once (its windows
    merged): HTML (self-contained), PDF (with Chromium), JSON, CSV."""
    from minewatch.report.bulletin import make_bulletin
    from minewatch.report.html import LABELS, render_html
    from minewatch.report.table import write_csv

    if lang not in LABELS:
        raise typer.BadParameter(f"--lang {lang!r}: expected one of {', '.join(LABELS)}")
    zone = _zone(timezone)
    start, end = _when(since), _when(until)
    rows = _attributed_episodes(store, start, end)
    previous = _attributed_episodes(store, start - (end - start), start) if start and end else None
    bulletin = make_bulletin(rows, start, end, region, lang, zone, previous)
    out.mkdir(parents=True, exist_ok=True)
    from minewatch.store.meters import MeterStore

    meters = MeterStore(store).assessments() if (store / "meters").is_dir() else []
    if region:
        meters = [m for m in meters if any(region in p for p in m.get("region") or [])]
    whole = {**bulletin.to_json(), "meters": meters}
    (out / "bulletin.json").write_text(json.dumps(whole, ensure_ascii=False, indent=1) + "\n")
    (out / "bulletin.html").write_text(render_html(bulletin, lang, meters), encoding="utf-8")
    with (out / "bulletin.csv").open("w", newline="", encoding="utf-8") as f:
        write_csv(rows, region, f)
    from minewatch.report.pdf import PdfError, print_pdf

    try:
        print_pdf(out / "bulletin.html", out / "bulletin.pdf")
    except PdfError as e:
        err.print(f"minewatch: no PDF: {e}", markup=False)
    err.print(f"minewatch: bulletin of {bulletin.mining_hosts} mining hosts in {out}", markup=False)


@app.command()
def findings(
    store: StoreOption,
    since: Annotated[str | None, typer.Option("--since", help="From this time or age (24h, 7d).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this time.")] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per finding per line.")] = False,
    hosts: Annotated[
        bool, typer.Option("--hosts", help="One line per host and activity: its windows merged (episodes).")
    ] = False,
) -> None:
    """The findings in the store, oldest first: each window's, or with --hosts each host's
    episode."""
    read = _attributed_episodes if hosts else _attributed_findings
    found = sorted(read(store, _when(since), _when(until)), key=lambda f: (f.first_seen, f.host))
    if json_lines:
        for f in found:
            sys.stdout.write(json.dumps(f.to_json(), ensure_ascii=False) + "\n")
        return
    from rich.table import Table

    table = Table("host", "activity", "pools", "from (UTC)", "to", "confidence", "evidence", "owner")
    for name in ("host", "pools", "from (UTC)", "to"):
        table.columns[[c.header for c in table.columns].index(name)].no_wrap = True
    for f in found:
        table.add_row(
            f.host,
            f.activity.value,
            ", ".join(f"{p.ip}:{p.port}" for p in f.pools),
            f"{f.first_seen.astimezone(UTC):%Y-%m-%d %H:%M}",
            f"{f.last_seen.astimezone(UTC):%Y-%m-%d %H:%M}",
            f"{f.confidence:.2f}",
            ", ".join(sorted({e.kind.value for e in f.evidence})),
            _owner(f.attribution),
        )
    out = Console(highlight=False)
    # Piped output has no width to follow: give the table room rather than cut addresses.
    Console(highlight=False, width=None if out.is_terminal else 132).print(table)


def _summary(result: ScanResult) -> Figures:
    """The figures of a scan: its hosts' episodes over the span of its inputs."""
    from minewatch.estimate.episodes import consolidate
    from minewatch.report.figures import compute

    firsts = [i.first_seen for i in result.inputs if i.first_seen is not None]
    lasts = [i.last_seen for i in result.inputs if i.last_seen is not None]
    span = (min(firsts), max(lasts)) if firsts and lasts else (None, None)
    return compute(consolidate(result.findings), *span)


def _attributed(store: Path, read: Callable[[Store], list[Finding]]) -> list[Finding]:
    """Findings read from the store, each with its attribution when the store has an
    inventory or a fallback."""
    from minewatch.attribute.attributor import Attributor
    from minewatch.store import Store

    if not store.is_dir():
        raise typer.BadParameter(f"{store}: no such store directory")
    source = Store(store)
    found = read(source)
    attributor = Attributor.from_dir(source.attribution_dir)
    if not attributor:
        return found
    return [dataclasses.replace(f, attribution=attributor.attribute(f.host)) for f in found]


def _attributed_findings(store: Path, since: datetime | None, until: datetime | None) -> list[Finding]:
    """The store's window findings in [since, until), attributed."""
    return _attributed(store, lambda s: s.findings(since, until))


def _attributed_episodes(store: Path, since: datetime | None, until: datetime | None) -> list[Finding]:
    """The store's host episodes in [since, until) (windows merged), attributed."""
    return _attributed(store, lambda s: s.episodes(since, until))


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError) as e:
        raise typer.BadParameter(
            f"cannot parse --timezone {name!r}: expected a zone such as Asia/Shanghai"
        ) from e


def _owner(a: Attribution | None) -> str:
    if a is None:
        return ""
    flag = " (likely compromised)" if a.likely_compromised is True else ""
    return f"{a.organisation or '?'} · {a.sector.value}{flag}"


register_service(app)
register_meters(app)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` and return the exit status."""
    try:
        app(args=argv, prog_name="minewatch")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else EXIT_OK if e.code is None else EXIT_USAGE
    except MinewatchError as e:
        err.print(f"minewatch: {e}", markup=False)
        return EXIT_INPUT
    return EXIT_OK


def run() -> None:
    sys.exit(main())
