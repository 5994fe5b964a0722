"""Trading traces from flows, in DuckDB SQL: each flow that names a trading site (its DNS
lookup, TLS SNI, HTTP Host, or an address a lookup of it gave: sites/names.py), matched
by the site's name or any name below it, grouped per host, UTC day and site.

The trading sites are the bundled (and updated) exchange list of minewatch.intel, and
the names `sites check` classed exchange or otc, when its results are given. A name
under two sites takes the longer (more specific) one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa

from minewatch.errors import InputError
from minewatch.intel.indicators import Category, IndicatorSet
from minewatch.model.traces import HOURS, TRACE_SCHEMA
from minewatch.sites.names import FlowSource, open_db, suffixes

__all__ = ["SESSION_GAP", "TradingSite", "compute_traces", "day_span", "sites_from_checks", "trading_sites"]

# Flows of a host to a site with no gap longer than this are one visit (a session); a
# trading page polls its prices every few seconds while open.
SESSION_GAP = timedelta(minutes=30)
_TRADING = ("exchange", "otc")


@dataclass(frozen=True)
class TradingSite:
    name: str
    category: str  # exchange or otc
    basis: str  # "intel: <source>" or "sites check"


def trading_sites(intel: IndicatorSet, checked: Iterable[TradingSite] = ()) -> tuple[TradingSite, ...]:
    """The exchange domains of `intel`, then the checked sites (which win on the same name)."""
    found = {
        i.value: TradingSite(i.value, "exchange", f"intel: {i.source}")
        for i in intel
        if i.category is Category.EXCHANGE and i.kind == "domain"
    }
    found.update({s.name: s for s in checked})
    return tuple(found.values())


def sites_from_checks(path: Path) -> list[TradingSite]:
    """The exchange and OTC sites of a `sites check --json` (or `sites candidates --check
    --json`) output file: each line's final URL's host, else its target."""
    import urllib.parse

    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InputError(str(path), e.strerror or str(e)) from e
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise InputError(f"{path}, line {number}", "not a JSON object of sites check") from None
        rows = row.get("candidates", [row]) if isinstance(row, dict) else []
        for r in rows:
            result = r.get("check", r)
            if result.get("class") in _TRADING:
                host = urllib.parse.urlsplit(result.get("url") or "").hostname or result.get("target", "")
                name = host.strip().rstrip(".").lower()
                if name:
                    out.append(TradingSite(name, result["class"], "sites check"))
    return out


def day_span(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    """[since, until) widened to whole UTC days: a day's traces are always of all of it."""
    start = datetime.combine(since.astimezone(UTC).date(), time(), UTC) if since else None
    end = None
    if until is not None:
        last = (until - timedelta(microseconds=1)).astimezone(UTC).date()
        end = datetime.combine(last + timedelta(days=1), time(), UTC)
    return start, end


def _hours_sql() -> str:
    return "[" + ", ".join(f"count(*) FILTER (WHERE hour(first_seen) = {h})" for h in range(HOURS)) + "]"


def compute_traces(
    source: FlowSource,
    sites: Iterable[TradingSite],
    since: datetime | None = None,
    until: datetime | None = None,
    memory_limit: str | None = None,
) -> pa.Table:
    """The traces (TRACE_SCHEMA) of the flows of `source` in whole UTC days around
    [since, until); the flows of a day before `since` count only for their own day."""
    start, end = day_span(since, until)
    site_list = list(sites)
    now = datetime.now(UTC)
    with open_db(source, start, end, memory_limit) as db:
        db.register(
            "sites_arrow",
            pa.table(
                {
                    "site": [s.name for s in site_list],
                    "category": [s.category for s in site_list],
                    "basis": [s.basis for s in site_list],
                },
                pa.schema([("site", pa.string()), ("category", pa.string()), ("basis", pa.string())]),
            ),
        )
        db.execute("CREATE TEMP TABLE trading_sites AS SELECT DISTINCT ON (site) * FROM sites_arrow")
        seen_as = ", ".join(
            f"CASE WHEN bit_or(how) & {bit} > 0 THEN '{name}' END"
            for name, bit in (("dns", 1), ("sni", 2), ("http", 4), ("resolved", 8))
        )
        gap = int(SESSION_GAP.total_seconds())
        where = f"first_seen >= TIMESTAMPTZ '{start.isoformat()}'" if start else "true"
        table = db.sql(
            f"WITH names AS (SELECT DISTINCT name FROM name_obs), "
            f"site_of AS (SELECT s.name, t.site, t.category, t.basis FROM ({suffixes('names')}) s "
            "JOIN trading_sites t ON t.site = s.suffix "
            "QUALIFY row_number() OVER (PARTITION BY s.name ORDER BY length(t.site) DESC) = 1), "
            "m AS (SELECT o.*, s.site, s.category, s.basis FROM name_obs o JOIN site_of s USING (name)), "
            "v AS (SELECT *, coalesce(epoch(first_seen) > max(epoch(last_seen)) "
            "OVER (PARTITION BY client_ip, site ORDER BY first_seen, last_seen "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) "
            f"+ {gap}, true) AS starts FROM m) "
            "SELECT client_ip AS host, first_seen::DATE AS day, site, any_value(category) AS category, "
            "any_value(basis) AS basis, list_slice(list(DISTINCT name ORDER BY name), 1, 10) AS names, "
            f"list_filter([{seen_as}], lambda x: x IS NOT NULL) AS seen_as, count(*) AS flows, "
            "sum(bytes) AS bytes, count(*) FILTER (WHERE starts) AS sessions, "
            f"min(first_seen) AS first_seen, max(last_seen) AS last_seen, {_hours_sql()} AS hours, "
            f"TIMESTAMPTZ '{now.isoformat()}' AS computed "
            f"FROM v WHERE {where} GROUP BY client_ip, day, site ORDER BY day, host, site"
        ).to_arrow_table()
    return table.cast(TRACE_SCHEMA)


def days_of(since: datetime | None, until: datetime | None, traces: pa.Table) -> list[date]:
    """The UTC days a computation over [since, until) covered (the traces' own days
    where a bound is missing)."""
    start, end = day_span(since, until)
    days = set(traces["day"].to_pylist())
    first = start.date() if start else min(days, default=None)
    last = (end - timedelta(days=1)).date() if end else max(days, default=None)
    if first is None or last is None:
        return sorted(days)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
