"""Flow logs as inputs to `scan` and `import`: nfdump files made by the real nfcapd from
softflowd's export of the real captures, nfdump's CSV, Zeek logs, CSV with a column
mapping; the DNS join; the store and `minewatch findings`; bad files.

Zeek itself is not packaged for Debian, so its logs are written here in Zeek's own TSV
and JSON layouts (the #fields header, '-' for unset, vectors joined by ','), from the
engine's flows of the real captures."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from minewatch.cli.main import main
from minewatch.detect.context import HomeNetworks, ScanContext
from minewatch.detect.registry import COLUMNS_READ, run_detectors
from minewatch.intel.indicators import load_default
from minewatch.model.findings import Finding
from minewatch.scan import InputAnalysis, ScanOptions, scan_paths
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import FileCapture, read_tables
from minewatch.store import Store
from tests.conftest import NDPI, REAL, ZEEK, scan_json
from tests.test_collect import POOL_PORT_CAPTURES, POOL_PORT_SESSIONS, SOFTFLOWD, mining_pools

ENGINE = EngineOptions(workers=1)


@pytest.fixture(scope="module")
def nfcapd_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nfcapd (Debian's nfdump) receives softflowd's NetFlow v5 of the pool-port captures
    and of two that are not mining."""
    folder = tmp_path_factory.mktemp("nfcapd")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    proc = subprocess.Popen(
        ["nfcapd", "-w", str(folder), "-b", "127.0.0.1", "-p", str(port), "-t", "3600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        captures = [*POOL_PORT_CAPTURES, REAL / "neg_jsonrpc_tcp_electrum.pcap"]
        for capture in captures:
            cmd = [SOFTFLOWD, "-r", str(capture), "-n", f"127.0.0.1:{port}", "-v", "5", "-d"]
            subprocess.run(cmd, capture_output=True, check=True, timeout=60)
        time.sleep(1.0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    [written] = [p for p in folder.iterdir() if p.name.startswith("nfcapd.") and "current" not in p.name]
    return written


def test_nfdump_file_and_its_csv_are_scanned_like_the_collector_sees_them(
    nfcapd_file: Path, tmp_path: Path
) -> None:
    expected = mining_pools(scan_json(nfcapd_file))
    assert {(host, *pool) for _, host, pool in POOL_PORT_SESSIONS} <= expected
    csv = tmp_path / "flows.csv"
    csv.write_bytes(
        subprocess.run(["nfdump", "-r", str(nfcapd_file), "-o", "csv"], capture_output=True).stdout
    )
    from_csv = scan_json(csv)
    assert mining_pools(from_csv) == expected
    # Times are those of the capture (v5 carries milliseconds), not of the export.
    [real] = [f for f in from_csv if f["host"] == "127.0.0.1" and f["pools"][0]["port"] == 3333]
    [scanned] = [f for f in scan_json(REAL / "sv1_cpuminer_sha256d_t1.pcap") if f["activity"] == "mining"]
    assert real["first_seen"][:19] == scanned["first_seen"][:19]


def _zeek_tsv(path: Path, kind: str, columns: dict[str, list[Any]]) -> None:
    names = list(columns)
    lines = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        f"#path\t{kind}",
        "#open\t2026-11-24-18-00-00",
        "#fields\t" + "\t".join(names),
        "#types\t" + "\t".join("string" for _ in names),
    ]
    for row in zip(*columns.values(), strict=True):
        cells = []
        for v in row:
            if v is None:
                cells.append("-")
            elif isinstance(v, list):
                cells.append(",".join(map(str, v)) if v else "(empty)")
            else:
                cells.append(str(v))
        lines.append("\t".join(cells))
    lines.append("#close\t2026-11-24-19-00-00")
    path.write_text("\n".join(lines) + "\n")


def _zeek_json(path: Path, columns: dict[str, list[Any]]) -> None:
    rows = [dict(zip(columns, r, strict=True)) for r in zip(*columns.values(), strict=True)]
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n" for r in rows))


def zeek_logs(capture: Path) -> dict[str, dict[str, list[Any]]]:
    """conn, dns and ssl columns for the flows the engine reads in a real capture."""
    flows, _, _ = read_tables(capture, ENGINE)
    rows = flows.to_pylist()
    ts = [r["first_seen"].timestamp() for r in rows]
    uid = [f"C{i:08d}" for i in range(len(rows))]
    ids = {
        "id.orig_h": [r["client_ip"] for r in rows],
        "id.orig_p": [r["client_port"] for r in rows],
        "id.resp_h": [r["server_ip"] for r in rows],
        "id.resp_p": [r["server_port"] for r in rows],
    }
    proto = [{6: "tcp", 17: "udp", 1: "icmp"}.get(r["ip_proto"], "unknown_transport") for r in rows]
    conn = {
        "ts": ts,
        "uid": uid,
        **ids,
        "proto": proto,
        "service": [None] * len(rows),
        "duration": [(r["last_seen"] - r["first_seen"]).total_seconds() for r in rows],
        "orig_bytes": [r["c2s_payload_bytes"] for r in rows],
        "resp_bytes": [r["s2c_payload_bytes"] for r in rows],
        "conn_state": ["SF"] * len(rows),
        "orig_pkts": [r["c2s_packets"] for r in rows],
        "orig_ip_bytes": [r["c2s_bytes"] for r in rows],
        "resp_pkts": [r["s2c_packets"] for r in rows],
        "resp_ip_bytes": [r["s2c_bytes"] for r in rows],
    }
    dns_rows = [i for i, r in enumerate(rows) if r["dns_query"]]
    dns = {
        "ts": [ts[i] for i in dns_rows],
        "uid": [uid[i] for i in dns_rows],
        **{k: [v[i] for i in dns_rows] for k, v in ids.items()},
        "proto": ["udp" for _ in dns_rows],
        "query": [rows[i]["dns_query"] for i in dns_rows],
        "answers": [rows[i]["dns_answers"] or [] for i in dns_rows],
    }
    ssl_rows = [i for i, r in enumerate(rows) if r["sni"]]
    ssl = {
        "ts": [ts[i] for i in ssl_rows],
        "uid": [uid[i] for i in ssl_rows],
        **{k: [v[i] for i in ssl_rows] for k, v in ids.items()},
        "version": ["TLSv12" for _ in ssl_rows],
        "server_name": [rows[i]["sni"] for i in ssl_rows],
    }
    return {"conn": conn, "dns": dns, "ssl": ssl}


@pytest.mark.parametrize("layout", ["tsv", "json"])
def test_zeek_logs_with_the_dns_join(tmp_path: Path, layout: str) -> None:
    """coinhive.pcap: a browser resolves authedmine.com and talks to it. From conn.log
    alone nothing is known; with dns.log the address is that pool's; ssl.log names it."""
    logs = zeek_logs(ZEEK / "coinhive.pcap")
    paths = {}
    for kind, columns in logs.items():
        paths[kind] = tmp_path / f"{kind}.log"
        if layout == "tsv":
            _zeek_tsv(paths[kind], kind, columns)
        else:
            _zeek_json(paths[kind], columns)
    alone = [f for f in scan_json(paths["conn"]) if f["activity"] != "crypto-node"]
    assert alone == [], "addresses alone are not listed"
    joined = scan_json(paths["conn"], paths["dns"])
    [web] = [f for f in joined if f["activity"] == "web-miner"]
    details = [e["detail"] for e in web["evidence"]]
    assert any(d.startswith("connects to an address resolved from authedmine.com") for d in details)
    named = scan_json(paths["conn"], paths["dns"], paths["ssl"])
    [web] = [f for f in named if f["activity"] == "web-miner"]
    assert any(e["detail"].startswith("connects to authedmine.com") for e in web["evidence"])
    # The same host and service as a scan of the packets finds.
    [packets] = [f for f in scan_json(ZEEK / "coinhive.pcap") if f["activity"] == "web-miner"]
    assert web["host"] == packets["host"]


def test_csv_with_a_column_mapping(tmp_path: Path) -> None:
    """One-way records under other names (a router's own export tool), mapped."""
    flows, _, _ = read_tables(NDPI / "mining.pcapng", ENGINE)
    rows = flows.filter(pc.equal(flows["ip_proto"], 6)).to_pylist()
    out: dict[str, list[Any]] = {
        k: [] for k in ("start", "end", "src", "dst", "sp", "dp", "proto", "pkts", "octets")
    }
    for r in rows:
        for a, b, ap, bp, pk, by in (
            (
                r["client_ip"],
                r["server_ip"],
                r["client_port"],
                r["server_port"],
                r["c2s_packets"],
                r["c2s_bytes"],
            ),
            (
                r["server_ip"],
                r["client_ip"],
                r["server_port"],
                r["client_port"],
                r["s2c_packets"],
                r["s2c_bytes"],
            ),
        ):
            out["start"].append(r["first_seen"].timestamp())
            out["end"].append(r["last_seen"].timestamp())
            out["src"].append(a)
            out["dst"].append(b)
            out["sp"].append(ap)
            out["dp"].append(bp)
            out["proto"].append(6)
            out["pkts"].append(pk)
            out["octets"].append(by)
    path = tmp_path / "router.csv"
    pacsv.write_csv(pa.table(out), path)
    mapping = {
        "first_seen": "start",
        "last_seen": "end",
        "src_ip": "src",
        "dst_ip": "dst",
        "src_port": "sp",
        "dst_port": "dp",
        "ip_proto": "proto",
        "packets": "pkts",
        "bytes": "octets",
    }
    result = scan_paths([path], ScanOptions(flow_mapping=mapping))
    assert result.inputs[0].flows == len(rows), "both directions paired back into one flow each"
    found = {(f.host, p.ip, p.port) for f in result.findings for p in f.pools}
    assert ("147.229.13.222", "185.71.66.39", 9999) in found
    # Without the mapping the file is refused, by name.
    unmapped = scan_paths([path], ScanOptions())
    assert unmapped.failed_inputs and "--map" in (unmapped.inputs[0].error or "")


def test_detectors_need_only_the_columns_they_declare() -> None:
    """Detection over stored flows reads COLUMNS_READ only; it must find the same."""
    intel = load_default()
    for capture in (
        NDPI / "bitcoin.pcap",
        ZEEK / "coinhive.pcap",
        REAL / "sv1_cpuminer_sha256d_tls_t1.pcap",
    ):
        tables: list[pa.Table] = []
        analysis = InputAnalysis(str(capture), ScanOptions(), tables.append)
        for kind, batch in FileCapture(capture, ENGINE).batches():
            analysis.feed(kind, batch)
        full = pa.concat_tables(tables)
        whole = run_detectors(ScanContext("x", full, {}, intel, HomeNetworks()))
        narrow = run_detectors(ScanContext("x", full.select(list(COLUMNS_READ)), {}, intel, HomeNetworks()))
        assert whole, capture
        assert [e.detail for e in whole] == [e.detail for e in narrow]


def test_import_store_and_findings_command(
    nfcapd_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    bad = tmp_path / "broken.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["import", str(nfcapd_file), str(bad), "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "imported" in err
    hours = sorted(f"{p.parent.name}/{p.name}" for p in (store / "flows").glob("*/*"))
    assert hours and all(re.fullmatch(r"date=20(17|26)-\d\d-\d\d/hour=\d\d", h) for h in hours), hours
    capsys.readouterr()
    assert main(["findings", "--store", str(store), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert mining_pools(lines) == mining_pools(scan_json(nfcapd_file))
    # --since keeps the findings still active then: the 2026 miners, not the 2017 ones.
    assert main(["findings", "--store", str(store), "--since", "2026-11-01", "--json"]) == 0
    recent = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert recent and {f["host"] for f in recent} == {
        f["host"] for f in lines if f["last_seen"] >= "2026-11-01"
    }
    assert len(recent) < len(lines)
    assert main(["findings", "--store", str(store), "--since", "2099-01-01", "--json"]) == 0
    assert capsys.readouterr().out == ""
    with Store(store).connect() as db:
        flows = db.execute("SELECT count(*) FROM flows").fetchone()
        estimates = db.execute("SELECT count(*) FROM estimates").fetchone()
    assert flows is not None and flows[0] > 0
    assert estimates is not None and estimates[0] == len(lines)
    assert main(["findings", "--store", str(tmp_path / "nowhere")]) == 2


def test_an_assumed_sampling_rate_scales_flow_logs_that_announce_none(
    nfcapd_file: Path, tmp_path: Path
) -> None:
    """`import --sampling-rate N`: nfdump prints no rate, so every flow of the nfcapd file
    takes N and its packets and bytes are N times what was exported; a CSV that carries its
    own rates keeps them."""
    totals = {}
    for rate in (1, 10):
        store = tmp_path / f"store-{rate}"
        assert main(["import", str(nfcapd_file), "--store", str(store), "--sampling-rate", str(rate)]) == 0
        with Store(store).connect() as db:
            totals[rate] = db.execute(
                "SELECT sum(c2s_bytes + s2c_bytes), sum(c2s_packets + s2c_packets), count(*), "
                "min(sampling_rate), max(sampling_rate) FROM flows"
            ).fetchone()
    bytes_1, packets_1, flows_1, *rates_1 = totals[1]
    assert rates_1 == [1.0, 1.0] and bytes_1 > 0
    assert totals[10] == (10 * bytes_1, 10 * packets_1, flows_1, 10.0, 10.0)
    assert main(["import", str(nfcapd_file), "--store", str(tmp_path / "x"), "--sampling-rate", "0"]) == 2


_ONE_WAY = "src_ip,dst_ip,src_port,dst_port,ip_proto,first_seen,last_seen,packets,bytes"
_TWO_WAY = "client_ip,server_ip,client_port,server_port,ip_proto,first_seen,last_seen,c2s_packets,c2s_bytes"
_ROW = "10.0.0.{host},192.0.2.9,4000{host},3333,6,2026-11-24T18:00:00Z,2026-11-24T18:00:05Z"


def _imported(tmp_path: Path, name: str, text: str, *args: str) -> list[tuple[Any, ...]]:
    """(bytes one way, sampling rate) of each flow `import --sampling-rate 10` stores."""
    log, store = tmp_path / f"{name}.csv", tmp_path / f"store-{name}"
    log.write_text(text)
    assert main(["import", str(log), "--store", str(store), "--sampling-rate", "10", *args]) == 0
    with Store(store).connect() as db:
        return db.execute("SELECT c2s_bytes, sampling_rate FROM flows ORDER BY client_port").fetchall()


def test_an_assumed_sampling_rate_in_csv_logs_only_where_no_rate_is_given(tmp_path: Path) -> None:
    assert _imported(tmp_path, "none", f"{_ONE_WAY}\n{_ROW.format(host=1)},4,400\n") == [(4000, 10.0)]
    # A rate column (mapped from the log's own name) wins where it has a value.
    rates = f"{_ONE_WAY},rate\n{_ROW.format(host=1)},4,400,1\n{_ROW.format(host=2)},4,400,\n"
    assert _imported(tmp_path, "mapped", rates, "--map", "sampling_rate=rate") == [(400, 1.0), (4000, 10.0)]
    assert _imported(tmp_path, "two-way", f"{_TWO_WAY}\n{_ROW.format(host=1)},4,400\n") == [(4000, 10.0)]


def test_a_bad_count_is_an_error_with_or_without_an_assumed_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "negative.csv"
    log.write_text(f"{_ONE_WAY}\n{_ROW.format(host=1)},4,-400\n")
    for rate in ("1", "10"):
        assert main(["import", str(log), "--store", str(tmp_path / rate), "--sampling-rate", rate]) == 1
        assert f"{log}:" in capsys.readouterr().err
    # A cell the store cannot leave empty names its file; the other file is imported.
    empty, good = tmp_path / "empty.csv", tmp_path / "good.csv"
    empty.write_text(f"{_TWO_WAY}\n{_ROW.format(host=1).replace('2026-11-24T18:00:00Z', '')},4,400\n")
    good.write_text(f"{_TWO_WAY}\n{_ROW.format(host=2)},4,400\n")
    assert main(["import", str(empty), str(good), "--store", str(tmp_path / "both")]) == 1
    err = capsys.readouterr().err
    assert f"{empty}: flows the store cannot keep" in err and "imported 1 flows from 2 inputs" in err


def test_assume_rate_scales_saturates_and_keeps_given_rates() -> None:
    from minewatch.sources.flowexport import assume_rate

    top = 2**64 - 1
    t = pa.table(
        {
            "packets": pa.array([1, 2**63, None, 7], pa.uint64()),
            "bytes": pa.array([0, top, 5, 7], pa.uint64()),
            "sampling_rate": pa.array([None, None, None, 100.0]),
        }
    )
    scaled = assume_rate(t, 1000).to_pydict()
    assert scaled == {
        "packets": [1000, top, None, 7],
        "bytes": [0, top, 5000, 7],
        "sampling_rate": [1000.0, 1000.0, 1000.0, 100.0],
    }
    assert assume_rate(t, 1).to_pydict() == {**t.to_pydict(), "sampling_rate": [1.0, 1.0, 1.0, 100.0]}
    for bad in ([-1], [2.5], [float("nan")]):
        with pytest.raises(pa.ArrowInvalid):
            assume_rate(pa.table({"packets": bad, "bytes": [1]}), 10)


def test_bad_flow_logs_are_named_and_the_rest_is_read(nfcapd_file: Path, tmp_path: Path) -> None:
    not_parquet = tmp_path / "x.parquet"
    not_parquet.write_text("hello")
    not_nfdump = tmp_path / "nfcapd.202611240000"
    not_nfdump.write_bytes(b"\x00" * 100)
    truncated = tmp_path / "cut.log"
    truncated.write_text("#separator \\x09\n#path\tconn\n#fields\tts\tuid\n")
    result = scan_paths([not_parquet, not_nfdump, truncated, nfcapd_file], ScanOptions())
    errors = {Path(r.source).name: r.error for r in result.inputs if r.error}
    assert set(errors) == {"x.parquet", "nfcapd.202611240000", "cut.log"}, errors
    assert "nfdump" in (errors["nfcapd.202611240000"] or "")
    assert mining_pools([f for f in map(_as_json, result.findings)])


def _as_json(f: Any) -> dict[str, Any]:
    from minewatch.report.jsonl import finding_to_json

    return finding_to_json(f)


def test_findings_since_an_age(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(tmp_path)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    store.write_findings(
        [
            Finding.from_json(
                {
                    "host": "10.0.0.1",
                    "activity": "mining",
                    "first_seen": now,
                    "last_seen": now,
                    "confidence": 0.5,
                }
            )
        ]
    )
    assert main(["findings", "--store", str(tmp_path), "--since", "1h", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_detection_over_the_store_finds_what_every_row_gives(nfcapd_file: Path, tmp_path: Path) -> None:
    """detect_stored keeps only rows some detector could use (DuckDB); the detectors on
    every stored row find exactly the same. Then `minewatch detect` with a newer list
    finds the pools it names in flows stored before it was known."""
    from minewatch.detect.stored import detect_stored

    store = tmp_path / "store"
    inputs = [
        nfcapd_file,
        ZEEK / "coinhive.pcap",
        NDPI / "bitcoin.pcap",
        REAL / "sv1_cpuminer_sha256d_tls_t1.pcap",
    ]
    assert main(["import", *map(str, inputs), "--store", str(store)]) == 0
    listed = tmp_path / "pools.txt"
    listed.write_text("74.84.128.158\n185.71.66.0/24\n2001:db8::/32\n")
    intel = load_default([listed])
    files = Store(store).flow_files()
    kept = sorted((e.host, e.activity, e.detail) for e in detect_stored(files, intel))
    table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
    every = sorted(
        (e.host, e.activity, e.detail)
        for e in run_detectors(ScanContext("x", table, {}, intel, HomeNetworks()))
    )
    assert kept == every
    kinds = {d.split(" ")[0] for _, _, d in kept}
    assert {"connects", "flow", "TLS", "Bitcoin"} <= kinds, kinds
    before = len(Store(store).findings())
    assert main(["detect", "--store", str(store), "--intel", str(listed), "--json"]) == 0
    after = [f.to_json() for f in Store(store).findings()]
    assert len(after) > before
    listed_hits = {
        (f["host"], p["ip"])
        for f in after
        for p in f["pools"]
        if any("listed" in e["detail"] for e in f["evidence"])
    }
    assert listed_hits == {("10.0.2.15", "74.84.128.158"), ("147.229.13.222", "185.71.66.39")}


def test_flow_logs_are_read_in_chunks_and_a_break_keeps_what_came_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nfdump CSV of 2,000 connections, each direction's record 100 rows from the other's:
    read in many small chunks, every connection is paired across the chunk boundaries; a
    file that turns to garbage part-way keeps its first part, with a warning."""
    from minewatch.sources import nfdump

    monkeypatch.setattr(nfdump, "BLOCK", 32 << 10)
    header = "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,ra"
    rows: list[tuple[int, str]] = []
    for i in range(2000):
        client, port = f"10.0.{i // 250}.{i % 250 + 1}", 40000 + i
        t = f"2026-11-24 18:{i // 60 % 60:02d}:{i % 60:02d}"
        rows.append(
            (i, f"{t},{t},90.5,{client},198.51.100.7,{port},3333,TCP,.AP.S.,0,0,40,4000,0,0,192.0.2.1")
        )
        rows.append(
            (i + 100, f"{t},{t},90.5,198.51.100.7,{client},3333,{port},TCP,.AP.S.,0,0,30,3000,0,0,192.0.2.1")
        )
    body = "\n".join(r for _, r in sorted(rows, key=lambda r: r[0]))
    path = tmp_path / "flows.csv"
    path.write_text(header + "\n" + body + "\nSummary\nflows,bytes\n4000,14000000\n")
    assert len(list(nfdump.nfdump_csv(path))) > 5, "read in several chunks"
    result = scan_paths([path], ScanOptions())
    assert result.inputs[0].error is None and result.inputs[0].flows == 2000
    assert result.inputs[0].packets == 2000 * 70
    broken = tmp_path / "broken.csv"
    broken.write_text(header + "\n" + body + "\n" + "not,a,row,at,all,x,y,TCP,,0,0,many,lots,0,0,z\n" * 5000)
    kept = scan_paths([broken], ScanOptions()).inputs[0]
    assert kept.error is None and kept.flows >= 1900
    assert kept.warning and "read up to record" in kept.warning
