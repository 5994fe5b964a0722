"""nDPI's public captures: the mining sessions are found, the crypto P2P captures are
nodes, and none of the hundreds of other protocols yields mining."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from minewatch.detect.stored import detect_stored
from minewatch.intel.indicators import load_default
from minewatch.model.findings import Activity
from minewatch.scan import ScanOptions, scan_paths
from tests.conftest import NDPI, ZEEK, scan_json

P2P = ["bitcoin.pcap", "ethereum.pcap", "monero.pcap"]


def test_ndpi_mining_sessions() -> None:
    findings = [f for f in scan_json(NDPI / "mining.pcapng") if f["activity"] == "mining"]
    pools = {(f["host"], p["ip"], p["port"]) for f in findings for p in f["pools"]}
    assert pools == {
        ("192.168.2.148", "94.23.199.191", 3333),  # EWBF (Zcash) to flypool
        ("192.168.2.148", "116.211.167.195", 3333),
        ("147.229.13.222", "185.71.66.39", 9999),  # Ethereum, EthProxy
        ("192.168.2.92", "178.32.196.217", 9050),  # xmr-stak
    }
    by_host = {f["host"]: f for f in findings}
    assert by_host["147.229.13.222"]["protocol"] == "ethproxy"
    assert by_host["192.168.2.92"]["protocol"] == "xmrig"
    assert by_host["192.168.2.148"]["algorithm"] == "equihash"


@pytest.mark.parametrize("name", P2P)
def test_crypto_p2p_is_a_node_not_a_miner(name: str) -> None:
    activities = Counter(f["activity"] for f in scan_json(NDPI / name))
    assert activities[Activity.CRYPTO_NODE.value] >= 1
    assert activities[Activity.MINING.value] == 0


def test_no_other_public_capture_is_mining() -> None:
    others = sorted(p for p in NDPI.iterdir() if p.name != "mining.pcapng")
    assert len(others) > 500
    result = scan_paths(others, ScanOptions())
    mining = [(f.host, f.evidence[0].detail) for f in result.findings if f.activity == Activity.MINING]
    assert mining == []
    # Every file was read or reported, none silently dropped.
    assert len(result.inputs) == len(others)


def test_zeek_traces() -> None:
    stratum = [f for f in scan_json(ZEEK / "bitcoin-mining.pcap") if f["activity"] == "mining"]
    assert [f["protocol"] for f in stratum] == ["stratum-v1"]
    coinhive = scan_json(ZEEK / "coinhive-stratum.pcap")
    assert any(f["activity"] == "mining" and f["protocol"] == "xmrig" for f in coinhive)
    browsing = scan_json(ZEEK / "coinhive.pcap")
    assert [f["activity"] for f in browsing] == ["web-miner"]


def test_no_other_public_capture_is_mining_as_flow_records(tmp_path: Path) -> None:
    """The same captures as a flow exporter would report them (times, addresses, ports,
    packets and bytes; nothing read from payload): the flow behavioural model and intel
    flag none of them, while mining.pcapng's sessions to pool ports are found."""
    others = sorted(p for p in NDPI.iterdir() if p.name != "mining.pcapng")
    flows = tmp_path / "flows.parquet"
    scan_paths([*others, NDPI / "mining.pcapng"], ScanOptions(flows_path=flows))
    table = pq.read_table(flows)
    keep = {
        "flow_id",
        "conn_id",
        "first_seen",
        "last_seen",
        "ip_proto",
        "client_ip",
        "client_port",
        "server_ip",
        "server_port",
        "c2s_packets",
        "s2c_packets",
        "c2s_bytes",
        "s2c_bytes",
        "source",
    }
    exported = pa.table(
        {f.name: table[f.name] if f.name in keep else pa.nulls(table.num_rows, f.type) for f in table.schema}
    )
    pq.write_table(exported, tmp_path / "exported.parquet")
    evidence = list(detect_stored([tmp_path / "exported.parquet"], load_default()))
    mining = {(e.host, e.peer.ip if e.peer else None) for e in evidence if e.activity == Activity.MINING}
    assert len(exported) > 5_000
    assert mining == {
        ("147.229.13.222", "185.71.66.39"),
        ("192.168.2.148", "116.211.167.195"),
        ("192.168.2.148", "94.23.199.191"),
    }
