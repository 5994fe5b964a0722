"""The province-day generator (synth/province.py) and the bulletin held against its truth:
a collector's 24 hourly flow files imported one by one into one store."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from minewatch.cli.main import main
from minewatch.sources.flowfiles import FlowFileCapture
from minewatch.synth.province import ProvinceConfig, divisions, generate_province

HOSTS, MINERS, SEED = 1500, 80, 7


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("province")
    assert main(["generate", "--province", str(out), "--hosts", str(HOSTS), "--miners", str(MINERS),
                 "--seed", str(SEED)]) == 0  # fmt: skip
    return out


def _truth(day: Path) -> dict[str, Any]:
    return json.loads((day / "truth.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _records(day: Path) -> pa.Table:
    """Every hourly file as minewatch reads it (the `import` reader)."""
    tables = []
    for path in sorted((day / "flows").glob("hour=*.csv")):
        tables.extend(pa.Table.from_batches([b]) for _, b in FlowFileCapture(path).batches())
    return pa.concat_tables(tables)


def test_the_files_hold_the_truth(day: Path) -> None:
    """Bytes, records and times of the mining connections in the files are the truth's."""
    truth = _truth(day)
    flows = _records(day)
    pools = {(h["pool"]["ip"], h["host"]) for h in truth["mining"]}
    pairs = [f"{s}|{c}" for s, c in pools]
    key = pc.binary_join_element_wise(flows["server_ip"], flows["client_ip"], "|")
    mining = flows.filter(pc.is_in(key, pa.array(pairs)))
    per_host: dict[str, list[Any]] = defaultdict(lambda: [0, 0, None, None])
    for row in mining.select(["client_ip", "c2s_bytes", "s2c_bytes", "first_seen", "last_seen"]).to_pylist():
        h = per_host[row["client_ip"]]
        h[0] += row["c2s_bytes"] + row["s2c_bytes"]
        h[1] += 1
        h[2] = row["first_seen"] if h[2] is None else min(h[2], row["first_seen"])
        h[3] = row["last_seen"] if h[3] is None else max(h[3], row["last_seen"])
    assert len(per_host) == truth["mining_hosts"] == MINERS
    assert mining.num_rows == truth["mining_records"]
    assert sum(h[0] for h in per_host.values()) == truth["mining_bytes"]
    for host in truth["mining"]:
        got = per_host[host["host"]]
        assert (got[0], got[1]) == (host["bytes"], host["records"])
        assert (got[3] - got[2]).total_seconds() == host["seconds"]
        assert got[2].isoformat().replace("+00:00", "Z") == host["first_seen"]
    day_s = 86_400
    assert truth["mbit_s_day"] == pytest.approx(truth["mining_bytes"] * 8 / day_s / 1e6)
    assert flows.num_rows > 2 * mining.num_rows  # ordinary traffic outweighs mining


def test_connections_span_hourly_files(day: Path) -> None:
    """A miner's connection is cut by the active timeout (60-300 s) into records that
    land in many hourly files, as a router exports it."""
    truth = _truth(day)
    long = max(truth["mining"], key=lambda h: h["seconds"])
    mine, files, spans = (long["host"], long["pool"]["ip"]), 0, []
    for path in sorted((day / "flows").glob("hour=*.csv")):
        with path.open(encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if (r["client_ip"], r["server_ip"]) == mine]
        files += bool(rows)
        spans += [float(r["last_seen"]) - float(r["first_seen"]) for r in rows]
    assert files >= 2
    assert len(spans) == long["records"]
    assert max(spans) <= 300
    assert sorted(spans)[len(spans) // 2] >= 60  # only a connection's last record is shorter


def test_truth_agrees_with_the_inventory(day: Path) -> None:
    """Places are the province's real divisions; the truth's cities, sectors and
    compromised share follow from the inventory's blocks."""
    truth = _truth(day)
    name, cities, counties = divisions("320000")
    assert name == truth["province"]["name"] == "江苏省"
    assert {"320100": "南京市", "320200": "无锡市", "320500": "苏州市"}.items() <= {
        c.code: c.name for c in cities
    }.items()
    codes = {c.code for c in (*cities, *counties)}
    with (day / "inventory.csv").open(encoding="utf-8") as f:
        blocks = list(csv.DictReader(f))
    assert {b["region_code"] for b in blocks} <= codes
    assert {b["sector"] for b in blocks} == {
        "residential", "datacenter", "education", "government", "enterprise", "healthcare"
    }  # fmt: skip
    counted = Counter(h["city"] for h in truth["mining"])
    assert [(c["city"], c["hosts"]) for c in truth["by_city"]] == sorted(
        counted.items(), key=lambda kv: (-kv[1], f"江苏省 / {kv[0]}")
    )
    institutions = {"government", "education", "healthcare", "enterprise"}
    assert truth["compromised"] == sum(h["sector"] in institutions for h in truth["mining"])
    assert len({h["host"] for h in truth["mining"]}) == truth["mining_hosts"]


def test_same_seed_same_day(tmp_path: Path) -> None:
    small = {"hosts": 300, "miners": 12, "seed": 3, "connections": 5.0}
    a = generate_province(ProvinceConfig(tmp_path / "a", **small))  # type: ignore[arg-type]
    b = generate_province(ProvinceConfig(tmp_path / "b", **small))  # type: ignore[arg-type]
    assert a.records == b.records
    assert (tmp_path / "a" / "truth.json").read_text() == (tmp_path / "b" / "truth.json").read_text()
    assert (tmp_path / "a/flows/hour=07.csv").read_bytes() == (tmp_path / "b/flows/hour=07.csv").read_bytes()


def test_bulletin_of_hourly_imports_equals_the_truth(day: Path, tmp_path: Path) -> None:
    """Hour by hour into one store, as a collector's files arrive; the bulletin then says
    what the truth says: hosts exactly, Mbit/s within 2%, the city ranking and the
    compromised share exactly, each host once in bulletin.csv."""
    store, out = tmp_path / "store", tmp_path / "out"
    assert main(["inventory", "import", str(day / "inventory.csv"), "--store", str(store)]) == 0
    for hour in range(24):
        assert main(["import", str(day / "flows" / f"hour={hour:02d}.csv"), "--store", str(store)]) == 0
    truth = _truth(day)
    period = ["--since", truth["since"], "--until", truth["until"]]
    assert main(["report", "--store", str(store), "--out", str(out), *period]) == 0
    bulletin = json.loads((out / "bulletin.json").read_text(encoding="utf-8"))
    assert bulletin["mining_hosts"] == truth["mining_hosts"]
    assert [(c["label"], c["hosts"]) for c in bulletin["by_city"]] == [
        (c["label"], c["hosts"]) for c in truth["by_city"]
    ]
    assert bulletin["compromised"] / bulletin["mining_hosts"] == truth["compromised_share"]
    # Two rates: while mining (each host's bytes over its own first-to-last span, added
    # up), and the same bytes over the whole day.
    assert bulletin["mbit_s"] == pytest.approx(truth["mbit_s_mining"], rel=0.02)
    assert bulletin["mbit_s_period"] == pytest.approx(truth["mbit_s_day"], rel=0.02)
    assert bulletin["mining_bytes"] == pytest.approx(truth["mining_bytes"], rel=0.02)
    with (out / "bulletin.csv").open(encoding="utf-8") as f:
        hosts = [row["host"] for row in csv.DictReader(f)]
    assert sorted(hosts) == sorted(h["host"] for h in truth["mining"])
