"""Meter data: bad files give clear messages and never lose the rest; the power detector
finds mining loads laid on the BDEW standard profiles (shipped by demandlib) and not the
plain ones; a site accused by its meter and by the network becomes one finding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from minewatch.cli.main import main
from minewatch.sources.meters import MeterFileError, read_meters
from minewatch.synth.loads import STEP_S, make_meters
from tests.conftest import REAL

START = datetime(2025, 3, 1, tzinfo=UTC)


def _csv(path: Path, rows: list[tuple[str, str, str]], header: str = "meter_id,timestamp,kwh") -> Path:
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


def _rows(meter: str, count: int, kwh: float = 0.1, start: datetime = START) -> list[tuple[str, str, str]]:
    return [(meter, (start + timedelta(minutes=15 * i)).isoformat(), f"{kwh}") for i in range(count)]


def test_problems_are_reported_per_meter_and_kept_out(tmp_path: Path) -> None:
    rows = _rows("A", 96 * 3)
    del rows[100:108]  # two hours missing
    rows.insert(50, rows[40])  # a repeated time, same value
    rows.insert(60, ("A", rows[59][1], "0.5"))  # a repeated time, another value
    rows[200] = ("A", rows[200][1], "-0.2")
    rows[210] = ("A", rows[210][1], "90000")  # 360 MW for a quarter hour
    rows.append(("A", (START + timedelta(minutes=7)).isoformat(), "0.1"))  # off the interval, out of order
    rows += _rows("B", 96)
    read = read_meters(_csv(tmp_path / "m.csv", rows))
    kinds = {(i.meter, i.kind): i for i in read.issues}
    assert set(kinds) == {
        ("A", "gap"),
        ("A", "duplicate"),
        ("A", "negative"),
        ("A", "absurd"),
        ("A", "clock_jump"),
    }
    assert kinds[("A", "gap")].count == 8 and "2 h" in kinds[("A", "gap")].detail
    assert "1 with a different value: the first reading kept" in kinds[("A", "duplicate")].detail
    assert read.interval_s == {"A": 900, "B": 900}
    a = read.series.filter(read.series["meter_id"].to_numpy(zero_copy_only=False) == "A")
    kwh = a["kwh"].to_numpy(zero_copy_only=False)
    assert np.isnan(kwh).sum() == 2, "the negative and the absurd reading are left out, not averaged"
    assert len(kwh) == 96 * 3 - 8
    # Meter B had nothing wrong.
    assert not [i for i in read.issues if i.meter == "B"]


def test_bad_files_say_what_is_wrong(tmp_path: Path) -> None:
    wh = _csv(tmp_path / "wh.csv", _rows("A", 96, kwh=120_000.0 / 4))  # 120 MW "kWh": it is Wh of a big site
    with pytest.raises(MeterFileError, match=r"wh.csv: the kwh column reads like Wh.*--unit wh"):
        read_meters(wh)
    assert read_meters(wh, unit="wh").series.num_rows == 96
    # With the registry's sizes, a household's Wh is caught too.
    small = _csv(tmp_path / "house.csv", _rows("H1", 96, kwh=150.0))
    with pytest.raises(MeterFileError, match="twice their capacity.*meter H1"):
        read_meters(small, capacity_kw={"H1": 10.0})
    with pytest.raises(MeterFileError, match="no time column"):
        read_meters(_csv(tmp_path / "t.csv", [("A", "x", "1")], header="meter_id,when,kwh"))
    with pytest.raises(MeterFileError, match=r"t2.csv, row 3: time 'yesterday'"):
        read_meters(_csv(tmp_path / "t2.csv", [("A", START.isoformat(), "1"), ("A", "yesterday", "1")]))
    with pytest.raises(MeterFileError, match="not numeric"):
        read_meters(_csv(tmp_path / "n.csv", [("A", START.isoformat(), "lots")]))
    missing = tmp_path / "absent.csv"
    with pytest.raises(MeterFileError, match="absent.csv: cannot be read"):
        read_meters(missing)


def test_a_bad_file_in_a_batch_loses_nothing_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _csv(tmp_path / "good.csv", _rows("A", 96))
    bad = _csv(tmp_path / "bad.csv", _rows("B", 96, kwh=120_000.0 / 4))
    other = _csv(tmp_path / "other.csv", _rows("C", 96))
    store = tmp_path / "store"
    assert main(["meters", "import", str(good), str(bad), str(other), "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv: the kwh column reads like Wh" in err
    assert "good.csv: 1 meters, 96 readings" in err and "other.csv: 1 meters" in err
    assert sorted(p.name for p in (store / "meters" / "series").iterdir()) == [
        "good.parquet",
        "other.parquet",
    ]


def _write_meters(path: Path, normal: int, mining: int, seed: int) -> list[object]:
    meters, start = make_meters(normal, mining, seed=seed, days=240)
    first = start - timedelta(hours=8)  # the profiles are local time, UTC+8
    with path.open("w") as f:
        f.write("meter_id,timestamp,kwh\n")
        for m in meters:
            for i in range(0, len(m.kwh)):
                f.write(
                    f"{m.meter_id},{(first + timedelta(seconds=i * STEP_S)).isoformat()},{m.kwh[i]:.5f}\n"
                )
    return meters  # type: ignore[return-value]


def test_mining_on_standard_profiles_is_found_with_its_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meters = _write_meters(tmp_path / "series.csv", normal=12, mining=8, seed=11)
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "meter_id,site,organisation,business_type,region,region_code,networks,capacity_kw\n"
        + "".join(
            f"{m.meter_id},site-{m.meter_id},示例单位,{m.business_type},江苏省/无锡市/梁溪区,320213,,\n"
            for m in meters
        )  # type: ignore[attr-defined]
    )
    store = tmp_path / "store"
    assert main(["meters", "registry", str(registry), "--store", str(store)]) == 0
    assert main(["meters", "import", str(tmp_path / "series.csv"), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["meters", "detect", "--store", str(store), "--json"]) == 0
    rows = {
        r["meter"]: r for r in map(json.loads, capsys.readouterr().out.splitlines()) if r["type"] == "meter"
    }
    checked = 0
    for m in meters:
        row = rows[m.meter_id]  # type: ignore[attr-defined]
        if m.mining_kw and 240 - m.mining_from_day < 42:  # type: ignore[attr-defined]
            continue  # under six weeks of mining: not yet sure, by design
        if m.mining_kw:  # type: ignore[attr-defined]
            checked += 1
            assert row["suspect"], (m, row["reasons"])
            start = datetime.fromisoformat(row["start"]) + timedelta(hours=8)
            assert abs((start - datetime(2025, 1, 1, tzinfo=UTC)).days - m.mining_from_day) <= 2  # type: ignore[attr-defined]
            assert row["mining_kw"] == pytest.approx(m.mining_kw, rel=0.25)  # type: ignore[attr-defined]
            assert any(r["feature"] == "baseload_step_kw" and r["part"] > 0.5 for r in row["reasons"])
        else:
            # A plain meter is never flagged; one that gained a steady round-the-clock load
            # (a cold store) may be, and says why.
            assert not row["suspect"] or "cold store" in m.changes, (m, row["reasons"])  # type: ignore[attr-defined]
    assert checked >= 3


def test_meter_and_network_make_one_site_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real cpuminer capture's host (127.0.0.1) sits on a site whose meter shows two
    ASICs arriving: one finding with the network's and the meter's evidence, the energy
    measured by the meter and no more than the site draws."""
    store = tmp_path / "store"
    assert main(["import", str(REAL / "sv1_cpuminer_sha256d_t1.pcap"), "--store", str(store)]) == 0
    meters, start = make_meters(0, 40, seed=5, days=200)
    site_meter = next(m for m in meters if m.business_type == "household" and "ASIC" in m.rigs)
    first = start - timedelta(hours=8)
    series = tmp_path / "site.csv"
    with series.open("w") as f:
        f.write("meter_id,timestamp,kw\n")
        for i, e in enumerate(site_meter.kwh):
            f.write(f"S1,{(first + timedelta(seconds=i * STEP_S)).isoformat()},{e * 4:.5f}\n")
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "meter_id,site,organisation,business_type,region,region_code,networks,capacity_kw\n"
        "S1,某小区12栋,示例住户,household,江苏省/无锡市/梁溪区,320213,127.0.0.0/8 10.9.0.0/16,12\n"
    )
    assert main(["meters", "registry", str(registry), "--store", str(store)]) == 0
    assert main(["meters", "import", str(series), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["meters", "detect", "--store", str(store), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    [site] = [x for x in lines if x["type"] == "site"]
    assert site["hosts"] == ["127.0.0.1"] and site["meter"] == "S1"
    kinds = {e["kind"] for e in site["evidence"]}
    assert {"power", "dissector"} <= kinds
    # The meter measures the two ASICs' load; the network's CPU miner explains little of it.
    assert site["metered_kwh_day"] == pytest.approx(site_meter.mining_kw * 24, rel=0.25)
    assert "more than the network's hosts explain" in site["notes"][0]
    daily = [x for x in next(x for x in lines if x["type"] == "meter")["daily_kwh"] if x is not None]
    assert site["energy_kwh_day"]["high"] <= max(daily)
    assert site["energy_kwh_day"]["low"] <= site["energy_kwh_day"]["best"] <= site["energy_kwh_day"]["high"]
    assert site["hashrate"]["unit"] == "H/s" and site["hashrate"]["value"] > 0
    # The bulletin ranks the meters with their curves.
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "bulletin"), "--lang", "zh"]) == 0
    page = (tmp_path / "bulletin" / "bulletin.html").read_text()
    assert "电表挖矿可疑度排名" in page and "某小区12栋" in page and "<polyline" in page
    whole = json.loads((tmp_path / "bulletin" / "bulletin.json").read_text())
    assert [m["meter"] for m in whole["meters"]] == ["S1"] and whole["meters"][0]["suspect"]


