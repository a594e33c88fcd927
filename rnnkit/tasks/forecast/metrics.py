"""Forecast error metrics on arrays of actual and predicted values (any matching shape).

    MAE   = mean |y - ŷ|
    RMSE  = sqrt(mean (y - ŷ)^2)
    sMAPE = 100 · mean 2|y - ŷ| / (|y| + |ŷ|)        (terms with y = ŷ = 0 count as 0)
    MASE  = MAE / mean_t |y_t - y_{t-1}| over the training span   (Hyndman & Koehler 2006)

All methods scored on one test span share the MASE scale, so MASE ranks them like MAE does;
MASE < 1 means better than the one-step naive forecast is in-sample.
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


def mase_scale(train_target: np.ndarray) -> float:
    """In-sample MAE of the one-step naive forecast on the training span (the MASE denominator)."""
    differences = np.abs(np.diff(np.asarray(train_target, dtype=np.float64)))
    scale = float(differences.mean()) if differences.size else 0.0
    return scale if scale > 1e-12 else 1.0  # a constant training series: fall back to plain MAE


def mase(actual: np.ndarray, predicted: np.ndarray, *, scale: float) -> float:
    return mae(actual, predicted) / scale


def forecast_metrics(actual: np.ndarray, predicted: np.ndarray, *, scale: float) -> dict[str, float]:
    """All four metrics, in original units, over every window and horizon step."""
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if actual.shape != predicted.shape:
        raise ValueError(f"forecast_metrics: actual and predicted must have the same shape; "
                         f"got {actual.shape} and {predicted.shape}")
    return {"mae": mae(actual, predicted), "rmse": rmse(actual, predicted),
            "smape": smape(actual, predicted), "mase": mase(actual, predicted, scale=scale)}
