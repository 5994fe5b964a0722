"""The scan pipeline: inputs -> engine -> dissectors -> detectors -> findings.

Captures are read concurrently (the engine runs without the GIL); everything after the
engine works on Arrow tables and on the few connections that carried candidate messages.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from minewatch.detect import HomeNetworks, ScanContext, fuse, run_detectors
from minewatch.detect.context import ACTIVE_TIMEOUT
from minewatch.detect.mining_column import mining_column, sessions_in
from minewatch.detect.standing import NameStanding
from minewatch.errors import CaptureReadError
from minewatch.estimate import EstimateOptions
from minewatch.intel.indicators import IndicatorSet, load_bundled
from minewatch.model.findings import Evidence, InputReport, ScanResult
from minewatch.model.sampling import MAX_RATE
from minewatch.model.schema import FLOW_SCHEMA, MINING_TYPE, SAMPLING_RATE, Direction, MessageKind
from minewatch.protocols.base import MiningSession, WireMessage, dissect_connection
from minewatch.sources.base import Capture, EngineOptions
from minewatch.sources.flowfiles import FlowFileCapture, Resolutions, is_flow_file, read_side_logs
from minewatch.sources.pcap import FileCapture, expand_paths

if TYPE_CHECKING:
    from minewatch.probe import Confirmer

__all__ = [
    "InputAnalysis",
    "InputResult",
    "ScanOptions",
    "analyse_capture",
    "dissect_messages",
    "fuse_results",
    "messages_by_conn",
    "scan_captures",
    "scan_paths",
]

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class ScanOptions:
    engine: EngineOptions = field(default_factory=EngineOptions)
    intel: IndicatorSet = field(default_factory=load_bundled)
    home: HomeNetworks = field(default_factory=HomeNetworks)
    flows_path: Path | None = None
    estimate: EstimateOptions = field(default_factory=EstimateOptions)
    # DNS answers from DNS logs given with flow logs (sources/flowfiles.py).
    resolutions: Resolutions = field(default_factory=Resolutions)
    # Where flow records go besides --flows (the store of `minewatch import`).
    flow_writer: FlowWriter | None = None
    # Column names of CSV/Parquet flow logs: ours -> theirs.
    flow_mapping: dict[str, str] = field(default_factory=dict)
    # N (1 in N) for flow exports whose records announce no sampling rate (--sampling-rate).
    unannounced_rate: int = 1
    # Server names whose standing weighs against mining (--allow-names).
    standing: NameStanding = field(default_factory=NameStanding)
    # `--confirm`: probe the pools of findings no dissector saw (minewatch.probe.confirm).
    confirm: Confirmer | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.unannounced_rate <= MAX_RATE:
            raise ValueError(
                f"unannounced_rate: a sampling rate is 1 in N with N from 1 to {MAX_RATE}, "
                f"not {self.unannounced_rate}"
            )


def messages_by_conn(messages: pa.Table) -> Iterator[list[WireMessage]]:
    """The engine's message table as one list per connection, in wire order."""
    if messages.num_rows == 0:
        return
    ordered = messages.sort_by([("conn_id", "ascending"), ("index", "ascending")])
    conns = ordered["conn_id"].to_pylist()
    ts = [us / 1e6 for us in ordered["ts"].cast(pa.int64()).to_pylist()]
    cols = [ordered[c].to_pylist() for c in ("index", "direction", "kind", "data", "truncated")]
    current: list[WireMessage] = []
    for i, conn in enumerate(conns):
        if current and current[0].conn_id != conn:
            yield current
            current = []
        current.append(
            WireMessage(
                conn,
                cols[0][i],
                ts[i],
                Direction(cols[1][i]),
                MessageKind(cols[2][i]),
                cols[3][i],
                cols[4][i],
            )
        )
    if current:
        yield current


def dissect_messages(messages: pa.Table) -> dict[int, MiningSession]:
    """Mining sessions by connection id, from the engine's message table."""
    sessions = {}
    for conn in messages_by_conn(messages):
        session = dissect_connection(conn)
        if session is not None:
            sessions[conn[0].conn_id] = session
    return sessions


