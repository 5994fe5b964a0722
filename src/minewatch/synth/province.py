"""A province-day of flow records, the way a provincial collector receives them, with its
address inventory and the truth to hold a bulletin against.

Clients sit in 10.0.0.0/8, in /24 blocks spread over the province's real cities and
counties (division codes and names from cpca's table) and mixed sectors. Every client
browses (TLS to ordinary names, plain HTTP, DNS to public resolvers); a few of them mine:
one long TCP connection at a time to a pool on a pool port, for part of the day or all of
it, exported as the router's active timeout cuts it (every 60 to 300 s), so one
connection appears in many hourly files. Pools come from an indicator list (a name, then
carried in the record's `sni` as DPI-based exporters give it, or an address). Servers are
in the benchmarking range 198.18.0.0/15 (RFC 2544). The day is the province's local day
(UTC+8); `flows/hour=HH` holds the records exported in local hour HH. Deterministic for a
given seed.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from minewatch.intel.indicators import (
    Category,
    IndicatorSet,
    load_bundled,
    load_default,
    parse_indicator_file,
)
from minewatch.model.attribution import INSTITUTIONS, Sector

__all__ = ["Place", "ProvinceConfig", "ProvinceReport", "divisions", "generate_province"]

ZONE = timezone(timedelta(hours=8))  # China Standard Time: the province's day
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
# Active addresses per /24: sparse, so a small province-day still has many blocks, denser
# once 10.0.0.0/8's 65,536 blocks would not hold the hosts.
SPARSE_HOSTS_PER_BLOCK = 20
POOL_PORTS = (3333, 4444, 5555, 7777, 9999, 14444)
ACTIVE_TIMEOUTS_S = (60, 120, 180, 300)  # routers differ; each miner's router has one
RESOLVERS = ("114.114.114.114", "223.5.5.5", "180.76.76.76")
WEB_NAMES = (
    "www.example.com", "cdn.example.net", "mail.example.org", "video.example.com", "api.example.net",
    "shop.example.cn", "news.example.com.cn", "pay.example.cn", "img.example.net", "update.example.org",
)  # fmt: skip
# Block sectors and, beside them, how much likelier a host there is to mine.
SECTORS = (
    (Sector.RESIDENTIAL, 0.55, 1.0),
    (Sector.DATACENTER, 0.08, 4.0),
    (Sector.EDUCATION, 0.10, 0.6),
    (Sector.GOVERNMENT, 0.06, 0.4),
    (Sector.ENTERPRISE, 0.15, 0.4),
    (Sector.HEALTHCARE, 0.06, 0.4),
)
ORGANISATIONS = {
    Sector.RESIDENTIAL: "中国电信{county}宽带用户",
    Sector.DATACENTER: "{city}云计算数据中心{n}号",
    Sector.EDUCATION: "{county}第{n}中学",
    Sector.GOVERNMENT: "{county}人民政府办公室{n}",
    Sector.ENTERPRISE: "{city}示例科技有限公司{n}",
    Sector.HEALTHCARE: "{county}人民医院{n}",
}
Format = Literal["csv", "parquet"]
_SERVERS = np.array([f"198.18.{i >> 8}.{i & 255}" for i in range(1 << 16)], dtype=object)


@dataclass(frozen=True)
class ProvinceConfig:
    out: Path
    hosts: int = 2000  # client addresses, miners among them
    miners: int = 150
    seed: int = 1
    day: date = date(2026, 11, 20)
    province_code: str = "320000"
    intel: Path | None = None  # pool indicators to pick from; the bundled list if None
    connections: float = 100.0  # ordinary connections per host per day
    format: Format = "csv"


@dataclass(frozen=True)
class Place:
    code: str  # six-digit administrative division code
    name: str
    parent: str | None  # the city's code, for a county


@dataclass(frozen=True)
class ProvinceReport:
    out: Path
    records: int
    mining_records: int
    mining_hosts: int
    files: tuple[Path, ...]


@dataclass(frozen=True)
class _Pool:
    ip: str
    name: str | None


def divisions(province_code: str) -> tuple[str, list[Place], list[Place]]:
    """The province's name, its prefecture-level cities and their counties, from cpca's
    division table (names as of its release). Raises ValueError for an unknown province."""
    prefix = province_code[:2]
    ref = resources.files("cpca") / "resources" / "adcodes.csv"
    province, cities, counties = None, [], []
    with ref.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code, name = row["adcode"][:6], row["name"]
            if not code.startswith(prefix) or name == "市辖区" or not row["longitude"]:
                continue
            if code.endswith("0000"):
                province = name
            elif code.endswith("00"):
                cities.append(Place(code, name, None))
            else:
                counties.append(Place(code, name, code[:4] + "00"))
    if province is None or not cities:
        raise ValueError(f"{province_code}: not a province with prefecture-level cities in cpca's table")
    known = {c.code for c in cities}
    counties = [c for c in counties if c.parent in known]
    return province, sorted(cities, key=lambda c: c.code), sorted(counties, key=lambda c: c.code)


def _pool_candidates(intel: Path | None) -> list[tuple[str, str]]:
    """(kind, value) of the pool indicators to pick pools from: domains and addresses."""
    found = parse_indicator_file(intel) if intel else load_bundled()
    return sorted((i.kind, i.value) for i in found if i.category is Category.POOL and i.kind != "cidr")


def _pools(rng: np.random.Generator, intel: Path | None, count: int = 12) -> list[_Pool]:
    candidates = _pool_candidates(intel)
    if not candidates:
        raise ValueError(f"{intel}: no pool domains or addresses to pick from")
    picked = rng.choice(len(candidates), min(count, len(candidates)), replace=False)
    pools = []
    for n, i in enumerate(sorted(picked)):
        kind, value = candidates[i]
        # A listed name gets an address of its own outside any list, so only its name tells.
        pools.append(_Pool(value, None) if kind == "ip" else _Pool(f"198.19.{n // 250}.{n % 250 + 1}", value))
    return pools


def _per_block(hosts: int) -> int:
    return max(SPARSE_HOSTS_PER_BLOCK, -(-hosts // 65_536))


def _ips(count: int) -> list[str]:
    per = _per_block(count)
    return [f"10.{(b := j // per) >> 8 & 255}.{b & 255}.{j % per + 1}" for j in range(count)]


@dataclass(frozen=True)
class _Province:
    name: str
    blocks: list[dict[str, Any]]  # inventory rows, one per /24, with `city` and `county`
    host_block: np.ndarray  # block index of each host
    host_ips: pa.Array


def _province(cfg: ProvinceConfig, rng: np.random.Generator) -> _Province:
    """Blocks over the cities (a few cities far larger: Zipf weights over a seeded order)."""
    name, cities, counties = divisions(cfg.province_code)
    order = rng.permutation(len(cities))
    weight = np.empty(len(cities))
    weight[order] = 1.0 / np.arange(1, len(cities) + 1) ** 1.1
    by_city = {c.code: [k for k in counties if k.parent == c.code] or [c] for c in cities}
    per = _per_block(cfg.hosts)
    n_blocks = -(-cfg.hosts // per)
    city_of = rng.choice(len(cities), n_blocks, p=weight / weight.sum())
    shares = np.array([s[1] for s in SECTORS])
    sector_of = rng.choice(len(SECTORS), n_blocks, p=shares / shares.sum())
    blocks = []
    for b in range(n_blocks):
        city = cities[city_of[b]]
        county = by_city[city.code][rng.integers(len(by_city[city.code]))]
        sector = SECTORS[sector_of[b]][0]
        org = ORGANISATIONS[sector].format(city=city.name, county=county.name, n=b + 1)
        region = f"{name}/{city.name}" + (f"/{county.name}" if county is not city else "")
        blocks.append(
            {
                "cidr": f"10.{b >> 8 & 255}.{b & 255}.0/24",
                "organisation": org,
                "sector": sector.value,
                "region": region,
                "region_code": county.code,
                "contact": f"noc@block{b + 1}.example.cn",
                "city": city,
                "county": county,
            }
        )
    host_block = np.arange(cfg.hosts) // per
    return _Province(name, blocks, host_block, pa.array(_ips(cfg.hosts), pa.string()))


def _choose_miners(cfg: ProvinceConfig, prov: _Province, rng: np.random.Generator) -> np.ndarray:
    likelihood = {s: w for s, _, w in SECTORS}
    per_block = np.array([likelihood[Sector(b["sector"])] for b in prov.blocks])
    w = per_block[prov.host_block]
    return np.sort(rng.choice(cfg.hosts, min(cfg.miners, cfg.hosts), replace=False, p=w / w.sum()))


def _mining_records(
    cfg: ProvinceConfig, miners: np.ndarray, pools: list[_Pool], rng: np.random.Generator
) -> pa.Table:
    """Every miner's flow records over the day: times in ms from local midnight."""
    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("host", "pool", "port", "cport", "first", "last", "cb", "sb")
    }
    for host in miners:
        if rng.random() < 0.25:
            start, end = 0, DAY_MS
        else:
            length = int(rng.uniform(1, 20) * HOUR_MS)
            start = int(rng.integers(0, DAY_MS - length))
            end = start + length
        rate = float(np.exp(rng.uniform(np.log(500), np.log(10_000))))  # bytes/s, both ways
        up = rng.uniform(0.3, 0.5)
        cut = int(rng.choice(ACTIVE_TIMEOUTS_S)) * 1000
        pool, port = int(rng.integers(len(pools))), int(rng.choice(POOL_PORTS))
        conn_start = start
        while conn_start < end:  # the miner reconnects every few hours, from a new port
            conn_end = min(end, conn_start + int(rng.uniform(2, 10) * HOUR_MS))
            firsts = np.arange(conn_start, conn_end, cut, dtype=np.int64)
            lasts = np.minimum(firsts + cut, conn_end)
            total = rate * (lasts - firsts) / 1000 * rng.uniform(0.7, 1.3, len(firsts))
            n = len(firsts)
            cols["host"].append(np.full(n, host))
            cols["pool"].append(np.full(n, pool))
            cols["port"].append(np.full(n, port))
            cols["cport"].append(np.full(n, int(rng.integers(1024, 65536))))
            cols["first"].append(firsts)
            cols["last"].append(lasts)
            cols["cb"].append(np.maximum(np.round(total * up), 60).astype(np.int64))
            cols["sb"].append(np.maximum(np.round(total * (1 - up)), 60).astype(np.int64))
            conn_start = conn_end
    return pa.table({k: np.concatenate(v) if v else np.array([], np.int64) for k, v in cols.items()})


