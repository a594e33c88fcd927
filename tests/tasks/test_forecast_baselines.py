"""The classical baselines against direct statsmodels / scikit-learn computations; seasonal MASE; the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from statsmodels.tsa.ar_model import AutoReg

from rnnkit.cli._output import forecast_table, verdict
from rnnkit.tasks import ForecastConfig, prepare_forecast
from rnnkit.tasks.forecast.classical import RIDGE_PENALTIES, AutoRegFourier, RidgeWindow, fourier_terms
from rnnkit.tasks.forecast.metrics import forecast_metrics, mase_scale
from rnnkit.tasks.forecast.pipeline import baseline_forecasts, fit_classical, forecast_windows, score_forecasts


def seasonal_series(n=400, period=12.0, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = np.zeros(n)
    for i in range(1, n):  # AR(1) errors around a seasonal mean
        noise[i] = 0.6 * noise[i - 1] + rng.normal()
    return 10 + 3 * np.sin(2 * np.pi * t / period) + np.cos(4 * np.pi * t / period) + noise


def test_ridge_matches_sklearn_and_picks_lambda_on_validation():
    rng = np.random.default_rng(0)
    x_train, x_val = rng.normal(size=(120, 5, 3)), rng.normal(size=(40, 5, 3))
    w_true = rng.normal(size=(15, 2))
    y_train = x_train.reshape(120, -1) @ w_true + rng.normal(size=(120, 2))
    y_val = x_val.reshape(40, -1) @ w_true + rng.normal(size=(40, 2))
    fitted = RidgeWindow.fit(x_train, y_train, (x_val, y_val))
    errors = {}
    for lam in RIDGE_PENALTIES:
        direct = Ridge(alpha=lam).fit(x_train.reshape(120, -1), y_train)  # intercept not penalised
        errors[lam] = np.mean((direct.predict(x_val.reshape(40, -1)) - y_val) ** 2)
    assert fitted.penalty == min(errors, key=errors.get)
    direct = Ridge(alpha=fitted.penalty).fit(x_train.reshape(120, -1), y_train)
    np.testing.assert_allclose(fitted.predict(x_val), direct.predict(x_val.reshape(40, -1)), rtol=1e-8, atol=1e-10)
    assert RidgeWindow.from_dict(fitted.to_dict()).penalty == fitted.penalty


@pytest.mark.parametrize("difference", [False, True])
def test_autoreg_fourier_matches_statsmodels(difference):
    y = seasonal_series()
    y = np.cumsum(y - 10) if difference else y
    t = np.arange(len(y), dtype=np.float64)
    fitted = AutoRegFourier.fit(y[:300], t[:300], max_lags=6, period=12.0, difference=difference)
    z, tz = (np.diff(y[:300]), t[1:300]) if difference else (y[:300], t[:300])
    # the order: least AIC over p <= 6, K <= 3 on one common sample, as statsmodels computes it
    aics = {(p, K): AutoReg(z, lags=p, trend="c", exog=fourier_terms(tz, period=12.0, harmonics=K) if K else None,
                            hold_back=6).fit().aic for p in range(1, 7) for K in range(4)}
    assert (fitted.lags, fitted.harmonics) == min(aics, key=aics.get)
    exog = fourier_terms(tz, period=12.0, harmonics=fitted.harmonics) if fitted.harmonics else None
    reference = AutoReg(z, lags=fitted.lags, trend="c", exog=exog).fit()
    np.testing.assert_allclose(fitted.params, reference.params, rtol=1e-8)
    # each window's forecast: statsmodels' out-of-sample forecast from that origin with fixed parameters
    H = 4
    origins = np.array([310, 333, 390])
    ours = fitted.forecast(y, t, origins, horizon=H)
    for n, o in enumerate(origins):
        zo, to = (np.diff(y[: o + 1]), t[1 : o + 1]) if difference else (y[: o + 1], t[: o + 1])
        K = fitted.harmonics
        model = AutoReg(zo, lags=fitted.lags, trend="c",
                        exog=fourier_terms(to, period=12.0, harmonics=K) if K else None)
        future = fourier_terms(t[o + 1 : o + 1 + H], period=12.0, harmonics=K) if K else None
        direct = model.predict(fitted.params, start=len(zo), end=len(zo) + H - 1, exog_oos=future)
        direct = y[o] + np.cumsum(direct) if difference else direct
        np.testing.assert_allclose(ours[n], direct, rtol=1e-9)


def test_classical_baselines_in_the_pipeline_fit_on_training_rows_only(tmp_path):
    y = seasonal_series(n=300)
    path = tmp_path / "monthly.csv"
    months = pd.date_range("1990-01-01", periods=300, freq="MS")
    pd.DataFrame({"month": months.strftime("%Y-%m-%d"), "y": y}).to_csv(path, index=False)
    config = ForecastConfig(data=str(path), target="y", time_column="month", lookback=12, horizon=2)
    problem = prepare_forecast(config)
    classical = fit_classical(problem)
    changed = problem.inputs.copy()
    changed[problem.spans.train_stop :, 0] += 100.0  # later rows must not move the fit
    again = fit_classical(type(problem)(**{**problem.__dict__, "inputs": changed}))
    np.testing.assert_allclose(again.ar_fourier.params, classical.ar_fourier.params)
    x_train, y_train = forecast_windows(problem, problem.origins("train"))
    assert classical.ridge.weights.shape == (12 * len(problem.input_columns) + 1, 2)
    test = problem.origins("test")
    forecasts, labels, missing = baseline_forecasts(problem, test, classical)
    assert set(forecasts) == {"naive", "seasonal_naive", "ridge", "ar_fourier"} and not missing
    assert labels["ar_fourier"].startswith(f"AR({classical.ar_fourier.lags})")
    scores, _ = score_forecasts(problem, test, forecasts["naive"], classical=classical)
    assert scores["ar_fourier"]["mase"] < scores["naive"]["mase"]  # a seasonal series: AR + Fourier helps


def test_seasonal_mase_uses_the_seasonal_naive_in_sample_error():
    rng = np.random.default_rng(2)
    train = rng.normal(size=100)
    actual, predicted = rng.normal(size=(20, 2)), rng.normal(size=(20, 2))
    scale_m = np.mean(np.abs(train[7:] - train[:-7]))
    assert mase_scale(train, lag=7) == pytest.approx(scale_m)
    scores = forecast_metrics(actual, predicted, scale=mase_scale(train), seasonal_scale=scale_m)
    assert scores["mase_seasonal"] == pytest.approx(np.mean(np.abs(actual - predicted)) / scale_m)
    assert "mase_seasonal" not in forecast_metrics(actual, predicted, scale=1.0)


def _scores(model: float, seasonal: float | None) -> dict:
    row = lambda m: {"mae": m, "rmse": m, "smape": 1.0, "mase": m}  # noqa: E731
    scores = {"windows": 10, "model": row(model), "naive": row(1.0), "ridge": row(0.97),
              "ar_fourier": row(0.95), "seasonal_naive": row(seasonal) if seasonal else None,
              "labels": {"ar_fourier": "AR(2) + Fourier(m=12, K=1)"}, "unscored": {}, "mase_seasonal_lag": None}
    if seasonal is None:
        scores["unscored"]["seasonal_naive"] = "season unknown (pass --season)"
    return scores


def test_verdict_compares_with_the_best_baseline_and_names_a_missing_one():
    full = verdict(_scores(0.90, 1.2), model_name="LSTM")
    assert full.startswith("The LSTM beats every baseline: MASE 0.900 vs the best, AR(2) + Fourier(m=12, K=1), 0.950")
    assert "under 1%" not in full and "under 1%" in verdict(_scores(0.946, 1.2), model_name="LSTM")
    partial = verdict(_scores(0.90, None), model_name="LSTM")
    assert "every baseline" not in partial and "beats every scored baseline" in partial
    assert "not scored: seasonal naive (season unknown (pass --season))" in partial
    loses = verdict(_scores(0.96, 1.2), model_name="LSTM")
    assert loses.startswith("The LSTM does NOT beat the best baseline, AR(2) + Fourier(m=12, K=1) (MASE 0.960 vs 0.950)")
    table = forecast_table(_scores(0.90, None), model_name="LSTM")
    assert "seasonal naive" in table and "season unknown (pass --season)" in table
    assert "AR(2) + Fourier(m=12, K=1)" in table


def test_season_unknown_in_the_pipeline(tmp_path):
    path = tmp_path / "plain.csv"
    pd.DataFrame({"y": seasonal_series(n=200)}).to_csv(path, index=False)
    problem = prepare_forecast(ForecastConfig(data=str(path), target="y", lookback=6))
    scores, notes = score_forecasts(problem, problem.origins("test"), np.zeros((30, 1)) + 10)
    assert scores["seasonal_naive"] is None
    assert scores["unscored"]["seasonal_naive"] == "season unknown (pass --season)"
    assert scores["mase_seasonal_lag"] is None and "mase_seasonal" not in scores["naive"]
    with_season = prepare_forecast(ForecastConfig(data=str(path), target="y", lookback=6, season=12))
    scores, _ = score_forecasts(with_season, with_season.origins("test"), np.zeros((30, 1)) + 10)
    assert scores["seasonal_naive"] is not None and scores["mase_seasonal_lag"] == 12
    y = with_season.target_values
    expected = scores["model"]["mae"] / np.mean(np.abs(y[12 : with_season.spans.train_stop] -
                                                       y[: with_season.spans.train_stop - 12]))
    assert scores["model"]["mase_seasonal"] == pytest.approx(expected)


class _Zero:
    """A model that has learned nothing: every correction is 0."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon

    def predict(self, x, batch_size=256):
        return np.zeros((len(x), self.horizon), dtype=np.float32)


