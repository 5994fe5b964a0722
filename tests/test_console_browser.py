"""The console in Debian's headless Chromium, through Playwright, against a real
`minewatch serve` on loopback fed by `minewatch push` from a store of real captures:
a member of the public sends a tip; a county analyst signs in, sees only the county's
cases and the tip, takes a case through notify -> rectify -> block -> verify -> close,
links the tip; the dashboard and English pages render. Screenshots go to out/screenshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from minewatch.cli.main import main
from tests.conftest import REAL, ROOT, ZEEK
from tests.ports import free_port
from tests.test_attribute import SAMPLE

SHOTS = ROOT / "out" / "screenshots"
PASSWORD = "correct horse battery staple"
UNITS = (
    "code,name,level,parent_code\n"
    "320000,江苏省,province,\n320200,无锡市,city,320000\n320213,梁溪区,county,320200\n"
    "330000,浙江省,province,\n330100,杭州市,city,330000\n330106,西湖区,county,330100\n"
)
SCRIPT = "<script>alert('tip')</script>"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A store of real findings with the sample inventory, units and people, a real server
    on loopback, and the findings pushed to it by a sensor."""
    store = tmp_path / "store"
    captures = [str(REAL / "sv1_cpuminer_sha256d_t1.pcap"), str(ZEEK / "bitcoin-mining.pcap")]
    assert main(["import", *captures, "--store", str(store)]) == 0
    assert main(["inventory", "import", str(SAMPLE), "--store", str(store)]) == 0
    (tmp_path / "units.csv").write_text(UNITS)
    assert main(["cases", "units", str(tmp_path / "units.csv"), "--store", str(store)]) == 0
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    for name, unit in (("lx", "320213"), ("xh", "330106")):
        args = ["users", "add", name, "--unit", unit, "--password-file", str(tmp_path / "pw")]
        assert main([*args, "--store", str(store)]) == 0
    token = subprocess.run(
        [sys.executable, "-m", "minewatch.cli", "tokens", "add", "probe-1", "--unit", "320000"]
        + ["--store", str(store)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    _meters(tmp_path, store)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "minewatch.cli", "serve", "--store", str(store), "--port", str(port)]
        + ["--quiet", "0"],
        stdout=log,
        stderr=subprocess.STDOUT,
        # The site case's page is on loopback: its re-check may fetch it.
        env={**os.environ, "MINEWATCH_SITES_ALLOW_PRIVATE": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/api/v1/health", timeout=2) as r:
                    assert json.load(r) == {"status": "ok"}
                break
            except OSError:
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.2)
        (tmp_path / "token").write_text(token)
        push = ["push", "--store", str(store), "--to", url, "--token-file", str(tmp_path / "token")]
        assert main(push) == 0
        yield url
    finally:
        serve.terminate()
        serve.wait(timeout=20)
        log.close()


def _meters(tmp_path: Path, store: Path) -> None:
    """Two meters on the BDEW household profile with two ASICs arriving: one in the
    analyst's county, one in Hangzhou's."""
    from datetime import timedelta

    from minewatch.synth.loads import STEP_S, make_meters

    meters, start = make_meters(0, 30, seed=5, days=150)
    miners = [m for m in meters if m.business_type == "household" and "ASIC" in m.rigs][:2]
    first = start - timedelta(hours=8)
    with (tmp_path / "meters.csv").open("w") as f:
        f.write("meter_id,timestamp,kwh\n")
        for name, m in zip(("LX-0001", "XH-0001"), miners, strict=True):
            for i, e in enumerate(m.kwh):
                f.write(f"{name},{(first + timedelta(seconds=i * STEP_S)).isoformat()},{e:.5f}\n")
    (tmp_path / "registry.csv").write_text(
        "meter_id,site,organisation,business_type,region,region_code,networks,capacity_kw\n"
        "LX-0001,某小区12栋302,住户甲,household,江苏省/无锡市/梁溪区,320213,,\n"
        "XH-0001,某小区3栋101,住户乙,household,浙江省/杭州市/西湖区,330106,,\n"
    )
    assert main(["meters", "registry", str(tmp_path / "registry.csv"), "--store", str(store)]) == 0
    assert main(["meters", "import", str(tmp_path / "meters.csv"), "--store", str(store)]) == 0
    assert main(["meters", "detect", "--store", str(store)]) == 0


def test_a_county_analyst_works_a_case_to_its_close(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    from minewatch.report.pdf import find_chromium

    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        # The public: a tip with markup in it, placed in the county.
        public = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900})
        page = public.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server + "/tip")
        page.select_option("select[name=unit_code]", "320213")
        page.fill("input[name=location]", "无锡市梁溪区某某路88号地下室")
        page.fill("input[name=organisation]", "某某网吧")
        page.fill("textarea[name=description]", "机房风扇24小时满转，电表走得飞快 " + SCRIPT)
        page.screenshot(path=str(SHOTS / "console-tip-form.png"), full_page=True)
        page.click("button[type=submit]")
        receipt = page.locator("#receipt").inner_text()
        assert receipt.startswith("T") and len(receipt) == 18
        assert "127.0.0.1" not in page.content()
        page.screenshot(path=str(SHOTS / "console-tip-receipt.png"), full_page=True)
        public.close()

        # The county analyst.
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server + "/")
        expect(page).to_have_url(server + "/login")
        page.fill("input[name=name]", "lx")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_contain_text("案件")
        queue = page.locator("table.queue tbody tr")
        hosts = [queue.nth(i).locator("td").nth(1).inner_text() for i in range(queue.count())]
        # The county's miner and the pool it used; not Hangzhou's 10.0.2.15.
        assert sorted(hosts) == ["127.0.0.1", "127.0.0.1"] and "10.0.2.15" not in page.content()
        tips = page.locator("table.tips")
        expect(tips).to_contain_text("某某路88号地下室")
        expect(tips).to_contain_text(SCRIPT)  # shown as the text it is
        page.screenshot(path=str(SHOTS / "console-queue.png"), full_page=True)

        row = queue.filter(has_text="mining").first
        case_id = row.locator("td").first.inner_text()
        row.locator("a").first.click()
        expect(page.locator("h1")).to_contain_text("127.0.0.1")
        expect(page.locator("#status")).to_have_text("新建")
        for action, status in (
            ("triage", "已研判"),
            ("notify", "已通知责任单位"),
            ("rectify", "已责令整改"),
            ("block", "已封堵"),
            ("verify", "核查中"),
        ):
            page.click(f"button[value={action}]")
            expect(page.locator("#status")).to_have_text(status)
        page.screenshot(path=str(SHOTS / "console-case-verifying.png"), full_page=True)
        page.click("button[value=check]")
        expect(page.locator("#status")).to_have_text("已结案")
        expect(page.locator("#verdict")).to_have_text("已停止")
        trail = page.locator("ol.timeline li").evaluate_all("items => items.map(i => i.dataset.action)")
        assert trail[::-1] == [
            "opened",
            "triaged",
            "owner_notified",
            "rectification_ordered",
            "blocked",
            "verifying",
            "closed",
        ]
        expect(page.locator("ol.timeline")).to_contain_text("已封堵")
        assert page.locator("section.actions").count() == 0, "a closed case has no actions"
        page.screenshot(path=str(SHOTS / "console-case-closed.png"), full_page=True)

        # The tip goes with the case.
        page.goto(server + "/")
        page.fill("table.tips input[name=case_id]", case_id)
        page.click("table.tips button[type=submit] >> nth=0")
        expect(page.locator("table.tips")).to_have_count(0)
        page.goto(f"{server}/cases/{case_id}")
        expect(page.locator("body")).to_contain_text(receipt)

        # Another county's case by guessing its id: not found (the 404s are expected).
        before = len(errors)
        for other in range(1, 6):
            if str(other) == case_id:
                continue
            response = page.goto(f"{server}/cases/{other}")
            assert response is not None
            if "10.0.2.15" in page.content():
                raise AssertionError(f"case {other} of another county is shown")
        assert all("404" in e for e in errors[before:])
        del errors[before:]

        # The county's meters: its own, ranked, with the load curve; not Hangzhou's.
        page.goto(server + "/meters")
        expect(page.locator(".meters")).to_contain_text("LX-0001")
        assert "XH-0001" not in page.content()
        assert page.locator(".meters svg polyline").count() >= 2
        page.screenshot(path=str(SHOTS / "console-meters.png"), full_page=True)

        page.goto(server + "/dashboard")
        expect(page.locator("#mining-hosts")).to_have_text("1")
        assert page.locator("svg").count() >= 3
        page.screenshot(path=str(SHOTS / "console-dashboard-zh.png"), full_page=True)
        page.click("header .langs a")
        expect(page.locator("h1")).to_contain_text("Dashboard")
        page.screenshot(path=str(SHOTS / "console-dashboard-en.png"), full_page=True)
        with page.expect_download() as download:
            page.click("a[href='/report?format=csv']")
        saved = Path(download.value.path())
        assert saved.read_text(encoding="utf-8").splitlines()[1].startswith("127.0.0.1,")
        browser.close()
    assert errors == [] and dialogs == [], (errors, dialogs)
    assert all((SHOTS / f"console-{n}.png").stat().st_size > 10_000 for n in ("queue", "case-closed"))


