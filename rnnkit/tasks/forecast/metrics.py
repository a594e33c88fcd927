"""Forecast error metrics on arrays of actual and predicted values (any matching shape).

    MAE   = mean |y - ŷ|
    RMSE  = sqrt(mean (y - ŷ)^2)
    sMAPE = 100 · mean 2|y - ŷ| / (|y| + |ŷ|)        (terms with y = ŷ = 0 count as 0)
    MASE  = MAE / mean_t |y_t - y_{t-1}| over the training span   (Hyndman & Koehler 2006)
    MASE_m = MAE / mean_t |y_t - y_{t-m}| over the training span  (the seasonal scaling of the same paper)

All methods scored on one test span share the MASE scale, so MASE ranks them like MAE does;
MASE < 1 means better than the one-step naive forecast is in-sample, MASE_m < 1 better than the
seasonal-naive forecast (season m) is in-sample.
"""

from __future__ import annotations

import numpy as np

__all__ = ["forecast_metrics", "mae", "mase", "mase_scale", "rmse", "smape"]


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - predicted)))


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    numerator = 2.0 * np.abs(actual - predicted)
    denominator = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float64),
                      where=denominator > 0)
    return float(100.0 * np.mean(ratio))


def mase_scale(train_target: np.ndarray, lag: int = 1) -> float:
    """In-sample MAE of the (seasonal, lag m) naive forecast on the training span (the MASE denominator)."""
    y = np.asarray(train_target, dtype=np.float64)
    differences = np.abs(y[lag:] - y[:-lag])
    scale = float(differences.mean()) if differences.size else 0.0
    return scale if scale > 1e-12 else 1.0  # a constant training series: fall back to plain MAE


def mase(actual: np.ndarray, predicted: np.ndarray, *, scale: float) -> float:
    return mae(actual, predicted) / scale


def forecast_metrics(actual: np.ndarray, predicted: np.ndarray, *, scale: float,
                     seasonal_scale: float | None = None) -> dict[str, float]:
    """All four metrics (five with `seasonal_scale`: MASE_m), in original units, over every window and step."""
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if actual.shape != predicted.shape:
        raise ValueError(f"forecast_metrics: actual and predicted must have the same shape; "
                         f"got {actual.shape} and {predicted.shape}")
    scores = {"mae": mae(actual, predicted), "rmse": rmse(actual, predicted),
              "smape": smape(actual, predicted), "mase": mase(actual, predicted, scale=scale)}
    if seasonal_scale is not None:
        scores["mase_seasonal"] = mase(actual, predicted, scale=seasonal_scale)
    return scores
