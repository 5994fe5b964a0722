"""`minewatch apps check FILE.apk...`: what an Android app is."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from minewatch.cli.options import DbOption
from minewatch.errors import ApkError, OptionError, UsageError, exit_code

if TYPE_CHECKING:
    from minewatch.apps.check import AppCheck

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `apps check` to `app`."""
    apps_app = typer.Typer(no_args_is_help=True, help="Android apps around mining and trading.")
    app.add_typer(apps_app, name="apps")

    @apps_app.command("check")
    def check_apps(
        files: Annotated[list[Path], typer.Argument(help="APK files.")],
        json_lines: Annotated[bool, typer.Option("--json", help="One JSON object an app a line.")] = False,
        open_cases: Annotated[
            bool, typer.Option("--cases", help="Open a case for each app of a class other than unrelated.")
        ] = False,
        store: Annotated[Path | None, typer.Option("--store", help="The store whose cases to open.")] = None,
        db: DbOption = None,
        place: Annotated[
            str | None, typer.Option("--place", help="The developer's place (division code), if known.")
        ] = None,
        url: Annotated[str | None, typer.Option("--url", help="Where the one app is offered.")] = None,
    ) -> None:
        """Read each APK (bounded: size, entries, inflation, strings) and classify it:
        exchange, otc, pool, cloud-mining, web-miner (a miner library), wallet, promotion
        or unrelated. Exit 0 when every file was read, 1 when some could not be (each is
        named on stderr, the others are still checked), 2 for usage errors."""
        try:  # the APK reader is the optional extra minewatch[apps]
            from minewatch.apps.check import check
        except ImportError as e:
            raise UsageError(
                "apps check", f"needs the apps extra (pip install 'minewatch[apps]'): {e}"
            ) from None
        if open_cases and store is None:
            raise OptionError("--cases", "without --store", "--store DIR: the store whose cases to open")
        if url is not None and (len(files) != 1 or not url.startswith(("http://", "https://"))):
            raise OptionError("--url", url, "one http(s) URL, with one APK file")
        if place is not None and not (place.isdigit() and len(place) == 6):
            raise OptionError("--place", place, "a six-digit division code such as 330100")
        results = [check(f) for f in files]
        if json_lines:
            for r in results:
                sys.stdout.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
        else:
            _table([r for r in results if r.error is None])
        failed = [r.error for r in results if r.error is not None]
        if open_cases and store is not None:
            failed += _open_app_cases(results, store, db, url, place)
        errors = Console(stderr=True, highlight=False, soft_wrap=True)
        for error in failed:
            errors.print(f"minewatch: {error}", markup=False)
        if failed:
            raise typer.Exit(exit_code(failed[0]))  # 1: an input could not be read


def _open_app_cases(
    results: list[AppCheck], store: Path, db: str | None, url: str | None, place: str | None
) -> list[ApkError]:
    """Open the apps' cases; returns the files that could not become one."""
    from datetime import UTC, datetime

    from minewatch.apps.finding import app_finding
    from minewatch.cli.sites import open_subject_cases

    now, found, failed = datetime.now(UTC), [], []
    for r in results:
        try:
            f = app_finding(r, now, url, place)
        except ApkError as e:
            failed.append(e)
            continue
        if f is not None:
            found.append(f)
    open_subject_cases(found, store, db, "apps")
    return failed


def _table(results: list[AppCheck]) -> None:
    table = Table("file", "package", "label", "class", "confidence", "decided by")
    for r in results:
        if r.app is None or r.verdict is None:
            continue
        top = sorted(r.verdict.decided_by, key=lambda s: -s.weight)[:4]
        table.add_row(
            Path(r.file).name,
            r.app.package,
            r.app.label,
            r.verdict.cls.value,
            f"{r.verdict.confidence:.2f}",
            ", ".join(f"{s.kind}:{s.matched}" for s in top),
        )
    out = Console(highlight=False)
    Console(highlight=False, width=None if out.is_terminal else 160).print(table)
