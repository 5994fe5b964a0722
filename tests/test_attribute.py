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
    # A public address the inventory does not hold is not guessed...
    assert by_host["147.229.13.222"] is None
    assert all(a["source"] == "inventory" for a in by_host.values() if a)
    # ...until a fallback knows it: then every finding is attributed.
    _mmdb(tmp_path / "asn.mmdb")
    assert main(["inventory", "import", str(tmp_path / "asn.mmdb"), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["findings", "--store", str(store), "--json"]) == 0
    attributed = {f["host"]: f["attribution"] for f in map(json.loads, capsys.readouterr().out.splitlines())}
    assert all(attributed.values()), attributed
    assert attributed["147.229.13.222"]["source"] == "asn-mmdb"
    bad = tmp_path / "bad.csv"
    bad.write_text("cidr\n300.1.1.1/8\n")
    assert main(["inventory", "import", str(bad), "--store", str(store)]) == 1
    assert f"{bad}, row 2" in capsys.readouterr().err


def _mmdb(path: Path) -> None:
    """A small ASN database in MaxMind's format, made here (GeoLite2-ASN's fields)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True)
    writer.insert_network(
        IPSet(["147.229.0.0/16"]),
        {"autonomous_system_number": 64500, "autonomous_system_organization": "Example Technical University"},
    )
    writer.insert_network(
        IPSet(["185.71.66.0/24"]),
        {
            "autonomous_system_number": 45090,
            "autonomous_system_organization": "Shenzhen Tencent Computer Systems",
        },
    )
    writer.to_db_file(str(path))


def test_fallbacks_where_the_inventory_is_silent(tmp_path: Path) -> None:
    from minewatch.attribute.attributor import Attributor, add_source

    folder = tmp_path / "attribution"
    add_source(SAMPLE, folder)
    _mmdb(tmp_path / "asn.mmdb")
    add_source(tmp_path / "asn.mmdb", folder)
    iptoasn = tmp_path / "ip2asn-combined.tsv"
    iptoasn.write_text(
        "74.84.128.0\t74.84.159.255\t64501\tUS\tEXAMPLE-HOSTING-AS Example Hosting Inc\n"
        "94.23.0.0\t94.23.255.255\t0\tNone\tNot routed\n"
    )
    add_source(iptoasn, folder)
    rir = tmp_path / "delegated-apnic-extended-latest"
    rir.write_text(
        "2|apnic|20261124|3|19830613|20261123|+1000\n"
        "apnic|*|ipv4|*|2|summary\n"
        "apnic|CN|ipv4|116.211.0.0|65536|20100101|allocated|A92E1062\n"
        "apnic|CN|ipv6|2001:db9::|32|20100101|allocated|A92E1062\n"
    )
    add_source(rir, folder)
    attributor = Attributor.from_dir(folder)
    assert attributor.attribute("10.0.2.15").source == "inventory"  # type: ignore[union-attr]
    university = attributor.attribute("147.229.13.222")
    assert university is not None and university.source == "asn-mmdb"
    assert university.sector == Sector.EDUCATION and university.likely_compromised is True
    assert (
        university.prefix == "147.229.0.0/16"
        and university.organisation == "AS64500 Example Technical University"
    )
    cloud = attributor.attribute("185.71.66.39")
    assert cloud is not None and cloud.sector == Sector.DATACENTER and "Tencent Cloud" in cloud.sector_basis
    hosting = attributor.attribute("74.84.128.158")
    assert hosting is not None and hosting.source == "iptoasn" and hosting.sector == Sector.DATACENTER
    assert hosting.region == ("US",)
    assert attributor.attribute("94.23.199.191") is None, "iptoasn's 'not routed' is not an owner"
    allocated = attributor.attribute("116.211.167.195")
    assert allocated is not None and allocated.source == "rir-delegated" and allocated.region == ("CN",)
    assert allocated.sector == Sector.UNKNOWN and allocated.likely_compromised is None
    assert attributor.attribute("2001:db9::5").source == "rir-delegated"  # type: ignore[union-attr]


def test_unreadable_fallbacks_are_named(tmp_path: Path) -> None:
    from minewatch.attribute.attributor import add_source

    with pytest.raises(InventoryError, match="no such file"):
        add_source(tmp_path / "missing.mmdb", tmp_path / "attribution")
    junk = tmp_path / "asn.mmdb"
    junk.write_bytes(b"not a database")
    with pytest.raises(InventoryError, match="asn.mmdb"):
        add_source(junk, tmp_path / "attribution")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(InventoryError, match="not an ASN database"):
        add_source(text, tmp_path / "attribution")
    broken = tmp_path / "ip2asn.tsv"
    broken.write_text("1.0.0.0\t1.0.0.255\tnot-a-number\tAU\tX\t\n")
    with pytest.raises(InventoryError, match="line 1"):
        add_source(broken, tmp_path / "attribution")


def test_region_from_a_place_name_when_the_inventory_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(
        "cidr,organisation\n203.0.113.0/25,南京某某大学\n203.0.113.128/25,江苏省苏州市吴中区某某有限公司\n"
    )
    inventory = Inventory.load(path)
    university = inventory.attribute("203.0.113.5")
    assert university is not None and university.region == ("江苏省", "南京市")
    assert university.region_code == "320100" and "南京某某大学" in university.region_basis
    company = inventory.attribute("203.0.113.200")
    assert company is not None and company.region == ("江苏省", "苏州市", "吴中区")
    assert company.region_code == "320506" and company.sector == Sector.ENTERPRISE
    # The inventory's own region wins over a name.
    given = Inventory.load(SAMPLE).attribute("10.0.2.15")
    assert given is not None and given.region_basis == "the inventory says so"
