"""Detection on Spark (store/spark.py) against a real standalone cluster (tests/spark.py):
the same findings as DuckDB on the same store, row for row; the candidate filter in Spark
SQL; episodes; the streaming job over new flow files."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.cli.main import main
from minewatch.detect.context import HomeNetworks
from minewatch.detect.evidence_rows import evidence_from_rows, evidence_rows
from minewatch.detect.registry import DETECTORS
from minewatch.detect.standing import NameStanding
from minewatch.detect.stored import detect_stored
from minewatch.errors import UsageError
from minewatch.intel.indicators import Category, Indicator, IndicatorSet, load_default
from minewatch.model.findings import Finding
from minewatch.store import STORED_FLOW_SCHEMA, STORED_FLOW_VERSION, Store, active_in
from minewatch.store import spark as on_spark
from tests.conftest import NDPI, REAL, ZEEK
from tests.test_collect import _datagrams
from tests.test_flowlogs import nfcapd_file  # noqa: F401 (a fixture: NetFlow from the real nfcapd)

# One Spark application at a time on the test cluster: pytest-xdist keeps these together.
pytestmark = pytest.mark.xdist_group("spark")

CAPTURES = [
    *sorted(REAL.glob("*.pcap")),
    ZEEK / "bitcoin-mining.pcap",
    NDPI / "mining.pcapng",
]


def _cli(*args: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0, args
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _import(store: Path, flows: list[Path], tmp: Path) -> None:
    """Flow records of these captures (scan --flows) or flow logs into the store."""
    inputs = []
    for capture in flows:
        if capture.suffix in (".pcap", ".pcapng"):
            inputs.append(tmp / f"{capture.name}.parquet")
            _cli("scan", str(capture), "--json", "--flows", str(inputs[-1]), "--active-timeout", "60")
        else:
            inputs.append(capture)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["import", *map(str, inputs), "--store", str(store)]) in (0, 1)


def _sorted(found: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(f, sort_keys=True) for f in found)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, nfcapd_file: Path) -> dict[str, Path]:  # noqa: F811
    """Stores filled from the real captures (mining, not mining, cut by the active
    timeout), from nfcapd's NetFlow of mining, and from both."""
    made = {}
    for name, inputs in (
        ("captures", CAPTURES),
        ("netflow", [nfcapd_file]),
        ("both", [*CAPTURES[:3], nfcapd_file]),
    ):
        tmp = tmp_path_factory.mktemp(name)
        _import(tmp / "store", inputs, tmp)
        made[name] = tmp / "store"
    return made


def _job(root: Path) -> on_spark.DetectJob:
    return on_spark.DetectJob(load_default([]), HomeNetworks(), NameStanding(), str(root))


# (store, since, until): all of it, and a time range (flow partitions pruned, rows cut).
RANGES = [
    ("captures", None, None),
    ("captures", datetime(2026, 11, 24, 18, 10, tzinfo=UTC), None),
    ("netflow", None, None),
    ("both", None, datetime(2030, 1, 1, tzinfo=UTC)),
]


# The three plans of `candidates` (BROADCAST_KEYS, FLAGGED_SHARE): the candidate
# connections broadcast; joined in a shuffle; every row shipped with its flag and the
# connections picked on the executors.
PLANS = {"broadcast keys": (500_000, 0.25), "shuffle join": (-1, 2.0), "rows flagged": (-1, 0.0)}


