"""Meter data in the store: the series as Parquet (one file per imported file, so an
import again replaces it), the registry, and the last assessment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from minewatch.attribute.meters import MeterRegistry, load_registry

__all__ = ["MeterStore"]


class MeterStore:
    def __init__(self, store: Path) -> None:
        self.root = store / "meters"
        (self.root / "series").mkdir(parents=True, exist_ok=True)

    def write_series(self, name: str, series: pa.Table, intervals: dict[str, int]) -> Path:
        meta = {b"minewatch.intervals": json.dumps(intervals).encode()}
        target = self.root / "series" / f"{Path(name).stem}.parquet"
        pq.write_table(series.replace_schema_metadata(meta), target)
        return target

    def read_series(self) -> tuple[pa.Table | None, dict[str, int]]:
        tables, intervals = [], {}
        for path in sorted((self.root / "series").glob("*.parquet")):
            table = pq.read_table(path)
            intervals.update(json.loads((table.schema.metadata or {}).get(b"minewatch.intervals", b"{}")))
            tables.append(table.replace_schema_metadata(None))
        return (pa.concat_tables(tables) if tables else None), intervals

    def keep_registry(self, path: Path) -> MeterRegistry:
        registry = load_registry(path)  # checked before it replaces the one kept
        shutil.copyfile(path, self.root / "registry.csv")
        return registry

    def registry(self) -> MeterRegistry | None:
        kept = self.root / "registry.csv"
        return load_registry(kept) if kept.is_file() else None

    def write_assessments(self, rows: list[dict[str, Any]]) -> None:
        (self.root / "assessments.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1))

    def assessments(self) -> list[dict[str, Any]]:
        path = self.root / "assessments.json"
        return json.loads(path.read_text()) if path.is_file() else []