def _server_names(flows: pa.Table) -> pa.ChunkedArray:
    """SNI, else HTTP Host, else the name an earlier DNS answer gave the address."""
    return pc.coalesce(flows["sni"], flows["http_host"], flows["resolved_name"])


@dataclass
class InputResult:
    """What one input yielded: evidence, its mining sessions by connection, its report."""

    evidence: list[Evidence]
    sessions: dict[int, MiningSession]
    report: InputReport

    @classmethod
    def failed(cls, error: CaptureReadError) -> InputResult:
        """An input that could not be read at all: only its error."""
        return cls([], {}, InputReport(source=error.source, error=error.reason))


FlowWriter = Callable[[pa.Table], object]  # what it returns is not read


class InputAnalysis:
    """Dissection and detection over one input, batch by batch as the engine hands them
    on. Only the messages of connections still open are held, so memory follows the
    connections open at once, not the length of the input."""

    def __init__(self, source: str, options: ScanOptions, write: FlowWriter | None = None) -> None:
        self.source = source
        self.options = options
        self.write = write
        self.held: dict[int, list[WireMessage]] = {}
        # Connections cut by the active timeout: when they began, bytes so far.
        self.started: dict[int, tuple[datetime, int]] = {}
        self.result = InputResult([], {}, InputReport(source=source))
        self.flows = 0

    def feed(self, kind: str, batch: pa.RecordBatch) -> None:
        table = pa.Table.from_batches([batch])
        if kind == "messages":
            for conn in messages_by_conn(table):
                self.held.setdefault(conn[0].conn_id, []).extend(conn)
        else:
            self._flows(table)

    def _flows(self, flows: pa.Table) -> None:
        self.flows += flows.num_rows
        # A connection is dissected when its final record arrives (a long one is also
        # exported hourly under the same conn_id, with the session on its last record).
        final_rows = pc.not_equal(flows["end_reason"], ACTIVE_TIMEOUT)
        columns = ["conn_id", "first_seen", "c2s_bytes", "s2c_bytes"]
        for row in flows.filter(pc.invert(final_rows)).select(columns).to_pylist():
            began, carried = self.started.get(row["conn_id"], (row["first_seen"], 0))
            self.started[row["conn_id"]] = (began, carried + row["c2s_bytes"] + row["s2c_bytes"])
        sessions: dict[int, MiningSession] = {}
        started: dict[int, tuple[datetime, int]] = {}
        # Only connections with held messages or an earlier record need a look (a flow
        # export has neither: no loop per flow there).
        pending = pa.array(list(self.held.keys() | self.started.keys()), pa.uint64())
        final_conns = flows.filter(final_rows)["conn_id"]
        for conn in final_conns.filter(pc.is_in(final_conns, value_set=pending)).to_pylist():
            messages = self.held.pop(conn, None)
            if conn in self.started:
                started[conn] = self.started.pop(conn)
            if messages and (session := dissect_connection(messages)) is not None:
                sessions[conn] = session
        if SAMPLING_RATE.name not in flows.column_names:  # a packet capture sees every packet
            flows = flows.append_column(SAMPLING_RATE, pa.repeat(pa.scalar(1.0), flows.num_rows))
        flows = flows.append_column(
            FLOW_SCHEMA.field("source"), pa.repeat(pa.scalar(self.source, pa.string()), flows.num_rows)
        )
        flows = flows.append_column(FLOW_SCHEMA.field("server_name"), _server_names(flows))
        if "mining" in flows.column_names:
            # Flows minewatch wrote (scan --flows) bring what dissection found.
            sessions.update(sessions_in(flows))
            flows = flows.drop_columns(["mining"])
        mining = mining_column(flows["conn_id"], sessions)
        if sessions:
            mining = pc.if_else(final_rows, mining, pa.scalar(None, MINING_TYPE))
        flows = flows.append_column(FLOW_SCHEMA.field("mining"), mining)
        opts = self.options
        ctx = ScanContext(self.source, flows, sessions, opts.intel, opts.home, started, opts.standing)
        self.result.evidence.extend(run_detectors(ctx))
        self.result.sessions.update(sessions)
        if self.write is not None:
            try:
                stored = flows.cast(FLOW_SCHEMA)
            except ValueError as e:  # ArrowInvalid too: a log with empty cells the store needs
                raise CaptureReadError(self.source, f"flows the store cannot keep: {e}") from e
            self.write(stored)


