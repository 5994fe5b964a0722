"""Indicator lists: pool, web-miner and exchange domains and addresses."""

from minewatch.intel.indicators import (
    Category,
    Indicator,
    IndicatorSet,
    load_bundled,
    load_default,
    parse_indicator_file,
)

__all__ = ["Category", "Indicator", "IndicatorSet", "load_bundled", "load_default", "parse_indicator_file"]
