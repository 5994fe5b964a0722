"""Trading traces: which hosts reach exchange and OTC sites, how much and when
(model/traces.py for the value, store/traces.py for the dataset)."""

from minewatch.trading.traces import TradingSite, compute_traces, day_span, sites_from_checks, trading_sites

__all__ = ["TradingSite", "compute_traces", "day_span", "sites_from_checks", "trading_sites"]
