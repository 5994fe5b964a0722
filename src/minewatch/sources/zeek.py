"""Zeek logs: conn.log as flows, dns.log as DNS answers, ssl.log as server names; in
Zeek's TSV (with its # header; '-' unset, '(empty)' empty, vectors joined by ',') or its
JSON lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from minewatch.errors import CaptureReadError
from minewatch.sources.columns import (
    BLOCK,
    TIMESTAMP,
    number_column,
    protocol_numbers,
    tables,
    text_column,
    utc_micros,
)
from minewatch.sources.dnsjoin import Resolutions

__all__ = [
    "NEEDS",
    "check_fields",
    "conn_columns",
    "read_resolutions",
    "read_ssl",
    "zeek_header",
    "zeek_stream",
]


def zeek_header(path: Path) -> tuple[list[str], int]:
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


def _tsv(path: Path) -> Iterator[pa.Table]:
    names, header = zeek_header(path)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=header, block_size=BLOCK),
        parse_options=pacsv.ParseOptions(
            delimiter="\t", quote_char=False, invalid_row_handler=lambda row: "skip"
        ),
        convert_options=pacsv.ConvertOptions(
            null_values=["-", "(empty)", ""],
            strings_can_be_null=True,
            column_types={n: pa.string() for n in names},
        ),
    )
    yield from tables(reader)


def zeek_stream(path: Path) -> Iterator[pa.Table]:
    """A Zeek log in chunks (TSV with its # header, or JSON lines)."""
    with path.open("rb") as f:
        is_tsv = f.read(1) == b"#"
    if is_tsv:
        yield from _tsv(path)
    else:
        yield from tables(pajson.open_json(path, read_options=pajson.ReadOptions(block_size=BLOCK)))


def read_whole(path: Path) -> pa.Table:
    """A whole Zeek log (dns.log and ssl.log, which are held anyway)."""
    chunks = list(zeek_stream(path))
    return pa.concat_tables(chunks, promote_options="permissive") if chunks else pa.table({})


# The fields each log must have for minewatch to use it.
NEEDS = {
    "conn": ("ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"),
    "dns": ("ts", "query", "answers"),
    "ssl": ("uid", "server_name"),
}


def check_fields(path: Path, kind: str, t: pa.Table) -> pa.Table:
    """`t`, if it has the fields a Zeek `kind`.log needs; else a CaptureReadError."""
    missing = [c for c in NEEDS[kind] if c not in t.column_names]
    if missing:
        raise CaptureReadError(str(path), f"Zeek {kind}.log without {', '.join(missing)}")
    return t


def read_whole_checked(path: Path, kind: str) -> pa.Table:
    return check_fields(path, kind, read_whole(path))


def _bytes(t: pa.Table, side: str) -> pa.Array:
    """IP-level bytes of one side, as a flow exporter counts them; else payload bytes."""
    return pc.fill_null(
        pc.coalesce(number_column(t, f"{side}_ip_bytes"), number_column(t, f"{side}_bytes")), 0
    )


def conn_columns(t: pa.Table) -> pa.Table:
    """One chunk of a Zeek conn.log as flow columns (and `uid`)."""
    start = utc_micros(t["ts"])
    duration = pc.fill_null(pc.cast(number_column(t, "duration", pa.float64()), pa.float64()), 0.0)
    duration_us = pc.cast(pc.round(pc.multiply(duration, 1e6)), pa.int64())
    end = pc.cast(pc.add(pc.cast(start, pa.int64()), duration_us), TIMESTAMP)
    proto = protocol_numbers(text_column(t, "proto"))
    flows = pa.table(
        {
            "uid": text_column(t, "uid"),
            "first_seen": start,
            "last_seen": end,
            "ip_proto": proto,
            "client_ip": text_column(t, "id.orig_h"),
            "client_port": number_column(t, "id.orig_p", pa.uint16()),
            "server_ip": text_column(t, "id.resp_h"),
            "server_port": number_column(t, "id.resp_p", pa.uint16()),
            "c2s_packets": pc.fill_null(number_column(t, "orig_pkts"), 0),
            "s2c_packets": pc.fill_null(number_column(t, "resp_pkts"), 0),
            "c2s_bytes": _bytes(t, "orig"),
            "s2c_bytes": _bytes(t, "resp"),
            "c2s_payload_bytes": number_column(t, "orig_bytes"),
            "s2c_payload_bytes": number_column(t, "resp_bytes"),
            "application": text_column(t, "service"),
        }
    )
    return flows


def _split_answers(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if pa.types.is_list(col.type):
        return col.cast(pa.list_(pa.string()))
    return pc.split_pattern(col.cast(pa.string()), ",")


def read_resolutions(path: Path, into: Resolutions) -> int:
    """Add a Zeek dns.log's answers; returns the rows read."""
    t = read_whole_checked(path, "dns")
    into.add(utc_micros(t["ts"]), text_column(t, "query"), _split_answers(t["answers"]))
    return int(t.num_rows)


def read_ssl(path: Path) -> dict[str, str]:
    """Connection uid -> TLS server name, from a Zeek ssl.log."""
    t = read_whole_checked(path, "ssl")
    uids, names = text_column(t, "uid").to_pylist(), text_column(t, "server_name").to_pylist()
    return {u: n for u, n in zip(uids, names, strict=True) if u and n}
