"""`minewatch collect`: NetFlow v5/v9 and IPFIX into the store, with detection as it
comes or (`--store-only`) at the rate the store writes, detection left to
`minewatch detect --follow` or a Spark job over the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from minewatch.cli.options import RUN_FOR, AllowNamesOption, StoreOption, existing_store, name_standing
from minewatch.cli.probe import (
    ConfirmOption,
    ProbeCacheOption,
    ProbeExcludeOption,
    ProbeMaxOption,
    ProbePrivateOption,
    ProbeRateOption,
    confirm_settings,
)
from minewatch.errors import OptionError
from minewatch.intel.indicators import load_default
from minewatch.options import PROBE_MAX, PROBE_RATE, SAMPLING_RATE, SECONDS, WINDOW, Opt
from minewatch.scan import ScanOptions

if TYPE_CHECKING:
    from minewatch.detect.standing import NameStanding
    from minewatch.intel.indicators import IndicatorSet
    from minewatch.probe.confirm import Confirmer

__all__ = ["FollowOption", "follow_store", "register"]

EXIT_USAGE = 2
err = Console(stderr=True, highlight=False, soft_wrap=True)
FLUSH = Opt("--flush", SECONDS, 5.0, "Seconds between writes of the flows received (what kill -9 may lose).")


FollowOption = Annotated[
    bool,
    typer.Option(
        "--follow",
        help="Keep going: every --window, detect over the flow files collectors closed since.",
    ),
]


def follow_store(
    store: Path,
    intel: IndicatorSet,
    standing: NameStanding,
    confirmer: Confirmer | None,
    window: float,
    duration: float | None,
) -> None:
    """`detect --follow`: the store's new flow files, window by window, until stopped."""
    from minewatch.follow import Follower, FollowOptions
    from minewatch.store import Store

    confirm = (lambda found: confirmer.confirm(found).findings) if confirmer is not None else None
    options = FollowOptions(intel=intel, window_s=window, standing=standing, confirm=confirm)
    follower = Follower(Store(existing_store(store)), options)
    err.print(f"minewatch: following {store} (a window every {window:g} s)", markup=False)
    try:
        follower.run(duration, on_status=lambda st: err.print(f"minewatch: {st.line()}", markup=False))
    except KeyboardInterrupt:
        follower.stop.set()


def listen_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise OptionError("--listen", value, "HOST:PORT, e.g. 127.0.0.1:2055")
    return host.strip("[]") or "0.0.0.0", int(port)


def register(app: typer.Typer) -> None:
    @app.command()
    def collect(
        store: StoreOption,
        listen: Annotated[
            str, typer.Option("--listen", help="HOST:PORT to receive NetFlow/IPFIX on.")
        ] = "127.0.0.1:2055",
        duration: Annotated[float | None, RUN_FOR.flag()] = RUN_FOR.default,
        window: Annotated[float, WINDOW.flag()] = WINDOW.default,
        store_only: Annotated[
            bool,
            typer.Option(
                "--store-only",
                help="Decode, pair and store only; detect with `minewatch detect --follow` (or Spark).",
            ),
        ] = False,
        flush: Annotated[float, FLUSH.flag()] = FLUSH.default,
        sampling_rate: Annotated[int, SAMPLING_RATE.flag()] = SAMPLING_RATE.default,
        name: Annotated[
            str | None,
            typer.Option(
                "--name",
                help="This collector's name in the store's files and journal (default: host and pid); "
                "one per router group when several write into one store.",
            ),
        ] = None,
        intel: Annotated[
            list[Path] | None, typer.Option("--intel", help="Extra indicator list (repeatable).")
        ] = None,
        allow_names: AllowNamesOption = None,
        confirm: ConfirmOption = False,
        probe_private: ProbePrivateOption = False,
        probe_exclude: ProbeExcludeOption = None,
        probe_cache: ProbeCacheOption = None,
        probe_rate: ProbeRateOption = PROBE_RATE.default,
        probe_max: ProbeMaxOption = PROBE_MAX.default,
    ) -> None:
        """Receive NetFlow v5/v9 and IPFIX, store the flows by hour, and detect as they come."""
        import logging
        import re

        from minewatch.collect import CollectOptions, Collector
        from minewatch.store import Store

        host, port = listen_address(listen)
        if name is not None and not re.fullmatch(r"[A-Za-z0-9_.]{1,64}", name):
            raise OptionError("--name", name, "letters, digits, '_' or '.', at most 64")
        probing = confirm_settings(confirm, probe_private, probe_exclude, probe_cache, probe_rate, probe_max)
        scan_options = ScanOptions(
            intel=load_default(intel or []),
            standing=name_standing(allow_names),
            confirm=probing.confirmer(store) if probing else None,
        )
        options = CollectOptions(
            host=host,
            port=port,
            window_s=window,
            scan=scan_options,
            flush_s=flush,
            store_only=store_only,
            unannounced_rate=sampling_rate,
        )
        logging.basicConfig(level=logging.WARNING, format="minewatch: %(message)s")
        try:
            collector = Collector(Store(store, tag=name), options)
        except OSError as e:
            err.print(f"minewatch: {e}", markup=False)
            raise typer.Exit(EXIT_USAGE) from None
        for run in collector.unfinished:
            err.print(f"minewatch: {store}: {run.line()}", markup=False)
        mode = "storing only" if store_only else "detecting"
        if sampling_rate > 1:
            mode += f"; 1 in {sampling_rate} sampling assumed where an exporter announces none"
        err.print(f"minewatch: collecting on {host}:{collector.port} into {store} ({mode})", markup=False)
        try:
            if err.is_terminal:
                from rich.live import Live

                with Live(console=err, transient=False, refresh_per_second=2) as live:
                    collector.run(duration, on_status=lambda st: live.update(st.line()))
            else:
                collector.run(duration)
        except KeyboardInterrupt:
            collector.stop.set()
        err.print(f"minewatch: {collector.status().line()}", markup=False)
