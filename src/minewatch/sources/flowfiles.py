"""Flow logs as inputs: nfdump (its CSV, or its files through `nfdump -o csv`), Zeek
conn.log / dns.log / ssl.log (TSV or JSON), and CSV or Parquet with a column mapping.

Each file becomes flow records of RECORD_SCHEMA, handed on like an engine's batches, so
`scan` and `import` analyse a flow log exactly as they analyse a capture. DNS logs are
not flows: they are read first, and every flow whose server address a DNS answer gave
carries that name (`resolved_name`), so a pool known by name is known in flow data too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from minewatch.errors import CaptureReadError
from minewatch.model.findings import InputReport
from minewatch.model.schema import FLOW_SCHEMA, MINING_TYPE, RECORD_SCHEMA, SAMPLING_RATE
from minewatch.sources import zeek
from minewatch.sources.base import EngineBatch
from minewatch.sources.dnsjoin import Resolutions
from minewatch.sources.flowexport import TWO_WAY_COUNTS, Pairer, assume_rate, to_record_schema
from minewatch.sources.nfdump import NFDUMP_HEADER, nfcapd_file, nfdump_csv
from minewatch.sources.tabular import BATCH_ROWS, tabular

__all__ = [
    "FlowFileCapture",
    "FlowFormat",
    "Resolutions",
    "SideLogs",
    "detect_format",
    "is_flow_file",
    "read_side_logs",
]


class FlowFormat(StrEnum):
    NFDUMP_CSV = "nfdump-csv"
    NFCAPD = "nfcapd"
    ZEEK_CONN = "zeek-conn"
    ZEEK_DNS = "zeek-dns"
    ZEEK_SSL = "zeek-ssl"
    RECORDS = "records"  # CSV/Parquet of two-way records (RECORD_SCHEMA names, or mapped)
    EXPORT = "export"  # CSV/Parquet of one-way records (EXPORT_RECORD_SCHEMA names, or mapped)


_ZEEK_KINDS = {"conn": FlowFormat.ZEEK_CONN, "dns": FlowFormat.ZEEK_DNS, "ssl": FlowFormat.ZEEK_SSL}
_FLOW_SUFFIXES = (".csv", ".parquet", ".log", ".json", ".jsonl", ".tsv")


def is_flow_file(path: Path) -> bool:
    """Whether `scan` should read this file as a flow log rather than a capture."""
    return path.suffix.lower() in _FLOW_SUFFIXES or path.name.startswith("nfcapd.")


def _columns_format(names: Iterable[str]) -> FlowFormat | None:
    names = set(names)
    if {"client_ip", "server_ip"} <= names:
        return FlowFormat.RECORDS
    if {"src_ip", "dst_ip"} <= names:
        return FlowFormat.EXPORT
    return None


def detect_format(path: Path, mapping: dict[str, str] | None = None) -> FlowFormat:
    """What kind of flow log a file is, from its first bytes. Raises CaptureReadError."""
    if path.name.startswith("nfcapd."):
        return FlowFormat.NFCAPD
    mapped = set((mapping or {}).keys())
    try:
        if path.suffix.lower() == ".parquet":
            names = pq.read_schema(path).names
            found = _columns_format([*names, *mapped])
            if found is None:
                raise CaptureReadError(
                    str(path), "Parquet without client_ip/server_ip or src_ip/dst_ip columns"
                )
            return found
        with path.open("rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
    except OSError as e:
        raise CaptureReadError(str(path), (e.strerror or str(e)).lower()) from e
    except pa.ArrowInvalid as e:
        raise CaptureReadError(str(path), f"not a Parquet file: {e}") from e
    first = head.splitlines()[0] if head else ""
    if first.startswith(NFDUMP_HEADER):
        return FlowFormat.NFDUMP_CSV
    if first.startswith("#separator"):
        for line in head.splitlines():
            if line.startswith("#path"):
                kind = line.split("\t", 1)[-1].strip()
                if kind in _ZEEK_KINDS:
                    return _ZEEK_KINDS[kind]
                raise CaptureReadError(str(path), f"Zeek {kind}.log is not a log minewatch reads")
        raise CaptureReadError(str(path), "Zeek log without a #path line")
    if first.startswith("{"):
        try:
            keys = set(json.loads(first))
        except ValueError as e:
            raise CaptureReadError(str(path), f"first line is not JSON: {e}") from e
        if "id.orig_h" in keys:
            if "query" in keys:
                return FlowFormat.ZEEK_DNS
            if "conn_state" in keys or "orig_bytes" in keys or "proto" in keys:
                return FlowFormat.ZEEK_CONN
            if "server_name" in keys or "cipher" in keys or "version" in keys:
                return FlowFormat.ZEEK_SSL
        raise CaptureReadError(str(path), "JSON lines that are not a Zeek conn, dns or ssl log")
    found = _columns_format([*first.split(","), *mapped])
    if found is None:
        raise CaptureReadError(
            str(path),
            "not a flow log minewatch knows (nfdump CSV, Zeek, or CSV with client_ip/server_ip or "
            "src_ip/dst_ip columns; map other names with --map)",
        )
    return found


def _written_flows(t: pa.Table) -> pa.Table:
    """Flows minewatch wrote, as records, keeping what dissection found (the `mining`
    column; older files' narrower struct is widened with nulls)."""
    if SAMPLING_RATE.name not in t.column_names:  # written before the rate was kept
        t = t.append_column(SAMPLING_RATE, pa.nulls(t.num_rows, pa.float64()))
    records = t.select(list(RECORD_SCHEMA.names)).cast(RECORD_SCHEMA)
    if "mining" not in t.column_names:
        return records
    return records.append_column(FLOW_SCHEMA.field("mining"), t["mining"].cast(MINING_TYPE))


class FlowFileCapture:
    """One flow log as an input to analysis (the `Capture` protocol of sources/base.py).
    `ssl` maps Zeek connection uids to server names, from ssl.logs read before."""

    def __init__(
        self,
        path: Path,
        fmt: FlowFormat | None = None,
        mapping: dict[str, str] | None = None,
        resolutions: Resolutions | None = None,
        ssl: dict[str, str] | None = None,
        unannounced_rate: int = 1,
    ) -> None:
        self.path = path
        # Flow exports whose records say no sampling rate are taken as sampled 1 in this.
        self.unannounced_rate = unannounced_rate
        self.fmt = fmt
        self.mapping = mapping or {}
        self.resolutions = resolutions or Resolutions()
        self.ssl = ssl or {}
        self._report = InputReport(source=str(path))

    @property
    def source(self) -> str:
        return str(self.path)

    def _export_chunks(self, fmt: FlowFormat) -> Iterator[pa.Table]:
        """One-way records (EXPORT_RECORD_SCHEMA) in chunks."""
        rate = self.unannounced_rate
        if fmt is FlowFormat.NFDUMP_CSV:
            yield from (assume_rate(t, rate) for t in nfdump_csv(self.path))
        elif fmt is FlowFormat.NFCAPD:
            yield from (assume_rate(t, rate) for t in nfcapd_file(self.path))
        else:
            for t in tabular(self.path, self.mapping):
                n = t.num_rows
                if "exporter" not in t.column_names:
                    t = t.append_column("exporter", pa.repeat(pa.scalar(self.source), n))
                for name in ("rev_packets", "rev_bytes"):
                    if name not in t.column_names:
                        t = t.append_column(name, pa.nulls(n, pa.uint64()))
                if "tcp_flags" not in t.column_names:
                    t = t.append_column("tcp_flags", pa.repeat(pa.scalar(0, pa.uint8()), n))
                yield assume_rate(t, rate)

    def _chunks(self, fmt: FlowFormat) -> Iterator[pa.Table]:
        """Two-way flow records (RECORD_SCHEMA) in chunks; connection ids count on."""
        if fmt in (FlowFormat.NFDUMP_CSV, FlowFormat.NFCAPD, FlowFormat.EXPORT):
            # The two halves of a connection may fall in neighbouring chunks.
            pairer = Pairer()
            for records in self._export_chunks(fmt):
                yield pairer.push(records)
            yield pairer.flush()
            return
        next_id = 0
        if fmt is FlowFormat.ZEEK_CONN:
            with self.path.open("rb") as f:
                if f.read(1) == b"#":  # a TSV header says its fields before any row
                    names = zeek.zeek_header(self.path)[0]
                    zeek.check_fields(self.path, "conn", pa.table({n: [] for n in names}))
            for t in zeek.zeek_stream(self.path):
                conn = zeek.conn_columns(zeek.check_fields(self.path, "conn", t))
                flows = to_record_schema(conn, next_id)
                if self.ssl:
                    sni = pa.array([self.ssl.get(u) for u in conn["uid"].to_pylist()], pa.string())
                    flows = flows.set_column(flows.schema.get_field_index("sni"), "sni", sni)
                next_id += flows.num_rows
                yield flows
            return
        for t in tabular(self.path, self.mapping):
            if "conn_id" in t.column_names:  # flows minewatch wrote (scan --flows, the store)
                yield _written_flows(t)
            else:
                flows = to_record_schema(assume_rate(t, self.unannounced_rate, TWO_WAY_COUNTS), next_id)
                next_id += flows.num_rows
                yield flows

    def batches(self) -> Iterator[EngineBatch]:
        """Flow batches as the file is read: memory follows the chunk, not the file. A
        file that breaks part-way keeps what came before, with a warning."""
        fmt = self.fmt or detect_format(self.path, self.mapping)
        if fmt in (FlowFormat.ZEEK_DNS, FlowFormat.ZEEK_SSL):
            return  # read beforehand (read_resolutions, read_ssl), not flows
        report = _Tally(self.source)
        chunks = self._chunks(fmt)
        while True:
            try:
                flows = next(chunks, None)
            except (
                pa.ArrowInvalid,
                pa.ArrowTypeError,
                pa.ArrowNotImplementedError,
                KeyError,
                ValueError,
                OSError,
            ) as e:
                reason = (e.strerror or str(e)).lower() if isinstance(e, OSError) else str(e).splitlines()[0]
                if report.flows == 0:
                    raise CaptureReadError(self.source, f"not a valid {fmt.value} file: {reason}") from e
                report.warning = f"read up to record {report.flows:,}, then: {reason}"
                break
            if flows is None:
                break
            flows = self.resolutions.annotate(flows)
            report.add(flows)
            self._report = report.done()
            for batch in flows.to_batches(max_chunksize=BATCH_ROWS):
                yield "flows", batch
        self._report = report.done()

    def report(self, flows: int) -> InputReport:
        r = self._report
        return InputReport(r.source, r.packets, r.bytes, flows, r.error, r.warning, r.first_seen, r.last_seen)


@dataclass
class _Tally:
    """What a flow log held so far, for its report."""

    source: str
    flows: int = 0
    packets: int = 0
    bytes: int = 0
    first: datetime | None = None
    last: datetime | None = None
    warning: str | None = None

    def add(self, flows: pa.Table) -> None:
        if flows.num_rows == 0:
            return
        self.flows += flows.num_rows
        self.packets += pc.sum(pc.add(flows["c2s_packets"], flows["s2c_packets"])).as_py() or 0
        self.bytes += pc.sum(pc.add(flows["c2s_bytes"], flows["s2c_bytes"])).as_py() or 0
        first, last = pc.min(flows["first_seen"]).as_py(), pc.max(flows["last_seen"]).as_py()
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)

    def done(self) -> InputReport:
        return InputReport(
            self.source, self.packets, self.bytes, self.flows, None, self.warning, self.first, self.last
        )


@dataclass
class SideLogs:
    """DNS and TLS logs among the inputs: read before the flow logs they annotate."""

    resolutions: Resolutions
    ssl: dict[str, str]
    read: list[Path]
    errors: list[CaptureReadError]


def read_side_logs(paths: Iterable[Path], resolutions: Resolutions) -> SideLogs:
    """Read the Zeek dns.logs and ssl.logs among `paths` (others are left alone)."""
    side = SideLogs(resolutions, {}, [], [])
    for path in paths:
        if not is_flow_file(path):
            continue
        try:
            fmt = detect_format(path)
        except CaptureReadError:
            continue  # reported when it is read as a flow log
        try:
            if fmt is FlowFormat.ZEEK_DNS:
                zeek.read_resolutions(path, resolutions)
            elif fmt is FlowFormat.ZEEK_SSL:
                side.ssl.update(zeek.read_ssl(path))
            else:
                continue
        except CaptureReadError as e:
            side.errors.append(e)
        except (pa.ArrowInvalid, KeyError, OSError) as e:
            side.errors.append(CaptureReadError(str(path), f"not a valid {fmt.value} file: {e}"))
        side.read.append(path)
    return side
