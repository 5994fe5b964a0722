"""Flow logs as inputs: nfdump (its CSV, or its files through `nfdump -o csv`), Zeek
conn.log / dns.log / ssl.log (TSV or JSON), and CSV or Parquet with a column mapping.

Each file becomes flow records of RECORD_SCHEMA, handed on like an engine's batches, so
`scan` and `import` analyse a flow log exactly as they analyse a capture. DNS logs are
not flows: they are read first, and every flow whose server address a DNS answer gave
carries that name (`resolved_name`), so a pool known by name is known in flow data too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from minewatch.errors import CaptureReadError
from minewatch.model.findings import InputReport
from minewatch.model.schema import EXPORT_RECORD_SCHEMA, RECORD_SCHEMA
from minewatch.sources.base import EngineBatch
from minewatch.sources.flowexport import Pairer, to_record_schema

__all__ = [
    "FlowFileCapture",
    "FlowFormat",
    "Resolutions",
    "detect_format",
    "is_flow_file",
    "SideLogs",
    "read_resolutions",
    "read_side_logs",
    "read_ssl",
]

_TS = pa.timestamp("us", tz="UTC")
BATCH_ROWS = 262_144
_BLOCK = 16 << 20  # bytes of text per chunk read


class FlowFormat(StrEnum):
    NFDUMP_CSV = "nfdump-csv"
    NFCAPD = "nfcapd"
    ZEEK_CONN = "zeek-conn"
    ZEEK_DNS = "zeek-dns"
    ZEEK_SSL = "zeek-ssl"
    RECORDS = "records"  # CSV/Parquet of two-way records (RECORD_SCHEMA names, or mapped)
    EXPORT = "export"  # CSV/Parquet of one-way records (EXPORT_RECORD_SCHEMA names, or mapped)


_NFDUMP_HEADER = "ts,te,td,sa,da,sp,dp,pr"
# nfdump 1.7's full `-o csv` header, for output that comes without it.
_NFDUMP_CSV_HEADER = (
    b"ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,"
    b"svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,"
    b"cl,sl,al,ra,eng,exid,tr\n"
)
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
    if first.startswith(_NFDUMP_HEADER):
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


# --- reading ------------------------------------------------------------------------------


def _tables(reader: Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
    for batch in reader:
        if batch.num_rows:
            yield pa.Table.from_batches([batch])


def _zeek_header(path: Path) -> tuple[list[str], int]:
    """A Zeek TSV log's field names and the number of header lines."""
    names: list[str] = []
    header = 0
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("#"):
                break
            header += 1
            if line.startswith("#fields"):
                names = line.rstrip("\n").split("\t")[1:]
    if not names:
        raise CaptureReadError(str(path), "Zeek log without a #fields line")
    return names, header


def _zeek_tsv(path: Path) -> Iterator[pa.Table]:
    names, header = _zeek_header(path)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=header, block_size=_BLOCK),
        parse_options=pacsv.ParseOptions(
            delimiter="\t", quote_char=False, invalid_row_handler=lambda row: "skip"
        ),
        convert_options=pacsv.ConvertOptions(
            null_values=["-", "(empty)", ""],
            strings_can_be_null=True,
            column_types={n: pa.string() for n in names},
        ),
    )
    yield from _tables(reader)


def _zeek_stream(path: Path) -> Iterator[pa.Table]:
    """A Zeek log in chunks (TSV with its # header, or JSON lines)."""
    with path.open("rb") as f:
        is_tsv = f.read(1) == b"#"
    if is_tsv:
        yield from _zeek_tsv(path)
    else:
        yield from _tables(pajson.open_json(path, read_options=pajson.ReadOptions(block_size=_BLOCK)))


def _zeek(path: Path) -> pa.Table:
    """A whole Zeek log (dns.log and ssl.log, which are held anyway)."""
    chunks = list(_zeek_stream(path))
    return pa.concat_tables(chunks, promote_options="permissive") if chunks else pa.table({})


def _str(table: pa.Table, name: str) -> pa.ChunkedArray | pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    return table[name].cast(pa.string())


def _num(table: pa.Table, name: str, to: pa.DataType | None = None) -> pa.Array:
    to = to or pa.uint64()
    if name not in table.column_names:
        return pa.nulls(table.num_rows, to)
    col = table[name]
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.float64())
    return pc.cast(pc.round(pc.cast(col, pa.float64())), to, safe=False)