def analyse_capture(capture: Capture, options: ScanOptions, write: FlowWriter | None = None) -> InputResult:
    """Read one input through the engine and analyse it as its batches arrive. An input
    that cannot be read at all gives a result with only its error."""
    analysis = InputAnalysis(capture.source, options, write)
    try:
        for kind, batch in capture.batches():
            analysis.feed(kind, batch)
    except CaptureReadError as e:
        return InputResult.failed(e)
    analysis.result.report = capture.report(analysis.flows)
    return analysis.result


class _ParquetSink:
    """The --flows file, shared by the threads that analyse inputs."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.lock = threading.Lock()

    def writer_or_none(self) -> FlowWriter | None:
        """What analysis should call with each flow table; None when --flows is not given."""
        return self.write if self.path is not None else None

    def write(self, flows: pa.Table) -> None:
        with self.lock:
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.path, FLOW_SCHEMA)
            self.writer.write_table(flows)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        elif self.path is not None:
            pq.write_table(FLOW_SCHEMA.empty_table(), self.path)


def fuse_results(results: Iterable[InputResult], options: ScanOptions) -> ScanResult:
    """The findings of several inputs' evidence together, with their reports."""
    evidence: list[Evidence] = []
    sessions: dict[tuple[str | None, int], MiningSession] = {}
    reports: list[InputReport] = []
    for r in results:
        evidence.extend(r.evidence)
        sessions.update({(r.report.source, c): s for c, s in r.sessions.items()})
        reports.append(r.report)
    findings = tuple(fuse(evidence, sessions, options.estimate))
    if options.confirm is not None:
        findings = options.confirm.confirm(findings).findings
    return ScanResult(findings=findings, inputs=tuple(reports))


def scan_captures(captures: Iterable[Capture | CaptureReadError], options: ScanOptions) -> ScanResult:
    """Analyse inputs one after another and fuse the evidence of all of them."""
    sink = _ParquetSink(options.flows_path)
    results: list[InputResult] = []
    try:
        for item in captures:
            if isinstance(item, CaptureReadError):
                results.append(InputResult.failed(item))
            else:
                results.append(analyse_capture(item, options, sink.writer_or_none()))
    finally:
        sink.close()
    return fuse_results(results, options)


def scan_paths(paths: list[Path], options: ScanOptions, progress: Progress | None = None) -> ScanResult:
    """Scan capture files and directories, several at once (the engine runs without the
    GIL). Unreadable inputs are reported in the result."""
    files, missing = expand_paths(paths)
    side = read_side_logs(files, options.resolutions)
    files = [f for f in files if f not in side.read]
    missing.extend(side.errors)
    threads = max(1, min(len(files), os.cpu_count() or 1))
    sink = _ParquetSink(options.flows_path)
    write = options.flow_writer or sink.writer_or_none()

    def one(path: Path) -> InputResult:
        capture: Capture = (
            FlowFileCapture(
                path,
                mapping=options.flow_mapping,
                resolutions=options.resolutions,
                ssl=side.ssl,
                unannounced_rate=options.unannounced_rate,
            )
            if is_flow_file(path)
            else FileCapture(path, options.engine)
        )
        result = analyse_capture(capture, options, write)
        if progress is not None:
            progress(str(path), _size(path))
        return result

    results = [InputResult.failed(e) for e in missing]
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results.extend(pool.map(one, files))
    finally:
        sink.close()
    return fuse_results(results, options)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