def _packets(nbytes: np.ndarray, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    size = rng.uniform(low, high, len(nbytes)).astype(np.int64)
    out: np.ndarray = np.maximum(1, nbytes // size)
    return out


def _benign_hour(cfg: ProvinceConfig, hour: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Ordinary connections that end within local hour `hour`: DNS, HTTP, TLS; fewer at night."""
    lam = cfg.connections / 24 * (1 + 0.6 * np.sin((hour - 8) / 24 * 2 * np.pi))
    host = np.repeat(np.arange(cfg.hosts), rng.poisson(lam, cfg.hosts))
    n = len(host)
    kind = rng.choice(3, n, p=[0.35, 0.15, 0.5])  # dns, http, tls
    dur = np.where(kind == 0, 20, rng.exponential(np.where(kind == 1, 3_000, 20_000))).astype(np.int64)
    dur = np.minimum(dur, HOUR_MS - 1)
    first = hour * HOUR_MS + (rng.random(n) * (HOUR_MS - dur)).astype(np.int64)
    big = rng.lognormal(np.where(kind == 2, 10.0, 9.0), 1.5).astype(np.int64)
    cb = np.where(kind == 0, rng.integers(60, 90, n), 300 + big // 20)
    sb = np.where(kind == 0, rng.integers(90, 300, n), 800 + big)
    return {
        "host": host,
        "kind": kind,
        "first": first,
        "last": first + dur,
        "cb": cb,
        "sb": sb,
        "server": rng.integers(0, 1 << 16, n),
        "name": rng.integers(0, len(WEB_NAMES), n),
        "cport": rng.integers(1024, 65536, n),
    }


def _hour_table(
    cfg: ProvinceConfig,
    prov: _Province,
    pools: list[_Pool],
    benign: dict[str, np.ndarray],
    mining: pa.Table,
    rng: np.random.Generator,
) -> pa.Table:
    """One hourly file's two-way records, in the order they were exported."""
    t0 = int(datetime.combine(cfg.day, datetime.min.time(), ZONE).timestamp() * 1000)
    kind = benign["kind"]
    b_server = _SERVERS[benign["server"]]
    b_server = np.where(kind == 0, np.array(RESOLVERS)[benign["server"] % len(RESOLVERS)], b_server)
    b_sni = np.where(kind == 2, np.array(WEB_NAMES)[benign["name"]], None)
    pool_ips = np.array([p.ip for p in pools])
    pool_names = np.array([p.name for p in pools], dtype=object)
    m_pool = mining["pool"].to_numpy()
    mcb, msb = mining["cb"].to_numpy(), mining["sb"].to_numpy()
    nm = mining.num_rows
    table = pa.table(
        {
            "first_seen": np.concatenate([benign["first"], mining["first"].to_numpy()]),
            "last_seen": np.concatenate([benign["last"], mining["last"].to_numpy()]),
            "ip_proto": np.concatenate([np.where(kind == 0, 17, 6), np.full(nm, 6)]).astype(np.uint8),
            "client_ip": prov.host_ips.take(
                pa.array(np.concatenate([benign["host"], mining["host"].to_numpy()]))
            ),
            "client_port": np.concatenate([benign["cport"], mining["cport"].to_numpy()]).astype(np.uint16),
            "server_ip": pa.array(np.concatenate([b_server, pool_ips[m_pool]]).astype(object), pa.string()),
            "server_port": np.concatenate([np.array([53, 80, 443])[kind], mining["port"].to_numpy()]).astype(
                np.uint16
            ),
            "c2s_packets": np.concatenate(
                [_packets(benign["cb"], rng, 60, 120), _packets(mcb, rng, 80, 200)]
            ),
            "s2c_packets": np.concatenate(
                [_packets(benign["sb"], rng, 200, 1400), _packets(msb, rng, 100, 400)]
            ),
            "c2s_bytes": np.concatenate([benign["cb"], mcb]),
            "s2c_bytes": np.concatenate([benign["sb"], msb]),
            "sni": pa.array(np.concatenate([b_sni, pool_names[m_pool]]), pa.string()),
        }
    )
    table = table.take(pa.array(np.argsort(table["last_seen"].to_numpy(), kind="stable")))
    for name in ("first_seen", "last_seen"):
        ms = pa.array(table[name].to_numpy() + t0).cast(pa.timestamp("ms", tz="UTC"))
        table = table.set_column(table.schema.get_field_index(name), name, ms)
    return table


def _write(table: pa.Table, path: Path, fmt: Format) -> None:
    if fmt == "parquet":
        pq.write_table(table, path)
        return
    # Times as seconds since 1970 with milliseconds, as flow exports often give them.
    for name in ("first_seen", "last_seen"):
        seconds = pa.array(table[name].cast(pa.int64()).to_numpy() / 1000)
        table = table.set_column(table.schema.get_field_index(name), name, seconds)
    # The header by hand: pyarrow quotes its names, which the format sniffing does not expect.
    with path.open("wb") as f:
        f.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False, quoting_style="needed"))


def _check_ordinary(cfg: ProvinceConfig) -> None:
    """Ordinary names and resolvers must be on no list, or the truth would be wrong."""
    known: IndicatorSet = load_default([cfg.intel] if cfg.intel else [])
    listed = [n for n in WEB_NAMES if known.match_domain(n)] + [r for r in RESOLVERS if known.match_ip(r)]
    if listed:
        raise ValueError(f"ordinary traffic would match an indicator list: {', '.join(listed)}")


def generate_province(cfg: ProvinceConfig) -> ProvinceReport:
    """Write flows/hour=HH.{csv,parquet}, inventory.csv and truth.json under `cfg.out`."""
    rng = np.random.default_rng(cfg.seed)
    prov = _province(cfg, rng)
    pools = _pools(rng, cfg.intel)
    _check_ordinary(cfg)
    miners = _choose_miners(cfg, prov, rng)
    mining = _mining_records(cfg, miners, pools, rng)
    hour_of = np.minimum(mining["last"].to_numpy() // HOUR_MS, 23)
    (cfg.out / "flows").mkdir(parents=True, exist_ok=True)
    files, records = [], 0
    for hour in range(24):
        table = _hour_table(
            cfg, prov, pools, _benign_hour(cfg, hour, rng), mining.filter(hour_of == hour), rng
        )
        path = cfg.out / "flows" / f"hour={hour:02d}.{cfg.format}"
        _write(table, path, cfg.format)
        files.append(path)
        records += table.num_rows
    _write_inventory(prov.blocks, cfg.out / "inventory.csv")
    truth = _truth(cfg, prov, pools, mining)
    (cfg.out / "truth.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return ProvinceReport(cfg.out, records, mining.num_rows, len(miners), tuple(files))


def _write_inventory(blocks: list[dict[str, Any]], path: Path) -> None:
    fields = ("cidr", "organisation", "sector", "region", "region_code", "contact")
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fields, extrasaction="ignore")
        out.writeheader()
        out.writerows(blocks)


def _iso(cfg: ProvinceConfig, ms: int) -> str:
    start = datetime.combine(cfg.day, datetime.min.time(), ZONE)
    return (start + timedelta(milliseconds=ms)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _hosts(
    cfg: ProvinceConfig, prov: _Province, pools: list[_Pool], mining: pa.Table
) -> Iterator[dict[str, Any]]:
    grouped = mining.group_by("host").aggregate(
        [("first", "min"), ("last", "max"), ("cb", "sum"), ("sb", "sum"), ("pool", "min"), ("host", "count")]
    )
    for row in sorted(grouped.to_pylist(), key=lambda r: r["host"]):
        block = prov.blocks[prov.host_block[row["host"]]]
        pool = pools[row["pool_min"]]
        yield {
            "host": prov.host_ips[row["host"]].as_py(),
            "bytes": row["cb_sum"] + row["sb_sum"],
            "records": row["host_count"],
            "first_seen": _iso(cfg, row["first_min"]),
            "last_seen": _iso(cfg, row["last_max"]),
            "seconds": (row["last_max"] - row["first_min"]) / 1000,
            "city": block["city"].name,
            "city_code": block["city"].code,
            "county": block["county"].name,
            "region": block["region"].split("/"),
            "region_code": block["region_code"],
            "sector": block["sector"],
            "organisation": block["organisation"],
            "compromised": Sector(block["sector"]) in INSTITUTIONS,
            "pool": {"ip": pool.ip, "name": pool.name},
        }


def _truth(cfg: ProvinceConfig, prov: _Province, pools: list[_Pool], mining: pa.Table) -> dict[str, Any]:
    """What a correct bulletin of this day says. Mbit/s averaged over the day: all mining
    bytes * 8 / 86,400 s; while mining: each host's bytes * 8 over its first to last
    second, added up."""
    hosts = list(_hosts(cfg, prov, pools, mining))
    city_of = {h["city"]: h["city_code"] for h in hosts}
    counts = Counter(h["city"] for h in hosts)
    by_city = sorted(
        (
            {"city": c, "code": city_of[c], "label": f"{prov.name} / {c}", "hosts": n}
            for c, n in counts.items()
        ),
        key=lambda r: (-r["hosts"], r["label"]),
    )
    compromised = sum(h["compromised"] for h in hosts)
    total = sum(h["bytes"] for h in hosts)
    return {
        "version": 1,
        "province": {"code": cfg.province_code, "name": prov.name},
        "date": cfg.day.isoformat(),
        "since": _iso(cfg, 0),
        "until": _iso(cfg, DAY_MS),
        "seed": cfg.seed,
        "intel": str(cfg.intel) if cfg.intel else "bundled",
        "hosts": cfg.hosts,
        "mining_hosts": len(hosts),
        "mining_bytes": total,
        "mining_records": mining.num_rows,
        "mbit_s_day": total * 8 / 86_400 / 1e6,
        "mbit_s_mining": sum(h["bytes"] * 8 / h["seconds"] for h in hosts) / 1e6,
        "compromised": compromised,
        "compromised_share": compromised / len(hosts) if hosts else 0.0,
        "by_city": by_city,
        "mining": hosts,
    }
