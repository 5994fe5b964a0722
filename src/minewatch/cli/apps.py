"""`minewatch apps check FILE.apk...`: what an Android app is."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from minewatch.errors import UsageError, exit_code

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
        results = [check(f) for f in files]
        if json_lines:
            for r in results:
                sys.stdout.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
        else:
            _table([r for r in results if r.error is None])
        failed = [r.error for r in results if r.error is not None]
        errors = Console(stderr=True, highlight=False, soft_wrap=True)
        for error in failed:
            errors.print(f"minewatch: {error}", markup=False)
        if failed:
            raise typer.Exit(exit_code(failed[0]))  # 1: an input could not be read


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
