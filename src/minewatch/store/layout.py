"""Where a store keeps its files, in a layout every engine reads: Hive-style partitions
(`date=YYYY-MM-DD/hour=HH`) of Parquet files, which DuckDB (`hive_partitioning`), pyarrow
datasets and Spark all turn into `date` and `hour` columns, on a local path or any
filesystem they open. `store.json` at the top names the layout and the schema versions;
each file also carries its schema version in its Parquet metadata.

    DIR/store.json                                     {"layout": 2, "flows": N, "findings": M}
    DIR/flows/date=2026-11-24/hour=18/part-*.parquet   flows by the UTC hour they start in
    DIR/findings/date=2026-11-24/part-*.parquet        window findings by the day recorded

A file is written under a temporary name (`.part-*.tmp`, which no reader globs), synced
to disk, and then renamed into place, so a reader never sees half a file, and a writer
killed mid-file (or a power cut) leaves only a temporary file that the next start of that
writer removes. Stores of layout 1
(`flows/hour=2026-11-24T18`, `findings/day=2026-11-24`) are moved into this layout when
opened: renames only.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "LAYOUT",
    "MANIFEST",
    "flow_folder",
    "findings_folder",
    "hour_of",
    "read_manifest",
    "upgrade",
    "write_atomically",
]

LAYOUT = 2
MANIFEST = "store.json"
VERSION_KEY = b"minewatch.schema_version"


def flow_folder(root: Path, hour: datetime) -> Path:
    """The partition of flows that start in this UTC hour."""
    return root / "flows" / f"date={hour:%Y-%m-%d}" / f"hour={hour:%H}"


def findings_folder(root: Path, day: datetime) -> Path:
    return root / "findings" / f"date={day:%Y-%m-%d}"


def hour_of(folder: Path) -> datetime | None:
    """The UTC hour of a flow partition (`.../date=D/hour=H`), or None for another folder."""
    date, hour = folder.parent.name, folder.name
    if not (date.startswith("date=") and hour.startswith("hour=")):
        return None
    try:
        return datetime.strptime(f"{date[5:]} {hour[5:]}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    except ValueError:
        return None


def write_atomically(table: pa.Table, folder: Path, tag: str, version: int, compression: str = "lz4") -> Path:
    """Write `table` as a new Parquet file in `folder` (made if missing), under a temporary
    name first; the final path. `tag` names the writer (a collector's id), so files of
    several writers into one store never clash and say whose they are."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"part-{tag}-{uuid.uuid4().hex[:16]}.parquet"
    temporary = folder / f".{name}.tmp"
    metadata = {**(table.schema.metadata or {}), VERSION_KEY: str(version).encode()}
    with temporary.open("wb") as f:
        pq.write_table(table.replace_schema_metadata(metadata), f, compression=compression)
        f.flush()
        os.fsync(f.fileno())  # on disk before it has its name: a power cut leaves no torn file
    final = folder / name
    temporary.replace(final)
    _sync_folder(folder)
    return final


def _sync_folder(folder: Path) -> None:
    """The rename itself on disk (where the platform can open a folder)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def read_manifest(root: Path) -> dict[str, int]:
    try:
        data = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else {}


def upgrade(root: Path, flows_version: int, findings_version: int) -> None:
    """Move a layout-1 store's partitions into this layout, and write the manifest."""
    for old in sorted((root / "flows").glob("hour=*")):
        try:
            hour = datetime.strptime(old.name[5:], "%Y-%m-%dT%H").replace(tzinfo=UTC)
        except ValueError:
            continue
        _move_files(old, flow_folder(root, hour))
    for old in sorted((root / "findings").glob("day=*")):
        try:
            day = datetime.strptime(old.name[4:], "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            continue
        _move_files(old, findings_folder(root, day))
    manifest = {"layout": LAYOUT, "flows": flows_version, "findings": findings_version}
    if read_manifest(root) != manifest:
        temporary = root / f".{MANIFEST}.{uuid.uuid4().hex[:8]}.tmp"
        temporary.write_text(json.dumps(manifest, indent=1) + "\n")
        temporary.replace(root / MANIFEST)


def _move_files(old: Path, new: Path) -> None:
    new.mkdir(parents=True, exist_ok=True)
    for path in old.iterdir():
        if path.is_file():
            path.replace(new / path.name)
    with contextlib.suppress(OSError):  # something else lives there: left as it is
        old.rmdir()