def test_a_county_analyst_settles_a_site_case(server: str, tmp_path: Path) -> None:
    """A site hosted in the county's address space (the sample inventory puts 127.0.0.0/8 in
    梁溪区): `sites check --cases` opens its case there; the analyst sees what the site is
    and why, blocks it, and after the operator takes it down the check button closes it."""
    import random

    from playwright.sync_api import expect, sync_playwright

    from minewatch.report.pdf import find_chromium
    from tests.sites_pages import page as site_page
    from tests.sites_server import serve

    store = tmp_path / "store"
    html = site_page("otc", "zh", 0, random.Random(3)).html
    with serve({"/": html}) as site:
        args = ["sites", "check", site + "/", "--allow-private", "--cases", "--store", str(store)]
        assert main(args) == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server + "/login")
        page.fill("input[name=name]", "lx")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.locator("table.queue tbody tr").filter(has_text="site").first.locator("a").first.click()
        expect(page.locator("#site")).to_contain_text("otc")
        expect(page.locator("#site")).to_contain_text("127.0.0.1")
        expect(page.locator("ul.evidence")).to_contain_text("keyword")
        for action in ("triage", "notify", "rectify", "block", "verify"):
            page.click(f"button[value={action}]")
        page.screenshot(path=str(SHOTS / "console-site-case.png"), full_page=True)
        page.click("button[value=check]")  # the page server is gone: nothing listens
        expect(page.locator("#status")).to_have_text("已结案")
        expect(page.locator("ol.timeline")).to_contain_text("gone")
        browser.close()
    assert errors == []
