"""Every CSV minewatch writes is safe to open in a spreadsheet (issue 16, item 6): text
that starts with = + - @, tab or CR, from a pushed organisation name or a downloaded feed,
is written as text, not run as a formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from minewatch.csvsafe import safe_cell, safe_writer
from tests.service_fixtures import make_service, placed, sign_in

FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", FORMULAS, ids=range(len(FORMULAS)))
def test_formula_text_is_quoted_and_the_rest_kept(text: str) -> None:
    assert safe_cell(text) == "'" + text
    out = io.StringIO()
    safe_writer(out).writerow([text, -2, 1.5, "江苏 ok", None])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'" + text, "-2", "1.5", "江苏 ok", ""]


def test_the_consoles_csv_download_quotes_pushed_names(tmp_path: Path) -> None:
    service = make_service(tmp_path, f"sqlite:///{tmp_path / 'cases.sqlite'}", tick_s=None)
    findings = []
    for i, name in enumerate(FORMULAS):
        f = placed(f"10.40.0.{i + 1}", "320213")
        f["attribution"]["organisation"] = name
        findings.append(f)
    service.push(findings)
    client, _ = sign_in(service.app, "admin")
    r = client.get("/report?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(row["organisation"] for row in rows) == sorted("'" + name for name in FORMULAS)
    service.close()
