"""`minewatch sites check NAME|URL|FILE`: what a website is."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from minewatch.cli.options import DbOption, connect_db
from minewatch.errors import OptionError
from minewatch.probe.policy import Policy
from minewatch.sites.check import CheckResult, check
from minewatch.sites.fetch import Failure, Fetcher, FetchLimits
from minewatch.sites.finding import SiteFinding, site_finding

__all__ = ["open_subject_cases", "register", "targets_of"]

err = Console(stderr=True, highlight=False, soft_wrap=True)


def targets_of(values: list[str]) -> list[str]:
    """Each value as a target, or the lines of the file it names (`#` comments)."""
    out: list[str] = []
    for value in values:
        path = Path(value)
        if "://" not in value and path.is_file():
            lines = (ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines())
            out.extend(ln for ln in lines if ln)
        else:
            out.append(value)
    return out


def register(app: typer.Typer) -> None:
    """Add `sites check` to `app`."""
    sites_app = typer.Typer(no_args_is_help=True, help="Websites around mining and trading.")
    app.add_typer(sites_app, name="sites")
    from minewatch.cli.candidates import register as register_candidates

    register_candidates(sites_app)

    @sites_app.command("check")
    def check_sites(
        targets: Annotated[list[str], typer.Argument(help="A name, a URL, or a file of them (one a line).")],
        json_lines: Annotated[bool, typer.Option("--json", help="One JSON object a site a line.")] = False,
        proxy: Annotated[str | None, typer.Option("--proxy", help="Fetch through this http:// proxy")] = None,
        allow_private: Annotated[
            bool, typer.Option("--allow-private", help="Also fetch private, loopback and reserved addresses.")
        ] = False,
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds for each site, all hops.")] = 10.0,
        open_cases: Annotated[
            bool,
            typer.Option(
                "--cases", help="Open a case for each site of a class other than unrelated (needs --store)."
            ),
        ] = False,
        store: Annotated[
            Path | None, typer.Option("--store", help="The store whose cases and inventory --cases uses.")
        ] = None,
        db: DbOption = None,
    ) -> None:
        """Fetch each site (2 MiB, --timeout, 5 redirects, robots.txt) and classify it:
        exchange, otc, pool, cloud-mining, web-miner, wallet, promotion or unrelated.
        With --cases, each one that is not unrelated opens a case (or joins its open one) at
        the unit of its hosting address in the inventory, else of its ICP filing's
        province, else of its hosting address, else the root unit."""
        if open_cases and store is None:
            raise OptionError("--cases", "without --store", "--store DIR: the store whose cases to open")
        if timeout <= 0:
            raise OptionError("--timeout", str(timeout), "seconds, more than 0")
        if proxy is not None and not proxy.startswith("http://"):
            raise OptionError("--proxy", proxy, "an http:// proxy URL such as http://127.0.0.1:3128")
        fetcher = Fetcher(FetchLimits(timeout_s=timeout), Policy(allow_private=allow_private), proxy)
        results = [check(t, fetcher) for t in targets_of(targets)]
        if open_cases and store is not None:
            now = datetime.now(UTC)
            found = [f for f in (site_finding(r, now) for r in results) if f is not None]
            open_subject_cases(found, store, db)
        if json_lines:
            for r in results:
                sys.stdout.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
        else:
            _table(results)


def open_subject_cases(found: list[SiteFinding], store: Path, db: str | None, what: str = "sites") -> None:
    """Open (or join) a case for each finding of a class other than unrelated, placed by
    the store's inventory (`minewatch.cases.subjects`)."""
    from sqlalchemy.orm import Session

    from minewatch.attribute.attributor import Attributor
    from minewatch.cases.db import root_unit
    from minewatch.cases.subjects import open_from_site_findings
    from minewatch.store import Store

    attributor = Attributor.from_dir(Store(store).attribution_dir)
    with Session(connect_db(store, db, create=True)) as session:
        now = datetime.now(UTC)
        touched = open_from_site_findings(session, found, now, root_unit(session), attributor or None)
        session.commit()
        opened = sum(1 for c in touched if len(c.events) == 1)
        ids = ", ".join(str(c.id) for c in touched)
    err.print(
        f"minewatch: {len(found)} {what} checked: {opened} cases opened, {len(touched) - opened} updated"
        + (f" (cases {ids})" if ids else ""),
        markup=False,
    )


def _table(results: list[CheckResult]) -> None:
    table = Table("site", "class", "confidence", "decided by", "fetch")
    for r in results:
        v = r.verdict
        top = sorted(v.decided_by, key=lambda s: -s.weight)[:4] if v else []
        failed = r.fetched if isinstance(r.fetched, Failure) else None
        fetch = f"{len(r.fetched.redirects)} redirects"
        if failed:
            fetch += f"; {failed.kind}: {failed.reason}"
        table.add_row(
            r.target,
            v.cls.value if v else "-",
            f"{v.confidence:.2f}" if v else "",
            ", ".join(f"{s.kind}:{s.matched}" for s in top),
            fetch,
        )
    out = Console(highlight=False)
    Console(highlight=False, width=None if out.is_terminal else 160).print(table)
