"""CSV and Parquet flow logs, with a column mapping, in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from minewatch.sources.columns import BLOCK, tables, utc_micros

__all__ = ["BATCH_ROWS", "tabular"]

BATCH_ROWS = 262_144


def tabular(path: Path, mapping: dict[str, str]) -> Iterator[pa.Table]:
    """A CSV or Parquet flow log in chunks, columns renamed by `mapping` (ours: theirs)."""
    if path.suffix.lower() == ".parquet":
        chunks = tables(pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS))
    else:
        chunks = tables(pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=BLOCK)))
    renames = {source: target for target, source in mapping.items()}
    for t in chunks:
        t = t.rename_columns([renames.get(n, n) for n in t.column_names])
        for name in ("first_seen", "last_seen"):
            if name in t.column_names:
                t = t.set_column(t.schema.get_field_index(name), name, utc_micros(t[name]))
        yield t
