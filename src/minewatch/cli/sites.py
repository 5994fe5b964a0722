"""`minewatch sites check NAME|URL|FILE`: what a website is."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from minewatch.errors import OptionError
from minewatch.probe.policy import Policy
from minewatch.sites.check import CheckResult, check
from minewatch.sites.fetch import Failure, Fetcher, FetchLimits

__all__ = ["register", "targets_of"]


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
    ) -> None:
        """Fetch each site (2 MiB, --timeout, 5 redirects, robots.txt) and classify it:
        exchange, otc, pool, cloud-mining, web-miner, wallet, promotion or unrelated."""
        if timeout <= 0:
            raise OptionError("--timeout", str(timeout), "seconds, more than 0")
        if proxy is not None and not proxy.startswith("http://"):
            raise OptionError("--proxy", proxy, "an http:// proxy URL such as http://127.0.0.1:3128")
        fetcher = Fetcher(FetchLimits(timeout_s=timeout), Policy(allow_private=allow_private), proxy)
        results = [check(t, fetcher) for t in targets_of(targets)]
        if json_lines:
            for r in results:
                sys.stdout.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
        else:
            _table(results)


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