@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.parametrize(("store", "since", "until"), RANGES)
def test_spark_finds_what_duckdb_finds(
    spark: Any,
    stores: dict[str, Path],
    store: str,
    since: datetime | None,
    until: datetime | None,
    plan: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(on_spark, "BROADCAST_KEYS", PLANS[plan][0])
    monkeypatch.setattr(on_spark, "FLAGGED_SHARE", PLANS[plan][1])
    _same_on_both(spark, stores[store], since, until)


def test_spark_reads_the_store_first_collectors_files(spark: Any, tmp_path: Path) -> None:
    """The store-first collector (engine/src/store.rs) writes uncompressed pages with delta
    encodings, pyarrow LZ4 pages with dictionaries: Spark finds in its files what DuckDB
    finds. softflowd's exports of real mining, through the engine's own writer."""
    root = tmp_path / "store"
    Store(root, tag="rs")
    for capture, version in ((NDPI / "mining.pcapng", 10), (ZEEK / "bitcoin-mining.pcap", 9)):
        _engine.store_datagrams(
            _datagrams(capture, version),
            root,
            "rs",
            STORED_FLOW_SCHEMA,
            STORED_FLOW_VERSION,
            "netflow://127.0.0.1:2055",
        )
    _same_on_both(spark, root, None, None)


def _same_on_both(spark: Any, root: Path, since: datetime | None, until: datetime | None) -> None:
    on_duckdb = Store(root)
    sessions: dict[tuple[str | None, int], Any] = {}
    where = active_in(since, until) if since or until else None
    evidence = detect_stored(
        on_duckdb.flow_files(since, until), load_default([]), source=str(root), where=where, sessions=sessions
    )
    from minewatch.detect import fuse

    expected = [f.to_json() for f in fuse(list(evidence), sessions)]
    found = [f.to_json() for f in on_spark.detect(spark, root, _job(root), since, until)]
    assert expected, "the store must have findings"
    assert any(f["activity"] == "mining" for f in expected)
    assert _sorted(found) == _sorted(expected)


def test_the_command_on_spark_records_what_duckdb_records(spark: Any, stores: dict[str, Path]) -> None:
    root = stores["both"]
    before = Counter(json.dumps(f.to_json(), sort_keys=True) for f in Store(root).findings())
    duck = _cli("detect", "--store", str(root), "--json")
    # The test process has a session on the cluster already: the command runs on it.
    on_cluster = _cli("detect", "--store", str(root), "--json", "--engine", "spark")
    assert _sorted(on_cluster) == _sorted(duck)
    after = Counter(json.dumps(f.to_json(), sort_keys=True) for f in Store(root).findings())
    # Each new finding stored twice (once per engine), the same JSON both times: report,
    # cases and the service read them alike.
    added = after - before
    assert len(added) == len(duck) and set(added.values()) == {2}


@pytest.mark.parametrize("store", ["captures", "both"])
def test_episodes_on_spark_are_the_stores(spark: Any, stores: dict[str, Path], store: str) -> None:
    root = stores[store]
    _cli("detect", "--store", str(root), "--json", "--until", "2026-11-24T18:12:00Z")
    expected = [f.to_json() for f in Store(root).episodes()]
    assert len(Store(root).findings()) > len(expected), "the store must have windows to merge"
    assert [f.to_json() for f in on_spark.episodes(spark, root)] == expected


def _listed() -> IndicatorSet:
    """Indicators that bring every kind of address clause: an IP, a v4 and a v6 network."""
    made = [
        Indicator(value, kind, Category.POOL, None, "test", "2026-11-24")
        for value, kind in (("127.0.0.1", "ip"), ("10.0.0.0/8", "cidr"), ("2001:db8::/32", "cidr"))
    ]
    return IndicatorSet(made)


def _clauses(numeric: bool) -> list[str]:
    """Every clause of the candidate filter, and the time predicate of a range."""
    clauses = [c for det in DETECTORS for c in det.store_filter(_listed(), numeric)]
    moment = datetime(2026, 11, 24, 18, 10, tzinfo=UTC)
    return [*clauses, active_in(moment, None), active_in(None, moment)]


@pytest.mark.parametrize("numeric", [True, False], ids=["numeric addresses", "text addresses"])
def test_each_candidate_clause_selects_the_same_rows_in_spark_sql(
    spark: Any, stores: dict[str, Path], numeric: bool
) -> None:
    clauses = _clauses(numeric)
    # Per clause, the rows it selects, as one list of (input, flow id) pairs.
    picks = ", ".join(f"list(concat(source, ' ', flow_id)) FILTER (WHERE {c})" for c in clauses)
    files = ", ".join(f"'{p}'" for p in Store(stores["both"]).flow_files())
    with duckdb.connect() as db:
        db.execute("CREATE TABLE listed_ips AS SELECT '127.0.0.1' AS ip, 2130706433::UINTEGER AS ip4")
        query = f"SELECT {picks} FROM read_parquet([{files}], union_by_name = true)"
        expected = db.execute(query).fetchone()
    spark.createDataFrame([("127.0.0.1", 2130706433)], "ip string, ip4 bigint").createOrReplaceTempView(
        "listed_ips"
    )
    on_spark.read_flows(spark, stores["both"]).createOrReplaceTempView("clause_flows")
    picks = ", ".join(
        f"collect_list(concat(source, ' ', CAST(flow_id AS STRING))) FILTER (WHERE {on_spark.spark_sql(c)})"
        for c in clauses
    )
    [got] = spark.sql(f"SELECT {picks} FROM clause_flows").collect()
    assert expected is not None
    for clause, want, have in zip(clauses, expected, got, strict=True):
        assert sorted(have) == sorted(want or []), clause
    assert any(want for want in expected), "some clause must select rows"


@pytest.mark.parametrize("capture", [REAL / "xmr_xmrig_cnr_diffchange_t1.pcap", NDPI / "mining.pcapng"])
def test_evidence_rows_give_back_the_evidence_and_sessions(capture: Path, tmp_path: Path) -> None:
    root = tmp_path / "store"
    _import(root, [capture], tmp_path)
    sessions: dict[tuple[str | None, int], Any] = {}
    evidence = list(detect_stored(Store(root).flow_files(), load_default([]), sessions=sessions))
    assert sessions and len({source for source, _ in sessions}) == 1
    back, found = evidence_from_rows(evidence_rows(evidence, {conn: s for (_, conn), s in sessions.items()}))
    assert back == evidence
    assert [(e.conn_id, e.flow_id, e.bytes) for e in back] == [
        (e.conn_id, e.flow_id, e.bytes) for e in evidence
    ]
    assert found == {k: s for k, s in sessions.items() if k in found} and found


def test_the_streaming_job_detects_new_flow_files(spark: Any, tmp_path: Path) -> None:
    root = tmp_path / "store"
    _import(root, [REAL / "sv1_cpuminer_sha256d_t1.pcap"], tmp_path)
    recorded: list[Finding] = []
    query = on_spark.follow(spark, root, _job(root), recorded.extend, files_per_trigger=1, every_s=0.5)
    try:
        query.processAllAvailable()
        first = {(f.host, f.activity.value, tuple(p.port for p in f.pools)) for f in recorded}
        assert any(activity == "mining" and 3333 in ports for _, activity, ports in first)
        _import(root, [REAL / "xmr_xmrig_rx0_tcp_t1.pcap"], tmp_path)
        deadline = time.monotonic() + 120
        while not any(4444 in (p.port for p in f.pools) for f in recorded) and time.monotonic() < deadline:
            query.processAllAvailable()
            time.sleep(0.5)
        assert any(f.activity.value == "mining" and 4444 in (p.port for p in f.pools) for f in recorded)
    finally:
        query.stop()
    assert (root / "checkpoints" / "spark-follow").is_dir()


def test_without_pyspark_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import fails, as where it is not installed
    with pytest.raises(UsageError, match=r"minewatch\[spark\]"):
        on_spark.session()
    (tmp_path / "store").mkdir()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["detect", "--store", str(tmp_path / "store"), "--engine", "spark"]) == 2
    assert "minewatch[spark]" in err.getvalue()
