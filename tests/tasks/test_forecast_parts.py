"""Windows, split, scaling, metrics and baselines checked against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

from rnnkit.data import DataError
from rnnkit.tasks.forecast.baselines import naive_forecast, seasonal_naive_forecast
from rnnkit.tasks.forecast.metrics import forecast_metrics, mase_scale, smape
from rnnkit.tasks.scaling import Standardizer
from rnnkit.tasks.forecast.windows import (
    check_window_sizes,
    make_windows,
    split_spans,
    window_origins,
)


def test_windows_match_a_plain_loop():
    rng = np.random.default_rng(0)
    inputs, targets = rng.normal(size=(50, 3)), rng.normal(size=50)
    origins = np.array([4, 10, 45])
    x, y = make_windows(inputs, targets, origins, lookback=5, horizon=3)
    assert x.shape == (3, 5, 3) and y.shape == (3, 3)
    for n, t in enumerate(origins):
        np.testing.assert_allclose(x[n], inputs[t - 4 : t + 1], rtol=1e-6)
        np.testing.assert_allclose(y[n], targets[t + 1 : t + 4], rtol=1e-6)


def test_split_is_chronological_and_targets_never_cross_spans():
    spans = split_spans(200, val_fraction=0.15, test_fraction=0.15)
    assert (spans.train_stop, spans.val_stop) == (140, 170)
    seen = set()
    for split in ("train", "val", "test"):
        start, stop = spans.span(split)
        origins = window_origins(spans, split, lookback=10, horizon=4)
        targets = (origins[:, None] + np.arange(1, 5)[None, :]).ravel()
        assert targets.min() >= start and targets.max() < stop
        assert not seen & set(targets.tolist())
        seen |= set(targets.tolist())
    assert window_origins(spans, "train", lookback=10, horizon=4)[0] == 9


def test_lookback_longer_than_series_is_a_clear_error():
    with pytest.raises(DataError, match="lookback=100 \\+ horizon=1 is longer than the series s \\(50 rows\\)"):
        check_window_sizes(50, lookback=100, horizon=1, train_rows=35, source="s")
    with pytest.raises(DataError, match="training span"):
        check_window_sizes(50, lookback=40, horizon=1, train_rows=35, source="s")


def test_scaler_uses_only_the_rows_it_is_given():
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = Standardizer.fit(train)
    np.testing.assert_allclose(scaler.mean, [2.0, 5.0])
    np.testing.assert_allclose(scaler.std, [1.0, 1.0])  # constant column -> std 1
    values = np.array([[10.0, 7.0]])
    np.testing.assert_allclose(scaler.inverse(scaler.transform(values)), values)
    assert Standardizer.from_dict(scaler.to_dict()).to_dict() == scaler.to_dict()


def test_metrics_agree_with_sklearn_and_definitions():
    rng = np.random.default_rng(1)
    actual, predicted = rng.normal(10, 2, size=(40, 3)), rng.normal(10, 2, size=(40, 3))
    scale = mase_scale(rng.normal(size=100))
    scores = forecast_metrics(actual, predicted, scale=scale)
    assert scores["mae"] == pytest.approx(mean_absolute_error(actual.ravel(), predicted.ravel()))
    assert scores["rmse"] == pytest.approx(np.sqrt(mean_squared_error(actual.ravel(), predicted.ravel())))
    assert scores["mase"] == pytest.approx(scores["mae"] / scale)
    expected_smape = 100 * np.mean(2 * np.abs(actual - predicted) / (np.abs(actual) + np.abs(predicted)))
    assert scores["smape"] == pytest.approx(expected_smape)
    assert smape(np.zeros(3), np.zeros(3)) == 0.0
    assert mase_scale(np.array([1.0, 3.0, 2.0])) == pytest.approx(1.5)


def test_baselines():
    target = np.arange(30.0)
    origins = np.array([12, 20])
    np.testing.assert_array_equal(naive_forecast(target, origins, horizon=2), [[12, 12], [20, 20]])
    seasonal = seasonal_naive_forecast(target, origins, horizon=5, season=4)
    np.testing.assert_array_equal(seasonal[0], [9, 10, 11, 12, 9])  # y[t+k-4*ceil(k/4)]
    assert seasonal_naive_forecast(target, origins, horizon=1, season=20) is None  # not enough history
