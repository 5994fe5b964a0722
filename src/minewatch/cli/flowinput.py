"""Flows for the commands that read captures, flow exports or the store alike
(`sites candidates`, `traces`): the inputs read through the same sources as `scan`, or
the store's flow files of the period."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from minewatch.errors import UsageError
from minewatch.model.findings import InputReport
from minewatch.model.schema import FLOW_SCHEMA

if TYPE_CHECKING:
    from minewatch.sites.names import FlowSource

__all__ = ["read_flows"]


def read_flows(
    command: str,
    inputs: list[Path] | None,
    store: Path | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[FlowSource, tuple[InputReport, ...]]:
    """(the flows, the input reports): the inputs when given, else the
    store's flow files of the hours overlapping [since, until)."""
    from minewatch.scan import ScanOptions, scan_paths
    from minewatch.sites.names import FlowSource

    if inputs:
        tables: list[pa.Table] = []
        result = scan_paths(inputs, ScanOptions(flow_writer=tables.append))
        table = pa.concat_tables(tables) if tables else FLOW_SCHEMA.empty_table()
        return FlowSource(table=table), result.inputs
    if store is None:
        raise UsageError(command, "give captures or flow logs, or --store")
    from minewatch.cli.options import existing_store
    from minewatch.store import Store

    files = Store(existing_store(store)).flow_files(since, until)
    return FlowSource(files=tuple(files)), ()
