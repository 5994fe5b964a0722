"""nfdump: its `-o csv` output (1.7), and its files read through the `nfdump` program
(Debian package nfdump), as one-way records (EXPORT_RECORD_SCHEMA) in chunks."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from minewatch.errors import CaptureReadError
from minewatch.model.schema import EXPORT_RECORD_SCHEMA
from minewatch.sources.columns import BLOCK, TIMESTAMP, protocol_numbers, tables, utc_micros

__all__ = ["NFDUMP_HEADER", "nfcapd_file", "nfdump_csv"]

NFDUMP_HEADER = "ts,te,td,sa,da,sp,dp,pr"


_NFDUMP_COLUMNS = {
    "ts": pa.string(), "te": pa.string(), "td": pa.float64(), "sa": pa.string(), "da": pa.string(),
    "sp": pa.string(), "dp": pa.string(), "pr": pa.string(), "flg": pa.string(), "ipkt": pa.float64(),
    "ibyt": pa.float64(), "ra": pa.string(),
}  # fmt: skip


def nfdump_csv(source: Path | IO[bytes]) -> Iterator[pa.Table]:
    """nfdump's `-o csv` (1.7) in chunks of one-way records; the Summary block at its end
    has other columns and is skipped."""
    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=BLOCK),
        parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"),
        convert_options=pacsv.ConvertOptions(
            include_columns=list(_NFDUMP_COLUMNS), column_types=_NFDUMP_COLUMNS
        ),
    )
    for t in tables(reader):
        valid = pc.and_(pc.is_valid(t["sa"]), pc.match_substring_regex(t["sp"], r"^\d+$"))
        yield _nfdump_records(t.filter(pc.fill_null(valid, False)))


def _nfdump_records(t: pa.Table) -> pa.Table:
    start = utc_micros(t["ts"])
    duration_us = pc.cast(pc.round(pc.multiply(t["td"], 1e6)), pa.int64())
    return pa.table(
        {
            "exporter": pc.fill_null(t["ra"], "nfdump"),
            "first_seen": start,
            "last_seen": pc.cast(pc.add(pc.cast(start, pa.int64()), duration_us), TIMESTAMP),
            "ip_proto": protocol_numbers(t["pr"]),
            "src_ip": t["sa"],
            "src_port": pc.cast(t["sp"], pa.uint16()),
            "dst_ip": t["da"],
            "dst_port": pc.cast(t["dp"], pa.uint16()),
            "packets": pc.cast(t["ipkt"], pa.uint64()),
            "bytes": pc.cast(t["ibyt"], pa.uint64()),
            "tcp_flags": _nfdump_flags(t["flg"]),
            "rev_packets": pa.nulls(t.num_rows, pa.uint64()),
            "rev_bytes": pa.nulls(t.num_rows, pa.uint64()),
            # nfcapd multiplies packets and bytes by a rate it recognises (or its own -s N)
            # before it stores them, and `-o csv` does not print the rate: unknown here
            # (null), taken as 1 unless `import --sampling-rate N` says otherwise. nfcapd
            # 1.7.1 did not recognise pmacct's v9 and IPFIX sampler options (1-in-10 export
            # stored unscaled, `nfdump -E` listing no sampler).
            "sampling_rate": pa.nulls(t.num_rows, pa.float64()),
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


def nfcapd_file(path: Path) -> Iterator[pa.Table]:
    """An nfdump file through `nfdump -o csv`, read from its output as it comes."""
    nfdump = shutil.which("nfdump")
    if nfdump is None:
        raise CaptureReadError(str(path), "an nfdump file needs the nfdump program (Debian package nfdump)")
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([nfdump, "-r", str(path), "-o", "csv"], stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        rows = 0
        try:
            for t in nfdump_csv(proc.stdout):
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
