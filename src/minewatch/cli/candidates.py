"""`minewatch sites candidates`: the names the user's hosts reach, ranked, and the sites
hosted in the user's own address space; with --check, `sites check` on the first ones."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from minewatch.cli.options import AllowNamesOption, DbOption, SinceOption, UntilOption, name_standing
from minewatch.cli.sites import open_subject_cases
from minewatch.errors import OptionError
from minewatch.options import Opt, whole
from minewatch.sites.finding import site_finding

if TYPE_CHECKING:
    from minewatch.attribute.inventory import Inventory
    from minewatch.sites.candidates import CandidateCheck, CandidateRun

__all__ = ["register"]

LIMIT = Opt("--limit", whole(1, 100_000), 50, "Candidates (and hosted sites) shown.")
CHECK_TOP = Opt("--check-top", whole(1, 1000), 10, "With --check: how many of the first candidates to fetch.")


def register(sites_app: typer.Typer) -> None:
    """Add `candidates` to the `sites` group."""

    @sites_app.command("candidates")
    def candidates(
        inputs: Annotated[
            list[Path] | None, typer.Argument(help="Captures or flow logs (default: the store's flows).")
        ] = None,
        store: Annotated[
            Path | None,
            typer.Option("--store", help="Read flows from it (without inputs); remember the names seen."),
        ] = None,
        since: SinceOption = None,
        until: UntilOption = None,
        names: Annotated[
            Path | None, typer.Option("--names", help="Names to list too, one a line (# comments).")
        ] = None,
        inventory: Annotated[
            Path | None, typer.Option("--inventory", help="Inventory CSV/Parquet (default: the store's).")
        ] = None,
        json_out: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
        limit: Annotated[int, LIMIT.flag()] = LIMIT.default,
        allow_names: AllowNamesOption = None,
        check: Annotated[
            bool, typer.Option("--check", help="Run `sites check` on the first candidates.")
        ] = False,
        check_top: Annotated[int, CHECK_TOP.flag()] = CHECK_TOP.default,
        proxy: Annotated[str | None, typer.Option("--proxy", help="Fetch through this http:// proxy")] = None,
        allow_private: Annotated[
            bool, typer.Option("--allow-private", help="Also fetch private, loopback and reserved addresses.")
        ] = False,
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds for each site, all hops.")] = 10.0,
        open_cases: Annotated[
            bool,
            typer.Option("--cases", help="With --check and --store: open a case for each site found."),
        ] = False,
        db: DbOption = None,
    ) -> None:
        """Names hosts looked up or connected to (DNS, SNI, HTTP Host) or that --names lists:
        new names first, then by visiting hosts weighted by sector; and the addresses in the
        inventory that serve names ("ours": sites you can act on)."""
        from minewatch.cli.flowinput import read_flows
        from minewatch.cli.main import EXIT_INPUT, _report_inputs
        from minewatch.sites.candidates import SEEN_FILE, CandidateOptions, find_candidates

        if open_cases and (not check or store is None):
            raise OptionError("--cases", "without --check and --store", "--check --store DIR")
        if check and (timeout <= 0 or (proxy is not None and not proxy.startswith("http://"))):
            raise OptionError("--proxy/--timeout", f"{proxy} {timeout}", "an http:// proxy, seconds above 0")
        source, reports = read_flows("sites candidates", inputs, store, since, until)
        options = CandidateOptions(
            since=since,
            until=until,
            limit=limit,
            given=tuple(_given(names)),
            inventory=_inventory(inventory, store),
            seen=store / SEEN_FILE if store is not None else None,
            standing=name_standing(allow_names),
        )
        run = find_candidates(source, options)
        checks = _checks(run, check_top, proxy, allow_private, timeout) if check else []
        _report_inputs(reports)
        if open_cases and store is not None:
            now = datetime.now(UTC)
            found = [f for f in (site_finding(c.result, now) for c in checks) if f is not None]
            open_subject_cases(found, store, db)
        if json_out:
            doc = run.to_json()
            if checks:
                doc["candidates"][: len(checks)] = [c.to_json() for c in checks]
            sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        else:
            _tables(run, checks)
        if any(r.error for r in reports):
            raise typer.Exit(EXIT_INPUT)


def _given(path: Path | None) -> list[str]:
    from minewatch.cli.sites import targets_of

    return targets_of([str(path)]) if path is not None else []


def _inventory(path: Path | None, store: Path | None) -> Inventory | None:
    from minewatch.attribute.attributor import INVENTORY_FILE
    from minewatch.attribute.inventory import Inventory

    if path is not None:
        return Inventory.load(path)
    if store is not None and (store / "attribution" / INVENTORY_FILE).is_file():
        return Inventory.load(store / "attribution" / INVENTORY_FILE)
    return None


def _checks(
    run: CandidateRun, top: int, proxy: str | None, allow_private: bool, timeout: float
) -> list[CandidateCheck]:
    from minewatch.probe.policy import Policy
    from minewatch.sites.candidates import check_candidates
    from minewatch.sites.fetch import Fetcher, FetchLimits

    fetcher = Fetcher(FetchLimits(timeout_s=timeout), Policy(allow_private=allow_private), proxy)
    return check_candidates(run.candidates, fetcher, top)


def _tables(run: CandidateRun, checks: list[CandidateCheck]) -> None:
    verdicts = {c.candidate.name: c.result for c in checks}
    table = Table("name", "new", "hosts", "sectors", "units", "flows", "bytes", "seen as", "listed", "check")
    for c in run.candidates:
        result = verdicts.get(c.name)
        verdict = (
            result.verdict.cls.value if result and result.verdict else ("fetch failed" if result else "")
        )
        table.add_row(
            c.name + (" (well known)" if c.well_known else "") + (" (given)" if c.given else ""),
            "new" if c.new else "",
            str(c.hosts),
            ", ".join(f"{s.sector.value} {s.hosts}" for s in c.sectors),
            ", ".join(u.unit for u in c.units[:3]),
            str(c.flows),
            f"{c.bytes:,}",
            ",".join(c.seen_as),
            c.listed or "",
            verdict,
        )
    ours = Table("address (ours)", "unit", "block", "names", "hosts", "connections", "lookups")
    for h in run.ours:
        ours.add_row(
            h.address,
            f"{h.unit or '?'} ({h.sector.value})",
            h.block,
            ", ".join(h.names[:5]),
            str(h.hosts),
            str(h.flows),
            str(h.lookups),
        )
    out = Console(highlight=False)
    wide = Console(highlight=False, width=None if out.is_terminal else 180)
    wide.print(table)
    wide.print(ours)
    what = "remembered in the store" if run.remembered else "not remembered (no --store)"
    Console(stderr=True, highlight=False).print(
        f"minewatch: {run.names} names, {run.new_names} new ({what}); "
        f"{run.ignored_names} local names left out",
        markup=False,
    )
