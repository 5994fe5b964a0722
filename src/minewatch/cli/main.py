"""Entry point: `minewatch scan`, `minewatch intel update`. `main(argv)` returns the exit
status: 0 done, else the one `minewatch.errors.EXIT_CODES` gives the error (1 some input
could not be read, 2 usage error, 3 refused, 4 the service failed, 5 an output failed)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from minewatch.cli.apps import register as register_apps
from minewatch.cli.cases import register as register_cases
from minewatch.cli.collect import FollowOption, follow_store
from minewatch.cli.collect import register as register_collect
from minewatch.cli.meters import register as register_meters
from minewatch.cli.options import (
    RUN_FOR,
    AllowNamesOption,
    SinceOption,
    StoreOption,
    UntilOption,
    existing_store,
    name_standing,
)
from minewatch.cli.probe import (
    ConfirmOption,
    ProbeCacheOption,
    ProbeExcludeOption,
    ProbeMaxOption,
    ProbePrivateOption,
    ProbeRateOption,
    confirm_settings,
)
from minewatch.cli.probe import register as register_probe
from minewatch.cli.service import register as register_service
from minewatch.cli.sites import register as register_sites
from minewatch.cli.traces import register as register_traces
from minewatch.detect.context import DEFAULT_HOME_NETWORKS, HomeNetworks
from minewatch.errors import EXIT_OK, CaptureReadError, MinewatchError, OptionError, UsageError, exit_code
from minewatch.estimate import DEFAULT_GRID, EstimateOptions, GridFactor
from minewatch.intel.indicators import load_default
from minewatch.intel.update import update as update_intel
from minewatch.model.attribution import Attribution
from minewatch.model.findings import Finding, InputReport, ScanResult
from minewatch.options import (
    ACTIVE_TIMEOUT,
    ENGINE,
    IDLE_TIMEOUT,
    LIVE_DURATION,
    PROBE_MAX,
    PROBE_RATE,
    SAMPLING_RATE,
    SECONDS,
    WINDOW,
    Kind,
    Opt,
    choice,
    number,
    whole,
)
from minewatch.report.jsonl import summary_to_json
from minewatch.scan import ScanOptions, scan_captures, scan_paths
from minewatch.sources.base import EngineOptions
from minewatch.sources.live import read_interface
from minewatch.sources.pcap import expand_paths

if TYPE_CHECKING:
    from minewatch.report.figures import Figures
    from minewatch.store import Store

__all__ = ["app", "main", "run"]

EXIT_INPUT, EXIT_USAGE = 1, 2  # as `minewatch.errors.EXIT_CODES` gives InputError, UsageError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0] if __doc__ else None
)
intel_app = typer.Typer(no_args_is_help=True, help="Indicator lists: pools, web miners, exchanges.")
app.add_typer(intel_app, name="intel")
err = Console(stderr=True, highlight=False, soft_wrap=True)


# Options of one command only; those several layers share are in `minewatch.options`.
TRAFFIC = Opt("--duration", SECONDS, 600.0, "Seconds of traffic.")
SIZE = Opt("--size", Kind("a size such as 8MB or 1.5GB", lambda v: _size(v)), 8_000_000, "Approximate size.")
LANG = Opt("--lang", choice("en", "zh"), "en", "zh or en.")
THREADS: Opt[int | None] = Opt(
    "--threads", whole(1, 256), None, "Engine threads per large capture (default: all cores)."
)
GRID_FACTOR: Opt[float | None] = Opt(
    "--grid-factor", number(0, 2, "kg CO2 per kWh"), None, "kg CO2 per kWh (default: China 2023, 0.5306)."
)
TIMEOUT = Opt("--timeout", SECONDS, 20.0, "Seconds to wait for each list.")
HOSTS = Opt("--hosts", whole(20, 10_000_000), 2000, "Client hosts.")
SEED = Opt("--seed", whole(0, 2**32 - 1), 1, "The random generator's seed.")


def _cidr(value: str) -> str:
    try:
        HomeNetworks((value,))
    except ValueError:
        raise OptionError("--home-net", value, "a network such as 10.0.0.0/8") from None
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
    duration: Annotated[float, LIVE_DURATION.flag()] = LIVE_DURATION.default,
    bpf: Annotated[str | None, typer.Option("--filter", help="BPF filter for live capture.")] = None,
    intel: Annotated[
        list[Path] | None, typer.Option("--intel", help="Extra indicator list (repeatable).")
    ] = None,
    home_net: Annotated[
        list[str] | None,
        typer.Option("--home-net", help="Network of ours (repeatable); default private ranges."),
    ] = None,
    idle_timeout: Annotated[float, IDLE_TIMEOUT.flag()] = IDLE_TIMEOUT.default,
    active_timeout: Annotated[float, ACTIVE_TIMEOUT.flag()] = ACTIVE_TIMEOUT.default,
    summary: Annotated[
        bool, typer.Option("--summary", help="Bulletin figures for the whole input (with --json: as JSON).")
    ] = False,
    grid_factor: Annotated[float | None, GRID_FACTOR.flag()] = None,
    threads: Annotated[int | None, THREADS.flag()] = None,
    sampling_rate: Annotated[int, SAMPLING_RATE.flag()] = SAMPLING_RATE.default,
    allow_names: AllowNamesOption = None,
    confirm: ConfirmOption = False,
    probe_private: ProbePrivateOption = False,
    probe_exclude: ProbeExcludeOption = None,
    probe_cache: ProbeCacheOption = None,
    probe_rate: ProbeRateOption = PROBE_RATE.default,
    probe_max: ProbeMaxOption = PROBE_MAX.default,
) -> None:
    """Find mining, pools, exchanges, web miners and crypto nodes in packet captures."""
    if not paths and interface is None:
        raise UsageError("scan", "give capture paths or --interface")
    if paths and interface is not None:
        raise UsageError("scan", "give capture paths or --interface, not both")
    idle, active, live_s = idle_timeout, active_timeout, duration
    home = tuple(_cidr(c) for c in home_net) if home_net else DEFAULT_HOME_NETWORKS
    probing = confirm_settings(confirm, probe_private, probe_exclude, probe_cache, probe_rate, probe_max)
    options = ScanOptions(
        engine=EngineOptions(idle_timeout_s=idle, active_timeout_s=active, workers=threads or _cores()),
        intel=load_default(intel or []),
        home=HomeNetworks(home),
        flows_path=flows,
        unannounced_rate=sampling_rate,
        standing=name_standing(allow_names),
        estimate=EstimateOptions(
            GridFactor(grid_factor, "given with --grid-factor") if grid_factor is not None else DEFAULT_GRID
        ),
        confirm=probing.confirmer() if probing else None,
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
    timeout: Annotated[float, TIMEOUT.flag()] = TIMEOUT.default,
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
        raise ValueError(value)
    return int(float(m.group(1)) * {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2).lower()])


@app.command()
def generate(
    output: Annotated[Path | None, typer.Argument(help="The pcap file to write.")] = None,
    size: Annotated[int, SIZE.flag()] = SIZE.default,
    hosts: Annotated[int, HOSTS.flag()] = HOSTS.default,
    duration: Annotated[float, TRAFFIC.flag()] = TRAFFIC.default,
    seed: Annotated[int, SEED.flag()] = SEED.default,
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
        raise UsageError("generate", "expected the pcap file to write, or --province DIR")
    cfg = GeneratorConfig(target_bytes=size, hosts=max(hosts, 20), duration_s=duration, seed=seed)
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
        raise OptionError("--date", day, "a date such as 2026-11-20") from None
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


def _mapping(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        target, sep, source = pair.partition("=")
        if not sep or not target or not source:
            raise OptionError("--map", pair, "OURS=THEIRS, e.g. client_ip=src")
        out[target.strip()] = source.strip()
    return out


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
    sampling_rate: Annotated[int, SAMPLING_RATE.flag()] = SAMPLING_RATE.default,
    intel: Annotated[
        list[Path] | None, typer.Option("--intel", help="Extra indicator list (repeatable).")
    ] = None,
    allow_names: AllowNamesOption = None,
) -> None:
    """Import flow logs into the store and record what the detectors find in them."""
    from minewatch.store import Store

    target = Store(store)
    mapping = _mapping(map_)
    options = ScanOptions(
        intel=load_default(intel or []),
        flow_writer=target.write_flows,
        flow_mapping=mapping,
        unannounced_rate=sampling_rate,
        standing=name_standing(allow_names),
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


@app.command()
def detect(
    store: StoreOption,
    since: SinceOption = None,
    until: UntilOption = None,
    intel: Annotated[
        list[Path] | None, typer.Option("--intel", help="Extra indicator list (repeatable).")
    ] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per finding per line.")] = False,
    allow_names: AllowNamesOption = None,
    confirm: ConfirmOption = False,
    probe_private: ProbePrivateOption = False,
    probe_exclude: ProbeExcludeOption = None,
    probe_cache: ProbeCacheOption = None,
    probe_rate: ProbeRateOption = PROBE_RATE.default,
    probe_max: ProbeMaxOption = PROBE_MAX.default,
    engine: Annotated[str, ENGINE.flag()] = ENGINE.default,
    master: Annotated[
        str | None,
        typer.Option(
            "--master", help="With --engine spark: the cluster, spark://HOST:7077 (default local[2])."
        ),
    ] = None,
    follow: FollowOption = False,
    window: Annotated[float, WINDOW.flag()] = WINDOW.default,
    duration: Annotated[float | None, RUN_FOR.flag()] = RUN_FOR.default,
) -> None:
    """Run the detectors again over the flows in the store (say, after `intel update`), and
    record the findings; with --follow, over each window's new files as collectors close them."""
    probing = confirm_settings(confirm, probe_private, probe_exclude, probe_cache, probe_rate, probe_max)
    if follow and engine != "spark":
        confirmer = probing.confirmer(store) if probing else None
        standing = name_standing(allow_names)
        follow_store(store, load_default(intel or []), standing, confirmer, window, duration)
        return
    from minewatch.detect import fuse
    from minewatch.detect.stored import detect_stored
    from minewatch.model.findings import ScanResult
    from minewatch.protocols.base import MiningSession
    from minewatch.store import Store, active_in

    target = Store(existing_store(store))
    start, end = since, until
    files = target.flow_files(start, end)
    if engine == "spark":
        from minewatch.cli.spark import SparkRun

        run = SparkRun(target, str(store), master, load_default(intel or []), name_standing(allow_names))
        if follow:
            run.follow()
            return
        found = tuple(run.detect(start, end))
    else:
        sessions: dict[tuple[str | None, int], MiningSession] = {}  # filled as the evidence is read
        evidence = detect_stored(
            files,
            load_default(intel or []),
            source=str(store),
            where=active_in(start, end) if start or end else None,
            sessions=sessions,
            standing=name_standing(allow_names),
        )
        found = tuple(fuse(list(evidence), sessions))
    if probing is not None:
        found = probing.confirmer(store).confirm(found).findings
    result = ScanResult(findings=found, inputs=())
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
    since: SinceOption = None,
    until: UntilOption = None,
    region: Annotated[str | None, typer.Option("--region", help="Only hosts placed here, e.g. 江苏.")] = None,
    lang: Annotated[str, LANG.flag()] = LANG.default,
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
        raise OptionError("--lang", lang, f"one of {', '.join(LABELS)}")
    zone = _zone(timezone)
    start, end = since, until
    rows = _attributed_episodes(store, start, end)
    previous = _attributed_episodes(store, start - (end - start), start) if start and end else None
    bulletin = make_bulletin(rows, start, end, region, lang, zone, previous)
    out.mkdir(parents=True, exist_ok=True)
    from minewatch.store.meters import MeterStore

    meters = MeterStore(store).assessments() if (store / "meters").is_dir() else []
    if region:
        meters = [m for m in meters if any(region in p for p in m.get("region") or [])]
    from minewatch.cli.traces import trading_summary

    trading = trading_summary(store, rows, start, end, region, zone)
    whole = {**bulletin.to_json(), "meters": meters, "trading_traces": trading.to_json()}
    (out / "bulletin.json").write_text(json.dumps(whole, ensure_ascii=False, indent=1) + "\n")
    (out / "bulletin.html").write_text(render_html(bulletin, lang, meters, trading), encoding="utf-8")
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
    since: SinceOption = None,
    until: UntilOption = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per finding per line.")] = False,
    hosts: Annotated[
        bool, typer.Option("--hosts", help="One line per host and activity: its windows merged (episodes).")
    ] = False,
) -> None:
    """The findings in the store, oldest first: each window's, or with --hosts each host's
    episode."""
    read = _attributed_episodes if hosts else _attributed_findings
    found = sorted(read(store, since, until), key=lambda f: (f.first_seen, f.host))
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

    source = Store(existing_store(store))
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
        raise OptionError("--timezone", name, "a zone such as Asia/Shanghai") from e