def _epoch(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Seconds since 1970 (number or numeric text) or ISO text, as UTC microseconds."""
    if pa.types.is_timestamp(col.type):
        return pc.cast(col, _TS) if col.type.tz else pc.assume_timezone(col, "UTC").cast(_TS)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        try:
            col = pc.cast(col, pa.float64())
        except pa.ArrowInvalid:
            return pc.assume_timezone(pc.strptime(col, "%Y-%m-%d %H:%M:%S", "us"), "UTC").cast(_TS)
    us = pc.cast(pc.round(pc.multiply(pc.cast(col, pa.float64()), 1e6)), pa.int64())
    return pc.cast(us, _TS)


_ZEEK_NEEDS = {
    FlowFormat.ZEEK_CONN: ("ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"),
    FlowFormat.ZEEK_DNS: ("ts", "query", "answers"),
    FlowFormat.ZEEK_SSL: ("uid", "server_name"),
}


def _check_zeek(path: Path, fmt: FlowFormat, t: pa.Table) -> pa.Table:
    missing = [c for c in _ZEEK_NEEDS[fmt] if c not in t.column_names]
    if missing:
        raise CaptureReadError(str(path), f"Zeek {fmt.value.split('-')[1]}.log without {', '.join(missing)}")
    return t


def _zeek_checked(path: Path, fmt: FlowFormat) -> pa.Table:
    return _check_zeek(path, fmt, _zeek(path))


def _zeek_conn(t: pa.Table) -> pa.Table:
    """One chunk of a Zeek conn.log as flow columns (and `uid`)."""
    start = _epoch(t["ts"])
    duration = pc.fill_null(pc.cast(_num(t, "duration", pa.float64()), pa.float64()), 0.0)
    end = pc.cast(pc.add(pc.cast(start, pa.int64()), pc.cast(pc.multiply(duration, 1e6), pa.int64())), _TS)
    proto = _proto_numbers(_str(t, "proto"))
    flows = pa.table(
        {
            "uid": _str(t, "uid"),
            "first_seen": start,
            "last_seen": end,
            "ip_proto": proto,
            "client_ip": _str(t, "id.orig_h"),
            "client_port": _num(t, "id.orig_p", pa.uint16()),
            "server_ip": _str(t, "id.resp_h"),
            "server_port": _num(t, "id.resp_p", pa.uint16()),
            # IP-level bytes, as a flow exporter counts them; payload bytes apart.
            "c2s_packets": pc.fill_null(_num(t, "orig_pkts"), 0),
            "s2c_packets": pc.fill_null(_num(t, "resp_pkts"), 0),
            "c2s_bytes": pc.fill_null(pc.coalesce(_num(t, "orig_ip_bytes"), _num(t, "orig_bytes")), 0),
            "s2c_bytes": pc.fill_null(pc.coalesce(_num(t, "resp_ip_bytes"), _num(t, "resp_bytes")), 0),
            "c2s_payload_bytes": _num(t, "orig_bytes"),
            "s2c_payload_bytes": _num(t, "resp_bytes"),
            "application": _str(t, "service"),
        }
    )
    return flows


def _proto_numbers(names: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Protocol names (tcp, UDP, ...) or numbers as text, as IP protocol numbers (0 if unknown)."""
    text = pc.utf8_lower(names.cast(pa.string()))
    named = pc.take(pa.array([1, 6, 17], pa.uint8()), pc.index_in(text, pa.array(["icmp", "tcp", "udp"])))
    numeric = pc.if_else(pc.match_substring_regex(text, r"^\d{1,3}$"), text, pa.scalar(None, pa.string()))
    as_number = pc.cast(pc.cast(numeric, pa.int64()), pa.uint8(), safe=False)
    return pc.fill_null(pc.coalesce(named, as_number), pa.scalar(0, pa.uint8()))


_NFDUMP_COLUMNS = {
    "ts": pa.string(), "te": pa.string(), "td": pa.float64(), "sa": pa.string(), "da": pa.string(),
    "sp": pa.string(), "dp": pa.string(), "pr": pa.string(), "flg": pa.string(), "ipkt": pa.float64(),
    "ibyt": pa.float64(), "ra": pa.string(),
}  # fmt: skip


def _nfdump_csv(source: Path | IO[bytes]) -> Iterator[pa.Table]:
    """nfdump's `-o csv` (1.7) in chunks of one-way records; the Summary block at its end
    has other columns and is skipped."""
    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=_BLOCK),
        parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"),
        convert_options=pacsv.ConvertOptions(
            include_columns=list(_NFDUMP_COLUMNS), column_types=_NFDUMP_COLUMNS
        ),
    )
    for t in _tables(reader):
        valid = pc.and_(pc.is_valid(t["sa"]), pc.match_substring_regex(t["sp"], r"^\d+$"))
        yield _nfdump_records(t.filter(pc.fill_null(valid, False)))


