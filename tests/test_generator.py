"""The generator's mixed capture (the sample and the benchmark input): every miner it
plants is found with its protocol, and none of its ordinary traffic is called mining."""

from __future__ import annotations

from pathlib import Path

from minewatch.synth.generator import GeneratorConfig, generate
from tests.conftest import scan_json

# What the dissectors (or, for encrypted variants, the evidence) name each planted variant.
EXPECTED_PROTOCOL = {
    "stratum-v1": {"stratum-v1"},
    "ethereum-stratum": {"ethereum-stratum"},
    "ethproxy": {"ethproxy"},
    "xmrig": {"xmrig"},
    "getwork": {"getwork", "ethproxy"},  # eth_getWork polled over HTTP
    "sv2-noise": {"stratum-v2"},
    "stratum-tls": {"tls"},
}


def test_every_planted_miner_is_found_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pcap"
    report = generate(path, GeneratorConfig(target_bytes=40_000_000, hosts=400, duration_s=240, seed=5))
    findings = [f for f in scan_json(path) if f["activity"] == "mining"]
    planted = dict(report.mining_hosts)
    assert set(planted.values()) == set(EXPECTED_PROTOCOL)
    assert {f["host"] for f in findings} == set(planted), "a planted miner missed, or a bystander flagged"
    for f in findings:
        assert f["protocol"] in EXPECTED_PROTOCOL[planted[f["host"]]], (f["host"], f["protocol"])