def test_measured_load_profiles_are_not_taken_for_mining() -> None:
    """Normal meters on the load profiles SimBench derived from measurements (its data
    file, from the simbench package), with mining laid on some: plain meters stay clear,
    miners running six weeks or more are found, with their start day."""
    from minewatch.attribute.meters import MeterSite
    from minewatch.detect.power import THRESHOLD, assess

    meters, start = make_meters(150, 30, seed=3, source="simbench")
    first = int(start.timestamp()) - 8 * 3600
    found = missed = 0
    for m in meters:
        ts = first + np.arange(len(m.kwh), dtype=np.int64) * STEP_S
        site = MeterSite(m.meter_id, m.meter_id, "", m.business_type, (), None, (), None)
        a = assess(m.meter_id, ts, m.kwh, STEP_S, site)
        assert a is not None
        if not m.mining_kw:
            assert a.score < THRESHOLD or m.changes, (m.business_type, a.reasons)
        elif len(m.kwh) // 96 - (m.mining_from_day or 0) >= 42:
            if a.score >= THRESHOLD:
                found += 1
                assert a.start is not None
                assert (
                    abs(round((a.start - start).total_seconds() / 86400 + 8 / 24) - (m.mining_from_day or 0))
                    <= 3
                )
            else:
                missed += 1
    assert found >= 0.85 * (found + missed), (found, missed)


