"""Issue 18 end to end, on real traffic in network namespaces (root only): hosts in a
client namespace look up and visit sites (a real DNS server and web server in a second
namespace; tcpdump records it) -> `scan --flows` and `import` -> `sites candidates --check --cases` (the
check runs inside the client namespace, resolving through the same DNS) -> site cases at
the inventory's unit -> `cases export` (RPZ) -> the operators change their sites (one name
withdrawn, one page replaced) -> `cases recheck` closes both as stopped and the RPZ no
longer lists them. Nothing leaves the namespaces but the test's own files."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sites_pages import page

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# Not under a reserved name (.example, .test): candidates rightly ignore those, as no public
# site can have one. Nothing here reaches any DNS but the test's own server.
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("tcpdump"),
    reason="needs root, iproute2 and tcpdump",
)

SERVER, CLIENTS = "10.231.0.2", ("10.231.0.11", "10.231.0.12", "10.231.0.13")
SITES = {
    "exchange-a.mwtest.net": page("exchange", "zh", 0, random.Random(11)).html.replace(
        "</body>", "<footer>浙ICP备2021012345号-1</footer></body>"
    ),
    "otc-b.mwtest.net": page("otc", "en", 0, random.Random(12)).html,
    "news.mwtest.net": page("news", "en", 0, random.Random(13)).html,
}


def _run(*argv: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    prefix = ["ip", "netns", "exec", ns] if ns else []
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{REPO}"}
    return subprocess.run([*prefix, *argv], check=check, capture_output=True, text=True, timeout=120, env=env)


def _minewatch(*argv: str, ns: str | None = None) -> subprocess.CompletedProcess[str]:
    done = _run(PYTHON, "-m", "minewatch.cli", *argv, ns=ns, check=False)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def namespaces(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(client ns, server ns, server folder) with the servers running."""
    tag = f"mws{os.getpid() % 100000}"
    client, server = f"{tag}c", f"{tag}s"
    folder = tmp_path / "far"
    for name, html in SITES.items():
        (folder / "docroot" / name).mkdir(parents=True)
        (folder / "docroot" / name / "index.html").write_text(html)
    (folder / "zone.json").write_text(json.dumps(dict.fromkeys(SITES, SERVER)))
    resolv = Path("/etc/netns") / client
    proc = None
    try:
        for ns in (client, server):
            _run("ip", "netns", "add", ns)
            _run("ip", "link", "set", "lo", "up", ns=ns)
        _run("ip", "link", "add", f"{tag}a", "type", "veth", "peer", "name", f"{tag}b")
        _run("ip", "link", "set", f"{tag}a", "netns", client)
        _run("ip", "link", "set", f"{tag}b", "netns", server)
        for address in CLIENTS:
            _run("ip", "addr", "add", f"{address}/24", "dev", f"{tag}a", ns=client)
        _run("ip", "addr", "add", f"{SERVER}/24", "dev", f"{tag}b", ns=server)
        _run("ip", "link", "set", f"{tag}a", "up", ns=client)
        _run("ip", "link", "set", f"{tag}b", "up", ns=server)
        resolv.mkdir(parents=True, exist_ok=True)
        (resolv / "resolv.conf").write_text(f"nameserver {SERVER}\noptions timeout:1 attempts:1\n")
        env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{REPO}"}
        script = [PYTHON, str(REPO / "tests" / "site_ns_server.py"), SERVER, str(folder)]
        proc = subprocess.Popen(["ip", "netns", "exec", server, *script], env=env)
        deadline = time.monotonic() + 20
        while not (folder / "ready").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (folder / "ready").exists(), "the site server did not start"
        yield client, f"{tag}a", folder
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(10)
        for ns in (client, server):
            _run("ip", "netns", "del", ns, check=False)
        shutil.rmtree(resolv, ignore_errors=True)


