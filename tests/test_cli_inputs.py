"""Bad input: one clear line naming the file and the problem, exit status 1, every other
input still analysed. Usage errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from minewatch.cli.main import main
from tests.conftest import REAL

GOOD = REAL / "xmr_xmrig_rx0_tcp_t1.pcap"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]], str]:
    code = main(["scan", "--json", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    good = GOOD.read_bytes()
    (tmp / "empty.pcap").write_bytes(b"")
    (tmp / "text.pcap").write_text("this is not a capture\n")
    (tmp / "truncated.pcap").write_bytes(good[: len(good) // 2])
    (tmp / "short-header.pcap").write_bytes(good[:10])
    corrupt = bytearray(good)
    offset = 24
    for _ in range(30):  # the 31st packet record gets an absurd length
        offset += 16 + int.from_bytes(good[offset + 8 : offset + 12], "little")
    corrupt[offset + 8 : offset + 12] = b"\xff\xff\xff\x00"
    (tmp / "corrupt.pcap").write_bytes(bytes(corrupt))
    (tmp / "nocaps").mkdir()
    (tmp / "dangling.pcap").symlink_to(tmp / "gone.pcap")
    return {
        "empty": (tmp / "empty.pcap", "empty file"),
        "text": (tmp / "text.pcap", "not a pcap or pcapng file"),
        "short": (tmp / "short-header.pcap", "truncated pcap header"),
        "nodir": (tmp / "nocaps", "holds no .pcap"),
        "missing": (tmp / "missing.pcap", "no such file"),
        "dangling": (tmp / "dangling.pcap", "no such file"),
    }


def test_each_bad_input_named_and_rest_analysed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _bad_inputs(tmp_path)
    code, findings, err = run(capsys, str(GOOD), *(str(p) for p, _ in bad.values()))
    assert code == 1
    for path, reason in bad.values():
        lines = [ln for ln in err.splitlines() if str(path) in ln]
        assert len(lines) == 1 and reason in lines[0], (path, err)
    assert [f["activity"] for f in findings if f["host"] == "127.0.0.1"].count("mining") == 1


def test_truncated_and_corrupt_captures_keep_what_was_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _bad_inputs(tmp_path)
    for name, note in (("truncated.pcap", "truncated"), ("corrupt.pcap", "corrupt packet record")):
        code, findings, err = run(capsys, str(tmp_path / name))
        assert code == 0
        assert f"warning: {tmp_path / name}: {note}" in err
        assert any(f["activity"] == "mining" for f in findings), name


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan"]) == 2
    assert main(["scan", str(GOOD), "--idle-timeout", "abc"]) == 2
    assert "cannot parse --idle-timeout 'abc': expected seconds" in capsys.readouterr().err
    assert main(["scan", "--bogus"]) == 2


def test_missing_interface(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "-i", "nosuchif0", "--duration", "1"])
    assert code == 1
    assert "interface nosuchif0: interface 'nosuchif0' does not exist" in capsys.readouterr().err


def test_flows_parquet_has_mining_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "flows.parquet"
    code, _, _ = run(capsys, str(GOOD), "--flows", str(out))
    assert code == 0
    table = pq.read_table(out)
    rows = [r for r in table.to_pylist() if r["mining"] is not None]
    assert len(rows) == 1
    assert rows[0]["mining"]["protocol"] == "xmrig"
    assert rows[0]["mining"]["shares_accepted"] == 18
    assert rows[0]["source"] == str(GOOD)


def test_table_output_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(GOOD)]) == 0
    out = capsys.readouterr().out
    assert "mining" in out and "xmrig" in out and "127.0.0.1:3335" in out or "127.0.0.1" in out
