"""A map-like chart of a province's cities as inline SVG, no network and no map tiles:
each city a circle at its seat's relative position, its area proportional to its mining
hosts, labelled with name and count. Seats come from cpca's division table
(resources/adcodes.csv: longitude and latitude of every division's seat, the same table
minewatch reads place names with). A city whose code the table does not know (or has no
code) goes to a row of its own below the map, so no host goes unshown."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from functools import cache
from html import escape
from importlib import resources

__all__ = ["city_map_svg", "seat"]

WIDTH, HEIGHT, MARGIN = 640, 420, 60
R_MIN, R_MAX = 4.0, 34.0
CELL_W, CELL_H = 160, 56  # the row of cities without a known seat
TEXT = {
    "en": {"hosts": "mining hosts", "unplaced": "Place unknown", "none": "No mining hosts with a place."},
    "zh": {"hosts": "个挖矿主机", "unplaced": "位置不明", "none": "没有可定位的挖矿主机。"},
}


@cache
def _seats() -> dict[str, tuple[float, float]]:
    """Six-digit division code -> (longitude, latitude) of its seat, in degrees."""
    out = {}
    ref = resources.files("cpca") / "resources" / "adcodes.csv"
    with ref.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["longitude"] and row["latitude"]:
                out[row["adcode"][:6]] = (float(row["longitude"]), float(row["latitude"]))
    return out


def seat(code: str | None) -> tuple[float, float] | None:
    """The (longitude, latitude) of a division's seat by its code (6 or 12 digits); None
    when unknown."""
    if not code or not code.strip().isdigit():
        return None
    return _seats().get(code.strip()[:6].ljust(6, "0"))


def _radius(hosts: int, top: int) -> float:
    # Area, not radius, follows the count: a city with 4x the hosts looks 4x as large.
    return R_MIN + (R_MAX - R_MIN) * math.sqrt(max(hosts, 0) / top) if top else R_MIN


def _project(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Longitude/latitude to SVG x/y in the map box, north up, equirectangular with
    longitude shrunk by cos(latitude) so a province keeps its shape."""
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    shrink = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = (max(lons) - min(lons)) * shrink or 1.0
    span_y = (max(lats) - min(lats)) or 1.0
    scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)
    off_x = (WIDTH - span_x * scale) / 2 if len(set(lons)) > 1 else WIDTH / 2
    off_y = (HEIGHT - span_y * scale) / 2 if len(set(lats)) > 1 else HEIGHT / 2
    return [
        (off_x + (lon - min(lons)) * shrink * scale, off_y + (max(lats) - lat) * scale) for lon, lat in points
    ]


def _city(name: str, hosts: int, x: float, y: float, r: float, unit: str) -> str:
    label = escape(name, quote=True)
    return (
        f'<g class="city"><title>{label}: {hosts} {escape(unit)}</title>'
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="#8fb3d9" fill-opacity="0.75" stroke="#2f5f8f"/>'
        f'<text x="{x:.1f}" y="{y + r + 13:.1f}" text-anchor="middle" font-size="12">'
        f"{label} {hosts}</text></g>"
    )


def city_map_svg(cities: Sequence[tuple[str, str | None, int]], lang: str = "en") -> str:
    """The chart as one `<svg>` element: `cities` are (name, division code or None, mining
    hosts); names are escaped (they come from the inventory, i.e. from users)."""
    t = TEXT.get(lang, TEXT["en"])
    rows = sorted(cities, key=lambda c: (-c[2], c[0]))  # the largest drawn first, small ones on top
    top = max((c[2] for c in rows), default=0)
    placed = [(c, s) for c in rows if (s := seat(c[1])) is not None]
    unplaced = [c for c in rows if seat(c[1]) is None]
    per_row = max(1, WIDTH // CELL_W)
    extra = (-(-len(unplaced) // per_row) * CELL_H + 24) if unplaced else 0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT + extra}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + extra}" role="img">'
    ]
    if not rows:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">{escape(t["none"])}</text>'
        )
    xy = _project([s for _, s in placed]) if placed else []
    for ((name, _, hosts), _), (x, y) in zip(placed, xy, strict=True):
        parts.append(_city(name, hosts, x, y, _radius(hosts, top), t["hosts"]))
    if unplaced:
        parts.append(f'<text x="8" y="{HEIGHT + 14}" font-size="12">{escape(t["unplaced"])}</text>')
    for i, (name, _, hosts) in enumerate(unplaced):
        x = CELL_W / 2 + (i % per_row) * CELL_W
        y = HEIGHT + 24 + (i // per_row) * CELL_H + CELL_H / 3
        parts.append(_city(name, hosts, x, y, min(_radius(hosts, top), CELL_H / 3), t["hosts"]))
    parts.append("</svg>")
    return "".join(parts)