def _visit(client: str, device: str, pcap: Path) -> None:
    """Each client host looks up and fetches the sites (exchange-a by all three), under tcpdump."""
    dump = subprocess.Popen(
        ["ip", "netns", "exec", client, "tcpdump", "-i", device, "--immediate-mode", "-U", "-w", str(pcap)],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert dump.stderr is not None
    assert "listening on" in dump.stderr.readline()
    visits = [(c, "exchange-a.mwtest.net") for c in CLIENTS] + [(CLIENTS[0], "otc-b.mwtest.net")]
    visits += [(CLIENTS[1], "news.mwtest.net")]
    for address, name in visits:
        _run("curl", "-sf", "--max-time", "5", "--interface", address, f"http://{name}/", ns=client)
    time.sleep(0.5)
    dump.send_signal(signal.SIGINT)
    dump.wait(10)
    dump.stderr.close()


def test_from_traffic_to_closed_site_cases(namespaces: tuple[str, str, Path], tmp_path: Path) -> None:
    client, device, far = namespaces
    pcap, store = tmp_path / "visits.pcap", tmp_path / "store"
    _visit(client, device, pcap)
    # The capture's flow records (with their DNS, HTTP and TLS names) into the store.
    _minewatch("scan", str(pcap), "--flows", str(tmp_path / "flows.parquet"))
    _minewatch("import", str(tmp_path / "flows.parquet"), "--store", str(store))
    units = tmp_path / "units.csv"
    units.write_text(
        "code,name,level,parent_code\n320000,江苏省,province,\n320100,南京市,city,320000\n330000,浙江省,province,\n"
    )
    _minewatch("cases", "units", str(units), "--store", str(store))
    inventory = tmp_path / "inventory.csv"
    inventory.write_text(
        "cidr,organisation,sector,region,region_code\n10.231.0.0/24,示例机房,datacenter,江苏省/南京市,320100\n"
    )
    _minewatch("inventory", "import", str(inventory), "--store", str(store))

    found = _minewatch(
        "sites",
        "candidates",
        "--store",
        str(store),
        "--check",
        "--allow-private",
        "--cases",
        "--json",
        ns=client,
    )
    doc = json.loads(found.stdout)
    ranked = {c["name"]: c for c in doc["candidates"]}
    assert set(SITES) <= set(ranked)
    assert ranked["exchange-a.mwtest.net"]["hosts"] == 3
    assert any(o.get("address") == SERVER or SERVER in json.dumps(o) for o in doc["ours"])
    assert "2 cases opened" in found.stderr, found.stderr

    listed = _minewatch("cases", "list", "--store", str(store), "--json").stdout
    cases = {c["host"]: c for c in map(json.loads, listed.splitlines())}
    assert set(cases) == {"exchange-a.mwtest.net", "otc-b.mwtest.net"}
    assert {c["unit_code"] for c in cases.values()} == {"320100"}  # hosted in our address space
    for case in cases.values():
        for step in ("triage", "notify", "rectify", "block"):
            extra = ["--deadline", "3d"] if step == "rectify" else []
            _minewatch("cases", "step", str(case["id"]), step, *extra, "--store", str(store), "--actor", "t")
    out = tmp_path / "lists"
    _minewatch("cases", "export", "--store", str(store), "--out", str(out))
    rpz = (out / "minewatch.rpz").read_text()
    assert "exchange-a.mwtest.net" in rpz and "otc-b.mwtest.net" in rpz and "news.mwtest.net" not in rpz
    for case in cases.values():
        _minewatch("cases", "step", str(case["id"]), "verify", "--store", str(store), "--actor", "t")

    # The operators act: exchange-a's name is withdrawn, otc-b now serves something else.
    (far / "zone.json").write_text(json.dumps({"otc-b.mwtest.net": SERVER, "news.mwtest.net": SERVER}))
    (far / "docroot" / "otc-b.mwtest.net" / "index.html").write_text(SITES["news.mwtest.net"])
    rechecked = _minewatch(
        "cases", "recheck", "--store", str(store), "--allow-private", "--quiet", "0", ns=client
    ).stdout
    outcomes = {line.split("\t")[1]: line.split("\t")[2:4] for line in rechecked.splitlines()}
    assert outcomes == {
        "exchange-a.mwtest.net": ["gone", "closed"],  # NXDOMAIN
        "otc-b.mwtest.net": ["changed", "closed"],
    }
    _minewatch("cases", "export", "--store", str(store), "--out", str(out))
    rpz = (out / "minewatch.rpz").read_text()
    assert "exchange-a.mwtest.net" not in rpz and "otc-b.mwtest.net" not in rpz