def _nfdump_records(t: pa.Table) -> pa.Table:
    start = _epoch(t["ts"])
    duration_us = pc.cast(pc.round(pc.multiply(t["td"], 1e6)), pa.int64())
    return pa.table(
        {
            "exporter": pc.fill_null(t["ra"], "nfdump"),
            "first_seen": start,
            "last_seen": pc.cast(pc.add(pc.cast(start, pa.int64()), duration_us), _TS),
            "ip_proto": _proto_numbers(t["pr"]),
            "src_ip": t["sa"],
            "src_port": pc.cast(t["sp"], pa.uint16()),
            "dst_ip": t["da"],
            "dst_port": pc.cast(t["dp"], pa.uint16()),
            "packets": pc.cast(t["ipkt"], pa.uint64()),
            "bytes": pc.cast(t["ibyt"], pa.uint64()),
            "tcp_flags": _nfdump_flags(t["flg"]),
            "rev_packets": pa.nulls(t.num_rows, pa.uint64()),
            "rev_bytes": pa.nulls(t.num_rows, pa.uint64()),
        },
        schema=EXPORT_RECORD_SCHEMA,
    )


def _nfdump_flags(flags: pa.ChunkedArray) -> pa.Array:
    """nfdump's flag string (e.g. "...AP.SF": C E U A P R S F) as the TCP flag byte."""
    bits = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40, "C": 0x80}
    out = pa.array([0] * len(flags), pa.uint8())
    for letter, bit in bits.items():
        has = pc.fill_null(pc.match_substring(flags, letter), False)
        out = pc.bit_wise_or(out, pc.if_else(has, pa.scalar(bit, pa.uint8()), pa.scalar(0, pa.uint8())))
    return out


def _nfcapd(path: Path) -> Iterator[pa.Table]:
    """An nfdump file through `nfdump -o csv`, read from its output as it comes."""
    nfdump = shutil.which("nfdump")
    if nfdump is None:
        raise CaptureReadError(str(path), "an nfdump file needs the nfdump program (Debian package nfdump)")
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([nfdump, "-r", str(path), "-o", "csv"], stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        rows = 0
        try:
            for t in _nfdump_csv(proc.stdout):
                rows += t.num_rows
                yield t
        except pa.ArrowInvalid:
            if rows:
                raise
        finally:
            proc.stdout.close()
            proc.wait()
        errors.seek(0)
        complaint = errors.read(4096).decode("utf-8", "replace").strip()
    # nfdump exits 0 on a file it cannot open, saying so on stderr only.
    if proc.returncode != 0 or (complaint and rows == 0):
        reason = complaint.splitlines()
        raise CaptureReadError(
            str(path), f"nfdump cannot read it: {reason[-1] if reason else proc.returncode}"
        )


def _tabular(path: Path, mapping: dict[str, str]) -> Iterator[pa.Table]:
    """A CSV or Parquet flow log in chunks, columns renamed by `mapping` (ours: theirs)."""
    if path.suffix.lower() == ".parquet":
        chunks = _tables(pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS))
    else:
        chunks = _tables(pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=_BLOCK)))
    renames = {source: target for target, source in mapping.items()}
    for t in chunks:
        t = t.rename_columns([renames.get(n, n) for n in t.column_names])
        for name in ("first_seen", "last_seen"):
            if name in t.column_names:
                t = t.set_column(t.schema.get_field_index(name), name, _epoch(t[name]))
        yield t


# --- DNS ----------------------------------------------------------------------------------


