"""The scan pipeline: inputs -> engine -> dissectors -> detectors -> findings.

Captures are read concurrently (the engine runs without the GIL); everything after the
engine works on Arrow tables and on the few connections that carried candidate messages.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from minewatch.detect import HomeNetworks, ScanContext, fuse, run_detectors
from minewatch.errors import CaptureReadError
from minewatch.intel.indicators import IndicatorSet, load_bundled
from minewatch.model.findings import Evidence, InputReport, ScanResult
from minewatch.model.schema import FLOW_SCHEMA, MINING_TYPE, Direction, MessageKind
from minewatch.protocols.base import MiningSession, WireMessage, dissect_connection
from minewatch.sources.base import Capture, EngineOptions
from minewatch.sources.pcap import expand_paths, read_capture

__all__ = ["ScanOptions", "analyse", "dissect_messages", "scan_captures", "scan_paths"]

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class ScanOptions:
    engine: EngineOptions = field(default_factory=EngineOptions)
    intel: IndicatorSet = field(default_factory=load_bundled)
    home: HomeNetworks = field(default_factory=HomeNetworks)
    flows_path: Path | None = None


@dataclass(frozen=True)
class Analysis:
    flows: pa.Table
    evidence: list[Evidence]
    sessions: dict[int, MiningSession]


def _messages_by_conn(messages: pa.Table) -> Iterator[list[WireMessage]]:
    if messages.num_rows == 0:
        return
    ordered = messages.sort_by([("conn_id", "ascending"), ("index", "ascending")])
    conns = ordered["conn_id"].to_pylist()
    ts = pc.divide(pc.cast(pc.cast(ordered["ts"], pa.int64()), pa.float64()), 1e6).to_pylist()
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
    for conn in _messages_by_conn(messages):
        session = dissect_connection(conn)
        if session is not None:
            sessions[conn[0].conn_id] = session
    return sessions


def _server_names(flows: pa.Table) -> pa.Array:
    """SNI, else HTTP Host, else the name a DNS answer in the same input gave the address."""
    names = pc.coalesce(flows["sni"], flows["http_host"])
    resolved: dict[str, str] = {}
    dns = flows.filter(pc.is_valid(flows["dns_answers"])).select(["dns_query", "dns_answers"]).to_pylist()
    for row in dns:
        for answer in row["dns_answers"] or []:
            is_address = answer[:1].isdigit() or ":" in answer
            if row["dns_query"] and is_address:
                resolved.setdefault(answer, row["dns_query"])
    if not resolved:
        return names
    # Per distinct address, not per flow: look each flow up by its index in the answer set.
    addresses = pa.array(list(resolved), pa.string())
    by_ip = pa.array(list(resolved.values()), pa.string()).take(
        pc.index_in(flows["server_ip"], value_set=addresses)
    )
    return pc.coalesce(names, by_ip)


def _session_row(s: MiningSession) -> dict[str, object]:
    return {
        "protocol": s.protocol,
        "methods": list(s.methods),
        "login": s.logins[0] if s.logins else None,
        "agent": s.agent,
        "algorithm": s.algorithm,
        "jobs": s.jobs,
        "difficulty": [{"ts": int(t * 1e6), "value": d} for t, d in s.difficulty],
        "shares_submitted": s.submitted,
        "shares_accepted": s.accepted,
        "shares_rejected": s.rejected,
        "reported_hashrate": s.reported_hashrate,
    }


def _mining_column(flows: pa.Table, sessions: dict[int, MiningSession]) -> pa.Array:
    """The mining struct per flow: built once per session, placed by conn_id (null elsewhere)."""
    if not sessions:
        return pa.nulls(flows.num_rows, MINING_TYPE)
    conns = pa.array(list(sessions), pa.uint64())
    rows = pa.array([_session_row(s) for s in sessions.values()], MINING_TYPE)
    return rows.take(pc.index_in(flows["conn_id"], value_set=conns))


def analyse(capture: Capture, options: ScanOptions) -> Analysis:
    """Dissect and detect over one input; returns its full flow table and evidence."""
    sessions = dissect_messages(capture.messages)
    flows = capture.flows
    flows = flows.append_column(
        FLOW_SCHEMA.field("source"), pa.repeat(pa.scalar(capture.source, pa.string()), flows.num_rows)
    )
    flows = flows.append_column(FLOW_SCHEMA.field("server_name"), _server_names(flows))
    flows = flows.append_column(FLOW_SCHEMA.field("mining"), _mining_column(flows, sessions))
    ctx = ScanContext(capture.source, flows, sessions, options.intel, options.home)
    return Analysis(flows, run_detectors(ctx), sessions)


def _read(path: Path, options: EngineOptions) -> Capture | CaptureReadError:
    try:
        return read_capture(path, options)
    except CaptureReadError as e:
        return e


def scan_captures(captures: Iterator[Capture | CaptureReadError], options: ScanOptions) -> ScanResult:
    """Analyse captures as they arrive and fuse the evidence of all of them."""
    evidence: list[Evidence] = []
    sessions: dict[tuple[str | None, int], MiningSession] = {}
    reports: list[InputReport] = []
    writer = None
    try:
        for item in captures:
            if isinstance(item, CaptureReadError):
                reports.append(InputReport(source=item.source, error=item.reason))
                continue
            result = analyse(item, options)
            evidence.extend(result.evidence)
            sessions.update({(item.source, c): s for c, s in result.sessions.items()})
            reports.append(item.report)
            if options.flows_path is not None:
                if writer is None:
                    writer = pq.ParquetWriter(options.flows_path, FLOW_SCHEMA)
                writer.write_table(result.flows.cast(FLOW_SCHEMA))
    finally:
        if writer is not None:
            writer.close()
    if options.flows_path is not None and writer is None:
        pq.write_table(FLOW_SCHEMA.empty_table(), options.flows_path)
    return ScanResult(findings=tuple(fuse(evidence, sessions)), inputs=tuple(reports))


def scan_paths(paths: list[Path], options: ScanOptions, progress: Progress | None = None) -> ScanResult:
    """Scan capture files and directories. Unreadable inputs are reported in the result."""
    files, missing = expand_paths(paths)
    threads = max(1, min(len(files), os.cpu_count() or 1))

    def produce() -> Iterator[Capture | CaptureReadError]:
        yield from missing
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for path, item in zip(files, pool.map(lambda p: _read(p, options.engine), files), strict=True):
                if progress is not None:
                    progress(str(path), _size(path))
                yield item

    return scan_captures(produce(), options)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
