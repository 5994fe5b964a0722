"""The service under load on loopback: a real `minewatch serve` (uvicorn, one worker)
takes 10,000 findings from a sensor, then serves the case queue page to concurrent
signed-in people, beside its own health endpoint (the framework's floor) in the same run.

    .venv/bin/python bench/serve.py [--findings 10000] [--requests 2000] [--concurrency 16]
                                    [--seconds 60] [--db sqlite|postgresql]

Every loop is bounded in count and in time, and talks only to 127.0.0.1. The client shares
this 2-core machine with the server, so the figures are of both.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PASSWORD = "correct horse battery staple"
COUNTIES = {  # code: (province, city, county)
    "320102": ("江苏省", "南京市", "玄武区"),
    "320106": ("江苏省", "南京市", "鼓楼区"),
    "320213": ("江苏省", "无锡市", "梁溪区"),
    "320214": ("江苏省", "无锡市", "新吴区"),
    "320411": ("江苏省", "常州市", "新北区"),
    "320412": ("江苏省", "常州市", "武进区"),
    "320505": ("江苏省", "苏州市", "虎丘区"),
    "320506": ("江苏省", "苏州市", "吴中区"),
}
CITIES = {"320100": "南京市", "320200": "无锡市", "320400": "常州市", "320500": "苏州市"}


@dataclass
class Load:
    label: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(q * 100) - 1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "minewatch.cli", *args], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def real_finding() -> dict[str, Any]:
    from tests.conftest import REAL

    from minewatch.report.jsonl import finding_to_json
    from minewatch.scan import ScanOptions, scan_paths

    result = scan_paths([REAL / "sv1_cpuminer_sha256d_t1.pcap"], ScanOptions())
    return next(finding_to_json(f) for f in result.findings if f.activity.value == "mining")


def findings(count: int) -> list[dict[str, Any]]:
    """`count` mining hosts: the real cpuminer finding on as many addresses, spread over
    the counties."""
    base = real_finding()
    codes = list(COUNTIES)
    out = []
    for i in range(count):
        f = copy.deepcopy(base)
        f["host"] = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        code = codes[i % len(codes)]
        f["attribution"] = {
            "organisation": f"示例单位{i}",
            "sector": "education",
            "region": list(COUNTIES[code]),
            "region_code": code,
            "likely_compromised": True,
        }
        out.append(f)
    return out


def setup(store: Path, db: str | None) -> str:
    units = ["code,name,level,parent_code", "320000,江苏省,province,"]
    units += [f"{c},{n},city,320000" for c, n in CITIES.items()]
    units += [f"{c},{p[2]},county,{c[:4]}00" for c, p in COUNTIES.items()]
    (store.parent / "units.csv").write_text("\n".join(units) + "\n")
    (store.parent / "pw").write_text(PASSWORD)
    where = ["--store", str(store)] + (["--db", db] if db else [])
    _cli("cases", "units", str(store.parent / "units.csv"), *where)
    _cli(
        "users",
        "add",
        "province",
        "--unit",
        "320000",
        "--role",
        "admin",
        "--password-file",
        str(store.parent / "pw"),
        *where,
    )
    _cli("users", "add", "county", "--unit", "320213", "--password-file", str(store.parent / "pw"), *where)
    return _cli("tokens", "add", "bench-sensor", "--unit", "320000", *where)


def start(store: Path, db: str | None, port: int) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "minewatch.cli", "serve", "--store", str(store), "--port", str(port)]
    server = subprocess.Popen(
        args + (["--db", db] if db else []), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("bench: the server did not start in 30 s")


def push(base: str, token: str, rows: list[dict[str, Any]], batch: int = 500) -> tuple[float, int]:
    """One sensor pushing in batches, as `minewatch push` does; seconds taken and errors."""
    errors = 0
    t0 = time.perf_counter()
    with httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}) as client:
        for i in range(0, len(rows), batch):
            r = client.post("/api/v1/findings", json={"findings": rows[i : i + batch]})
            errors += r.status_code != 200
    return time.perf_counter() - t0, errors


async def hammer(
    base: str, path: str, cookie: str | None, requests: int, concurrency: int, seconds: float, label: str
) -> Load:
    latencies: list[float] = []
    errors = 0
    issued = 0
    stop = time.monotonic() + seconds
    cookies = {"mw_session": cookie} if cookie else None
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors, issued
        while issued < requests and time.monotonic() < stop:
            issued += 1
            t = time.perf_counter()
            try:
                r = await client.get(path)
                ok = r.status_code == 200 and len(r.content) > 0
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t)
            errors += not ok

    async with httpx.AsyncClient(base_url=base, cookies=cookies, limits=limits, timeout=30) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        took = time.perf_counter() - t0
    return Load(label, len(latencies), errors, took, latencies)


def sign_in(base: str, name: str) -> str:
    r = httpx.post(base + "/api/v1/sign-in", json={"name": name, "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    return str(r.cookies["mw_session"])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(count: int, requests: int, concurrency: int, seconds: float, db_kind: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="minewatch-bench-serve-") as tmp:
        store = Path(tmp) / "store"
        pg_dir = None
        db = None
        if db_kind == "postgresql":
            pg_dir = tempfile.mkdtemp(prefix="minewatch-bench-pg-")
            db = _pg_start(pg_dir)
        try:
            token = setup(store, db)
            port = _port()
            base = f"http://127.0.0.1:{port}"
            server = start(store, db, port)
            try:
                rows = findings(count)
                push_s, push_errors = push(base, token, rows)
                province, county = sign_in(base, "province"), sign_in(base, "county")
                loads = [
                    asyncio.run(
                        hammer(base, "/api/v1/health", None, requests, concurrency, seconds, "health (peer)")
                    ),
                    asyncio.run(
                        hammer(base, "/", province, requests, concurrency, seconds, "queue page, province")
                    ),
                    asyncio.run(
                        hammer(base, "/", county, requests, concurrency, seconds, "queue page, county")
                    ),
                    asyncio.run(
                        hammer(
                            base, "/api/v1/cases", county, requests, concurrency, seconds, "cases API, county"
                        )
                    ),
                ]
                totals = {
                    who: httpx.get(base + "/api/v1/cases?limit=1", cookies={"mw_session": c}).json()["total"]
                    for who, c in (("province", province), ("county", county))
                }
                memory = rss_mib(server.pid)
            finally:
                server.terminate()
                server.wait(timeout=30)
        finally:
            if pg_dir:
                subprocess.run(
                    [str(ROOT / "scripts" / "postgres"), "stop", pg_dir], check=False, capture_output=True
                )
    return {
        "db": db_kind,
        "findings": count,
        "push_s": push_s,
        "push_errors": push_errors,
        "loads": loads,
        "totals": totals,
        "rss_mib": memory,
    }


def _pg_start(folder: str) -> str:
    url = subprocess.run(
        [str(ROOT / "scripts" / "postgres"), "start", folder, str(_port())],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE bench")
    return url.rsplit("/", 1)[0] + "/bench"


def report(result: dict[str, Any]) -> None:
    print(
        f"\n## {result['db']}: {result['findings']:,} findings pushed in {result['push_s']:.1f} s "
        f"({result['findings'] / result['push_s']:,.0f} findings/s, {result['push_errors']} errors); "
        f"cases seen: {result['totals']}; server max RSS {result['rss_mib']:.0f} MiB\n"
    )
    print("| requests to | count | errors | req/s | p50 ms | p99 ms | × health req/s |")
    print("|---|---|---|---|---|---|---|")
    floor = result["loads"][0].rate
    for load in result["loads"]:
        print(
            f"| {load.label} | {load.requests} | {load.errors} | {load.rate:,.0f} | "
            f"{load.quantile(0.5) * 1e3:.1f} | {load.quantile(0.99) * 1e3:.1f} | {load.rate / floor:.2f} |"
        )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0, help="bound on each load phase")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    for kind in kinds:
        result = run(args.findings, args.requests, args.concurrency, args.seconds, kind)
        report(result)
        results.append(result)
    return results


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