@dataclass
class Resolutions:
    """Which name resolved to which address, when: from DNS logs, for the flows after."""

    tables: list[pa.Table] = field(default_factory=list)

    def add(self, ts: pa.Array, names: pa.Array, answers: pa.Array) -> None:
        t = pa.table({"ts": ts, "name": names, "answers": answers})
        t = t.filter(pc.and_(pc.is_valid(t["name"]), pc.is_valid(t["answers"])))
        if t.num_rows:
            self.tables.append(t)

    def annotate(self, flows: pa.Table) -> pa.Table:
        """Set `resolved_name` of each flow whose server address was, at or before its
        start, an answer to a DNS query (the latest such)."""
        if not self.tables or flows.num_rows == 0:
            return flows
        dns = pa.concat_tables(self.tables)
        sql = """
            WITH answers AS (
                SELECT ts, lower(rtrim(name, '.')) AS name, unnest(answers) AS ip FROM dns
            ), f AS (SELECT row_number() OVER () AS row, server_ip, first_seen FROM flows)
            SELECT f.row, a.name FROM f ASOF LEFT JOIN answers a
                ON f.server_ip = a.ip AND f.first_seen >= a.ts
            ORDER BY f.row
        """
        with duckdb.connect() as db:
            db.register("dns", dns)
            db.register("flows", flows.select(["server_ip", "first_seen"]))
            names = db.sql(sql).to_arrow_table()["name"]
        resolved = pc.coalesce(flows["resolved_name"], names.cast(pa.string()))
        return flows.set_column(flows.schema.get_field_index("resolved_name"), "resolved_name", resolved)


def _split_answers(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if pa.types.is_list(col.type):
        return col.cast(pa.list_(pa.string()))
    return pc.split_pattern(col.cast(pa.string()), ",")


def read_resolutions(path: Path, into: Resolutions) -> int:
    """Add a Zeek dns.log's answers; returns the rows read."""
    t = _zeek_checked(path, FlowFormat.ZEEK_DNS)
    into.add(_epoch(t["ts"]), _str(t, "query"), _split_answers(t["answers"]))
    return int(t.num_rows)


# --- the input ----------------------------------------------------------------------------


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
    ) -> None:
        self.path = path
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
        if fmt is FlowFormat.NFDUMP_CSV:
            yield from _nfdump_csv(self.path)
        elif fmt is FlowFormat.NFCAPD:
            yield from _nfcapd(self.path)
        else:
            for t in _tabular(self.path, self.mapping):
                n = t.num_rows
                if "exporter" not in t.column_names:
                    t = t.append_column("exporter", pa.repeat(pa.scalar(self.source), n))
                for name in ("rev_packets", "rev_bytes"):
                    if name not in t.column_names:
                        t = t.append_column(name, pa.nulls(n, pa.uint64()))
                if "tcp_flags" not in t.column_names:
                    t = t.append_column("tcp_flags", pa.repeat(pa.scalar(0, pa.uint8()), n))
                yield t

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
                    _check_zeek(self.path, fmt, pa.table({n: [] for n in _zeek_header(self.path)[0]}))
            for t in _zeek_stream(self.path):
                conn = _zeek_conn(_check_zeek(self.path, fmt, t))
                flows = to_record_schema(conn, next_id)
                if self.ssl:
                    sni = pa.array([self.ssl.get(u) for u in conn["uid"].to_pylist()], pa.string())
                    flows = flows.set_column(flows.schema.get_field_index("sni"), "sni", sni)
                next_id += flows.num_rows
                yield flows
            return
        for t in _tabular(self.path, self.mapping):
            if "conn_id" in t.column_names:  # flows minewatch wrote (scan --flows, the store)
                yield t.select(list(RECORD_SCHEMA.names)).cast(RECORD_SCHEMA)
            else:
                flows = to_record_schema(t, next_id)
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
            except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError, ValueError, duckdb.Error, OSError) as e:
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


def read_ssl(path: Path) -> dict[str, str]:
    """Connection uid -> TLS server name, from a Zeek ssl.log."""
    t = _zeek_checked(path, FlowFormat.ZEEK_SSL)
    uids, names = _str(t, "uid").to_pylist(), _str(t, "server_name").to_pylist()
    return {u: n for u, n in zip(uids, names, strict=True) if u and n}


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
                read_resolutions(path, resolutions)
            elif fmt is FlowFormat.ZEEK_SSL:
                side.ssl.update(read_ssl(path))
            else:
                continue
        except CaptureReadError as e:
            side.errors.append(e)
        except (pa.ArrowInvalid, KeyError, OSError) as e:
            side.errors.append(CaptureReadError(str(path), f"not a valid {fmt.value} file: {e}"))
        side.read.append(path)
    return side
