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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

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
from minewatch.sources.flowexport import pair_records, to_record_schema

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


def _zeek_tsv(path: Path) -> pa.Table:
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
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=header),
        parse_options=pacsv.ParseOptions(
            delimiter="\t", quote_char=False, invalid_row_handler=lambda row: "skip"
        ),
        convert_options=pacsv.ConvertOptions(
            null_values=["-", "(empty)", ""],
            strings_can_be_null=True,
            column_types={n: pa.string() for n in names},
        ),
    )


def _zeek_json(path: Path) -> pa.Table:
    return pajson.read_json(path)


def _zeek(path: Path) -> pa.Table:
    with path.open("rb") as f:
        is_tsv = f.read(1) == b"#"
    return _zeek_tsv(path) if is_tsv else _zeek_json(path)


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


def _zeek_checked(path: Path, fmt: FlowFormat) -> pa.Table:
    t = _zeek(path)
    missing = [c for c in _ZEEK_NEEDS[fmt] if c not in t.column_names]
    if missing:
        raise CaptureReadError(str(path), f"Zeek {fmt.value.split('-')[1]}.log without {', '.join(missing)}")
    return t


def _zeek_conn(path: Path) -> pa.Table:
    t = _zeek_checked(path, FlowFormat.ZEEK_CONN)
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
    known = {"icmp": 1, "tcp": 6, "udp": 17, "TCP": 6, "UDP": 17, "ICMP": 1}
    return pa.array([known.get(n, 0) if n else 0 for n in names.to_pylist()], pa.uint8())


def _nfdump_csv_table(source: Path | bytes) -> pa.Table:
    """nfdump's `-o csv` (1.7): one-way records, then a Summary block that is skipped."""
    stream = pa.BufferReader(source) if isinstance(source, bytes) else source
    t = pacsv.read_csv(
        stream,
        parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"),
        convert_options=pacsv.ConvertOptions(
            include_columns=["ts", "te", "td", "sa", "da", "sp", "dp", "pr", "flg", "ipkt", "ibyt", "ra"],
            column_types={c: pa.string() for c in ("ts", "te", "sa", "da", "pr", "flg", "ra", "sp", "dp")},
        ),
    )
    # The summary lines parse as rows with a text where the address should be: drop them.
    valid = pc.and_(pc.is_valid(t["sa"]), pc.match_substring_regex(t["sp"], r"^\d+$"))
    t = t.filter(pc.fill_null(valid, False))
    start = _epoch(t["ts"])
    duration_us = pc.cast(pc.round(pc.multiply(pc.cast(t["td"], pa.float64()), 1e6)), pa.int64())
    flags = t["flg"]
    tcp_flags = _nfdump_flags(flags)
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
            "tcp_flags": tcp_flags,
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


def _nfcapd(path: Path) -> pa.Table:
    nfdump = shutil.which("nfdump")
    if nfdump is None:
        raise CaptureReadError(str(path), "an nfdump file needs the nfdump program (Debian package nfdump)")
    proc = subprocess.run([nfdump, "-r", str(path), "-q", "-o", "csv"], capture_output=True, check=False)
    # nfdump exits 0 on a file it cannot open, saying so on stderr only.
    complaint = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or (complaint and b"," not in proc.stdout):
        reason = complaint.splitlines()
        raise CaptureReadError(
            str(path), f"nfdump cannot read it: {reason[-1] if reason else proc.returncode}"
        )
    text = proc.stdout
    if not text.startswith(_NFDUMP_HEADER.encode()):
        # `-q` drops the header line in some versions.
        text = _NFDUMP_CSV_HEADER + text
    return _nfdump_csv_table(text)


def _tabular(path: Path, mapping: dict[str, str]) -> pa.Table:
    t = pq.read_table(path) if path.suffix.lower() == ".parquet" else pacsv.read_csv(path)
    renames = {source: target for target, source in mapping.items()}
    t = t.rename_columns([renames.get(n, n) for n in t.column_names])
    for name in ("first_seen", "last_seen"):
        if name in t.column_names:
            t = t.set_column(t.schema.get_field_index(name), name, _epoch(t[name]))
    return t


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

    def _records(self, fmt: FlowFormat) -> pa.Table:
        if fmt is FlowFormat.NFDUMP_CSV:
            return pair_records(_nfdump_csv_table(self.path))
        if fmt is FlowFormat.NFCAPD:
            return pair_records(_nfcapd(self.path))
        if fmt is FlowFormat.ZEEK_CONN:
            conn = _zeek_conn(self.path)
            flows = to_record_schema(conn)
            if self.ssl:
                sni = pa.array([self.ssl.get(u) for u in conn["uid"].to_pylist()], pa.string())
                flows = flows.set_column(flows.schema.get_field_index("sni"), "sni", sni)
            return flows
        t = _tabular(self.path, self.mapping)
        if fmt is FlowFormat.EXPORT:
            if "exporter" not in t.column_names:
                t = t.append_column("exporter", pa.repeat(pa.scalar(self.source), t.num_rows))
            for name in ("rev_packets", "rev_bytes"):
                if name not in t.column_names:
                    t = t.append_column(name, pa.nulls(t.num_rows, pa.uint64()))
            if "tcp_flags" not in t.column_names:
                t = t.append_column("tcp_flags", pa.repeat(pa.scalar(0, pa.uint8()), t.num_rows))
            return pair_records(t)
        if "conn_id" in t.column_names:
            return t.select([n for n in RECORD_SCHEMA.names]).cast(RECORD_SCHEMA)
        return to_record_schema(t)

    def batches(self) -> Iterator[EngineBatch]:
        fmt = self.fmt or detect_format(self.path, self.mapping)
        if fmt in (FlowFormat.ZEEK_DNS, FlowFormat.ZEEK_SSL):
            return  # read beforehand (read_resolutions, read_ssl), not flows
        try:
            flows = self._records(fmt)
        except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError, ValueError, duckdb.Error) as e:
            raise CaptureReadError(
                self.source, f"not a valid {fmt.value} file: {str(e).splitlines()[0]}"
            ) from e
        except OSError as e:
            raise CaptureReadError(self.source, (e.strerror or str(e)).lower()) from e
        flows = self.resolutions.annotate(flows)
        if flows.num_rows:
            first, last = pc.min(flows["first_seen"]).as_py(), pc.max(flows["last_seen"]).as_py()
        else:
            first = last = None
        packets = pc.sum(pc.add(flows["c2s_packets"], flows["s2c_packets"])).as_py() or 0
        volume = pc.sum(pc.add(flows["c2s_bytes"], flows["s2c_bytes"])).as_py() or 0
        self._report = InputReport(
            source=self.source, packets=packets, bytes=volume, first_seen=first, last_seen=last
        )
        for batch in flows.to_batches(max_chunksize=BATCH_ROWS):
            yield "flows", batch

    def report(self, flows: int) -> InputReport:
        r = self._report
        return InputReport(r.source, r.packets, r.bytes, flows, r.error, r.warning, r.first_seen, r.last_seen)


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
