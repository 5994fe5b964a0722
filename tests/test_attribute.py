"""Attribution: the shipped sample inventory (fictional organisations on private and
documentation ranges) over findings from the real captures; sectors from names in
Chinese and English; bad inventory files named by row."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from minewatch.attribute.inventory import Inventory, InventoryError
from minewatch.attribute.sector import classify
from minewatch.cli.main import main
from minewatch.model.attribution import Sector
from tests.conftest import NDPI, REAL, ZEEK

SAMPLE = Path(str(resources.files("minewatch.attribute").joinpath("data/sample_inventory.csv")))


@pytest.mark.parametrize(
    ("name", "sector"),
    [
        ("江苏省人民政府", Sector.GOVERNMENT),
        ("某市发展和改革委员会", Sector.GOVERNMENT),
        ("www.example.gov.cn", Sector.GOVERNMENT),
        ("南京大学", Sector.EDUCATION),
        ("某某职业技术学院", Sector.EDUCATION),
        ("nju.edu.cn", Sector.EDUCATION),
        ("Example State University", Sector.EDUCATION),
        ("某市第一人民医院", Sector.HEALTHCARE),
        ("某某云计算有限公司", Sector.DATACENTER),
        ("Example Hosting Ltd", Sector.DATACENTER),
        ("某某商贸有限公司", Sector.ENTERPRISE),
        ("云南某某商贸有限公司", Sector.ENTERPRISE),
        ("Example Broadband", Sector.RESIDENTIAL),
        ("Province of Something", Sector.UNKNOWN),  # 'inc' is not a word here
    ],
)
def test_sector_from_the_name(name: str, sector: Sector) -> None:
    guess = classify(name)
    assert guess.sector == sector, guess
    assert (guess.confidence > 0) == (sector != Sector.UNKNOWN)


def test_longest_prefix_wins_for_ipv4_and_ipv6() -> None:
    inventory = Inventory.load(SAMPLE)
    assert inventory.attribute("10.1.7.238").organisation == "示例市人民政府办公室"  # type: ignore[union-attr]
    assert inventory.attribute("10.1.7.2").organisation == "示例市第一中学"  # type: ignore[union-attr]
    v6 = inventory.attribute("2001:db8::1")
    assert v6 is not None and v6.sector == Sector.RESIDENTIAL and v6.sector_basis == "the inventory says so"
    ranged = inventory.attribute("192.0.2.100")  # from a start-end row
    assert ranged is not None and ranged.prefix == "192.0.2.0/25"
    assert inventory.attribute("192.0.2.200") is None
    assert inventory.attribute("not an address") is None


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ("cidr,organisation\n10.0.0.0/33,x\n", "row 2"),
        ("cidr,organisation\n10.0.0.0/8,x\nnonsense,y\n", "row 3"),
        ("start,end,organisation\n10.0.0.9,10.0.0.1,x\n", "not a range"),
        ("start,end,organisation\n10.0.0.1,2001:db8::1,x\n", "not a range"),
        ("cidr,sector\n10.0.0.0/8,farming\n", "not one of"),
        ("organisation\nx\n", "needs a cidr column"),
    ],
)
def test_bad_inventory_rows_are_named(tmp_path: Path, rows: str, reason: str) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(rows)
    with pytest.raises(InventoryError, match=reason) as caught:
        Inventory.load(path)
    assert str(path) in str(caught.value)


def test_findings_from_real_captures_are_attributed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    captures = [REAL / "sv1_cpuminer_sha256d_t1.pcap", ZEEK / "bitcoin-mining.pcap", NDPI / "mining.pcapng"]
    assert main(["import", *map(str, captures), "--store", str(store)]) == 0
    assert main(["inventory", "import", str(SAMPLE), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["findings", "--store", str(store), "--json"]) == 0
    findings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_host = {f["host"]: f["attribution"] for f in findings}
    hospital, university, broadband = by_host["127.0.0.1"], by_host["10.0.2.15"], by_host["192.168.2.148"]
    assert (hospital["sector"], hospital["likely_compromised"]) == ("healthcare", True)
    assert hospital["region"] == ["江苏省", "无锡市", "梁溪区"] and hospital["region_code"] == "320213"
    assert (university["sector"], university["likely_compromised"]) == ("education", True)
    assert (broadband["sector"], broadband["likely_compromised"]) == ("residential", False)
    assert "deliberate" in broadband["compromise_reason"]
    # A public address the inventory does not hold is not guessed.
    assert by_host["147.229.13.222"] is None
    assert all(a["source"] == "inventory" for a in by_host.values() if a)
    bad = tmp_path / "bad.csv"
    bad.write_text("cidr\n300.1.1.1/8\n")
    assert main(["inventory", "import", str(bad), "--store", str(store)]) == 1
    assert f"{bad}, row 2" in capsys.readouterr().err