def test_phase_currents_and_a_chosen_period(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two ASICs on one phase unbalance a three-phase site; `--since/--until` scores the
    chosen period only."""
    meters, start = make_meters(0, 12, seed=9, days=150)
    m = next(x for x in meters if x.business_type == "commercial" and x.mining_kw and x.mining_from_day < 90)
    first = start - timedelta(hours=8)
    rng = np.random.default_rng(1)
    path = tmp_path / "phases.csv"
    with path.open("w") as f:
        f.write("meter_id,timestamp,kwh,phase_a,phase_b,phase_c\n")
        for i, e in enumerate(m.kwh):
            base = (e - (m.mining_kw * STEP_S / 3600 if i >= m.mining_from_day * 96 else 0)) * 4 / 3 / 0.23
            extra = m.mining_kw / 0.23 if i >= m.mining_from_day * 96 else 0.0
            a, b, c = (base * rng.uniform(0.9, 1.1) for _ in range(3))
            when = (first + timedelta(seconds=i * STEP_S)).isoformat()
            f.write(f"P1,{when},{e:.5f},{a + extra:.2f},{b:.2f},{c:.2f}\n")
    store = tmp_path / "store"
    assert main(["meters", "import", str(path), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["meters", "detect", "--store", str(store), "--json"]) == 0
    [row] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    phase = next(r for r in row["reasons"] if r["feature"] == "phase_imbalance")
    assert phase["value"] > 0.5 and phase["part"] > 0.9
    # Only the weeks before the mining: nothing to see.
    until = (start + timedelta(days=m.mining_from_day - 1)).isoformat()
    assert main(["meters", "detect", "--store", str(store), "--json", "--until", until]) == 0
    [before] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert before["period_end"] <= until.replace("+00:00", "Z") and before["score"] < 0.6
