"""The bulletin's map-like chart of cities (report/citymap.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from minewatch.report.citymap import city_map_svg, seat

SVG = "{http://www.w3.org/2000/svg}"
JIANGSU = [
    ("南京市", "320100", 40),
    ("苏州市", "320500", 160),
    ("徐州市", "320300", 10),
    ("无锡市", "320200", 0),
]


def _circles(svg: str) -> dict[str, ET.Element]:
    """Circle of each city, by the name its label gives (title is 'name: n ...')."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    out = {}
    for g in root.iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        circle = g.find(f"{SVG}circle")
        assert title is not None and circle is not None and title.text
        out[title.text.rsplit(":", 1)[0]] = circle
    return out


def _xy(c: ET.Element) -> tuple[float, float]:
    return float(c.attrib["cx"]), float(c.attrib["cy"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_one_circle_per_city_at_its_place(lang: str) -> None:
    circles = _circles(city_map_svg(JIANGSU, lang))
    assert set(circles) == {name for name, _, _ in JIANGSU}
    nanjing, suzhou, xuzhou = (_xy(circles[n]) for n in ("南京市", "苏州市", "徐州市"))
    assert nanjing[0] < suzhou[0]  # Nanjing lies west of Suzhou
    assert xuzhou[1] < nanjing[1]  # and Xuzhou north of both (SVG y grows downwards)
    radius = {n: float(c.attrib["r"]) for n, c in circles.items()}
    assert radius["苏州市"] > radius["南京市"] > radius["徐州市"] > radius["无锡市"] > 0


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ('<script>alert("x")</script>', "320100"),
        ("A & B 市", None),
        ("Q'uote\"d", "999999"),
        ("Unknown code", "not-a-code"),
    ],
)
def test_names_are_escaped(name: str, code: str | None) -> None:
    svg = city_map_svg([(name, code, 3), ("南京市", "320100", 5)], "en")
    assert "<script>" not in svg
    circles = _circles(svg)  # parses: the name did not break the markup
    assert name in circles and len(circles) == 2
    labels = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert f"{name} 3" in labels


def test_unknown_places_go_below_the_map() -> None:
    svg = city_map_svg([("南京市", "320100", 5), ("Elsewhere", None, 2), ("Nowhere", "990100", 1)], "en")
    circles = _circles(svg)
    height = float(ET.fromstring(svg).attrib["height"])
    assert _xy(circles["Elsewhere"])[1] > _xy(circles["南京市"])[1]
    assert all(_xy(circles[n])[1] < height for n in circles)
    assert len({_xy(circles[n]) for n in ("Elsewhere", "Nowhere")}) == 2  # their own cells


@pytest.mark.parametrize(
    ("cities", "circles"),
    [([], 0), ([("南京市", "320100", 1)], 1), ([("苏州市", "320500000000", 4)], 1)],
)
def test_edge_cases(cities: list[tuple[str, str | None, int]], circles: int) -> None:
    svg = city_map_svg(cities, "zh")
    assert len(list(ET.fromstring(svg).iter(f"{SVG}circle"))) == circles


@pytest.mark.parametrize(
    ("code", "near"),
    [("320100", (118.8, 32.1)), ("320500000000", (120.6, 31.3)), ("320102", (118.8, 32.0)), (None, None)],
)
def test_seats(code: str | None, near: tuple[float, float] | None) -> None:
    found = seat(code)
    if near is None:
        assert found is None
    else:
        assert found == pytest.approx(near, abs=0.15)
