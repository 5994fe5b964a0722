"""Coin, hashrate, power and energy models with their data tables."""

from minewatch.estimate.coins import Algorithm, algorithm_info

__all__ = ["Algorithm", "algorithm_info"]
