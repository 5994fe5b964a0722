"""Estimates for mining findings: coin and algorithm, hashrate with its interval, power,
energy and carbon, each with the evidence or method behind it (data tables in data/)."""

from minewatch.estimate.coins import CoinDecision, algorithm_info, decide_coin
from minewatch.estimate.measure import EstimateOptions, measure
from minewatch.estimate.power import DEFAULT_GRID, GridFactor

__all__ = [
    "DEFAULT_GRID",
    "CoinDecision",
    "EstimateOptions",
    "GridFactor",
    "algorithm_info",
    "decide_coin",
    "measure",
]
