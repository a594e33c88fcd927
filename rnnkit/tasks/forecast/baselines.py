"""Naive and seasonal-naive forecasts: the bars any forecaster must clear.

For a window with origin t and horizon steps k = 1..H:
    naive:           ŷ_{t+k} = y_t
    seasonal naive:  ŷ_{t+k} = y_{t+k-m·ceil(k/m)}   (the last observed value one season earlier)
"""

from __future__ import annotations

import numpy as np

__all__ = ["BASELINES", "naive_forecast", "seasonal_naive_forecast"]

#: every baseline a forecast is scored beside, in table order (the classical two: forecast/classical.py)
BASELINES = ("naive", "seasonal_naive", "ridge", "ar_fourier")


def naive_forecast(target: np.ndarray, origins: np.ndarray, *, horizon: int) -> np.ndarray:
    """target: (N_rows,) in original units; returns (N, horizon)."""
    return np.repeat(target[origins][:, None], horizon, axis=1)


def seasonal_naive_forecast(target: np.ndarray, origins: np.ndarray, *, horizon: int,
                            season: int) -> np.ndarray | None:
    """(N, horizon), or None when some origin has less than one season of history."""
    steps = np.arange(1, horizon + 1)  # (H,)
    back = season * np.ceil(steps / season).astype(int)  # (H,)
    rows = origins[:, None] + steps[None, :] - back[None, :]  # (N, H)
    if rows.size == 0 or rows.min() < 0:
        return None
    return target[rows]