def test_the_model_corrects_its_base_forecast(tmp_path):
    import dataclasses

    from rnnkit.tasks.forecast.pipeline import base_forecast, model_forecast

    path = tmp_path / "monthly.csv"
    months = pd.date_range("1990-01-01", periods=300, freq="MS")
    pd.DataFrame({"month": months.strftime("%Y-%m-%d"), "y": seasonal_series(n=300)}).to_csv(path, index=False)
    problem = prepare_forecast(ForecastConfig(data=str(path), target="y", time_column="month", lookback=12, horizon=3))
    ar = fit_classical(problem).ar_fourier
    test = problem.origins("test")
    naive = model_forecast(problem, _Zero(3), test)  # model_base = "naive": the last value
    np.testing.assert_allclose(naive, np.repeat(problem.target_values[test][:, None], 3, axis=1))
    based = dataclasses.replace(problem, base_model=ar)
    t = np.arange(300, dtype=np.float64)  # monthly steps: month numbers since 1970, shifted
    t = t + (1990 - 1970) * 12
    np.testing.assert_allclose(model_forecast(based, _Zero(3), test), ar.forecast(problem.target_values, t, test,
                                                                                 horizon=3))
    _, y = forecast_windows(based, test)  # training targets: the scaled error of the base forecast
    actual = problem.target_values[test[:, None] + np.arange(1, 4)]
    np.testing.assert_allclose(y, (actual - base_forecast(based, test)) / problem.target_std, rtol=1e-5, atol=1e-6)
    last = np.array([299])  # past the end of the data: the base still forecasts (predict ahead)
    assert np.isfinite(base_forecast(based, last)).all()