def _owner(a: Attribution | None) -> str:
    if a is None:
        return ""
    flag = " (likely compromised)" if a.likely_compromised is True else ""
    return f"{a.organisation or '?'} · {a.sector.value}{flag}"


# Cases are fed windows, not episodes: a window is a stable unit that a later sync or a
# retry sends again unchanged (and merging counts it once), where a host's episode grows
# between syncs and two of them would count the same windows twice.
register_cases(app, _attributed_findings)
register_collect(app)
register_service(app)
register_meters(app)
register_probe(app)
register_sites(app)
register_apps(app)
register_traces(app)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` and return the exit status: every error is one
    line on stderr and the status `minewatch.errors.EXIT_CODES` gives it."""
    try:
        code = app(args=argv, prog_name="minewatch", standalone_mode=False)
    except MinewatchError as e:
        err.print(f"minewatch: {e}", markup=False)
        return exit_code(e)
    except typer.TyperException as e:  # the parser's own: no such option, a missing argument
        # Typer has already printed the help that no arguments ask for (click's
        # NoArgsIsHelpError, which Typer does not export).
        if type(e).__name__ == "NoArgsIsHelpError":
            return EXIT_USAGE
        ctx = getattr(e, "ctx", None)
        where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        err.print(f"minewatch: {e.format_message()}{where}", markup=False)
        return e.exit_code
    except typer.Abort:
        err.print("minewatch: stopped", markup=False)
        return EXIT_INPUT
    except OSError as e:  # a file the system would not open or write
        where = f"{e.filename}: " if e.filename else ""
        err.print(f"minewatch: {where}{(e.strerror or str(e)).lower()}", markup=False)
        return EXIT_INPUT
    return code if isinstance(code, int) else EXIT_OK


def run() -> None:
    sys.exit(main())
