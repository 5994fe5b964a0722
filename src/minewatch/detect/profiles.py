"""Standard load profiles (BDEW 2025, shipped by demandlib) as the shape of a week: the
mean power in each of the 168 hours of the week, scaled to mean 1. A declared business
is compared with its profile's shape."""

from __future__ import annotations

import functools
import warnings

import numpy as np

__all__ = ["week_shape"]


@functools.cache
def week_shape(profile: str, year: int) -> np.ndarray:
    """The profile's mean week (Monday 00:00 first), local time, mean 1."""
    import pandas as pd

    with warnings.catch_warnings():
        # demandlib 0.2 uses pandas arguments pandas 3.1 deprecates.
        warnings.simplefilter("ignore")
        from demandlib import bdew

        index = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="15min", inclusive="left")
        series = getattr(bdew, profile)(index)
        hourly = series.resample("1h").mean()
        week = hourly.groupby(hourly.index.dayofweek * 24 + hourly.index.hour).mean()
    shape = week.to_numpy(dtype=float)
    return shape / shape.mean()  # type: ignore[no-any-return]
