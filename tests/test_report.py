"""The bulletin from real findings and the sample inventory: its figures, its JSON and
CSV twins, a self-contained page in Chinese and English, and a region filter."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest

from minewatch.cli.main import main
from tests.conftest import NDPI, REAL, ZEEK
from tests.test_attribute import SAMPLE

CAPTURES = [
    REAL / "sv1_cpuminer_sha256d_t1.pcap",
    REAL / "xmr_xmrig_rx0_tcp_t1.pcap",
    ZEEK / "bitcoin-mining.pcap",
    NDPI / "mining.pcapng",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    assert main(["import", *map(str, CAPTURES), "--store", str(folder)]) == 0
    assert main(["inventory", "import", str(SAMPLE), "--store", str(folder)]) == 0
    return folder


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bulletin_figures_and_its_twins(store: Path, tmp_path: Path, lang: str) -> None:
    assert main(["report", "--store", str(store), "--out", str(tmp_path), "--lang", lang]) == 0
    b = json.loads((tmp_path / "bulletin.json").read_text())
    # 127.0.0.1 (two real miners), 10.0.2.15, 147.229.13.222, 192.168.2.148, 192.168.2.92
    assert b["mining_hosts"] == 5
    assert b["compromised"] == 2, "the hospital's and the university's machines"
    sectors = {c["label"]: (c["hosts"], c["compromised"]) for c in b["by_sector"]}
    assert sectors == {"healthcare": (1, 1), "education": (1, 1), "residential": (2, 0), "unknown": (1, 0)}
    cities = {c["label"]: c["hosts"] for c in b["by_city"]}
    assert cities["江苏省 / 无锡市"] == 1 and cities["浙江省 / 宁波市"] == 2
    sha = {a["algorithm"]: a for a in b["algorithms"]}["sha256d"]
    assert sha["hashrate"] > 0 and sha["low"] < sha["hashrate"] < sha["high"]
    assert b["energy_kwh_day"]["low"] <= b["energy_kwh_day"]["best"] <= b["energy_kwh_day"]["high"]
    assert b["mbit_s"] > 0 and len(b["notes"]) >= 5
    with (tmp_path / "bulletin.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["host"] for r in rows} == {
        "127.0.0.1",
        "10.0.2.15",
        "147.229.13.222",
        "192.168.2.148",
        "192.168.2.92",
    }
    page = (tmp_path / "bulletin.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 6 and "<script" not in page
    # Nothing to fetch: no external source, link or stylesheet (the SVG namespace is a name).
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", page).count("http") == 0
    assert ("加密货币挖矿通报" in page) == (lang == "zh")
    assert ("数据说明" in page and "挖矿主机数" in page and "家庭宽带" in page) == (lang == "zh")


def test_region_and_period(store: Path, tmp_path: Path) -> None:
    assert main(["report", "--store", str(store), "--out", str(tmp_path), "--region", "江苏"]) == 0
    b = json.loads((tmp_path / "bulletin.json").read_text())
    assert b["mining_hosts"] == 1 and b["region"] == "江苏"
    assert [c["label"] for c in b["by_county"]] == ["江苏省 / 无锡市 / 梁溪区"]
    assert main(["report", "--store", str(store), "--out", str(tmp_path), "--since", "2026-11-01"]) == 0
    recent = json.loads((tmp_path / "bulletin.json").read_text())
    assert recent["since"] == "2026-11-01T00:00:00Z" and recent["until"] is None
    assert recent["mining_hosts"] == 1, "only the 2026 miners (one host, 127.0.0.1)"


def test_report_usage_errors(tmp_path: Path) -> None:
    assert main(["report", "--store", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert main(["report", "--store", str(tmp_path), "--out", str(tmp_path), "--lang", "fr"]) == 2


def test_page_in_headless_chromium_and_its_pdf(store: Path, tmp_path: Path) -> None:
    """Debian's Chromium through Playwright: the page renders with no console error and
    asks for nothing beyond itself; a screenshot is kept; the PDF has its pages."""
    from playwright.sync_api import sync_playwright

    from minewatch.report.pdf import find_chromium

    assert main(["report", "--store", str(store), "--out", str(tmp_path), "--lang", "zh"]) == 0
    page_url = (tmp_path / "bulletin.html").resolve().as_uri()
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_url)
        assert page.locator("h1").inner_text() == "加密货币挖矿通报"
        assert page.locator("svg").count() >= 6
        page.screenshot(path=str(tmp_path / "bulletin.png"), full_page=True)
        browser.close()
    assert errors == []
    assert requests == [page_url], "nothing but the page itself is requested"
    assert (tmp_path / "bulletin.png").stat().st_size > 20_000
    pdf = tmp_path / "bulletin.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2 and all(p.stat().st_size > 2_000 for p in pages)
