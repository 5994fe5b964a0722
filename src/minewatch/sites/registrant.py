"""Where a site's registrant is, when the page says: a site serving China shows its ICP
filing number in the footer ("粤ICP备12345678号-1"), and the number's first character is the
province where the registrant filed (data/icp_provinces.csv). That is the place whose
office can act on the site, wherever it is hosted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from minewatch.datafiles import table_rows

__all__ = ["IcpFiling", "icp_filing"]


@dataclass(frozen=True)
class IcpFiling:
    number: str  # as the page shows it, e.g. 京ICP备12345678号-1
    province_code: str  # the filing province's division code


@cache
def _provinces() -> dict[str, str]:
    return {r["abbreviation"]: r["code"] for r in table_rows("minewatch.sites", "icp_provinces.csv")}


@cache
def _pattern() -> re.Pattern[str]:
    first = "".join(_provinces())
    # 备 is a filing, 证 an operating licence; both carry the province. Up to 10 digits,
    # an optional 号 and site suffix ("-1").
    number = r"\s?ICP\s?([备证])\s?(\d{6,10})\s?号?(?:\s?-\s?(\d{1,3}))?"
    return re.compile(f"([{first}])" + number, re.IGNORECASE)


def icp_filing(text: str) -> IcpFiling | None:
    """The first ICP filing number in `text`, or None."""
    match = _pattern().search(text)
    if match is None:
        return None
    abbreviation, kind, digits, suffix = match.groups()
    number = f"{abbreviation}ICP{kind}{digits}号" + (f"-{suffix}" if suffix else "")
    return IcpFiling(number, _provinces()[abbreviation])
