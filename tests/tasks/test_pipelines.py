"""Forecasting and classification pipelines end to end on real data, small and fast."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rnnkit.data import DataError, SequenceData
from rnnkit.tasks import (
    ClassifyConfig,
    ConfigError,
    ForecastConfig,
    prepare_forecast,
    train_forecaster,
)
from rnnkit.tasks.classify.pipeline import classification_report, train_classifier
from rnnkit.tasks.classify.run import (
    evaluate_classify_run,
    predict_classify_run,
    save_classify_run,
)
from rnnkit.tasks.config import config_from_dict, read_config
from rnnkit.tasks.forecast.run import (
    evaluate_forecast_run,
    predict_forecast_run,
    save_forecast_run,
)
from rnnkit.tasks.runs import open_run

SMALL = {"lookback": 7, "units": 8, "epochs": 2, "batch_size": 64, "patience": 0}


def test_scaler_is_fitted_on_the_training_rows_only():
    problem = prepare_forecast(ForecastConfig(**SMALL))
    train = problem.inputs[: problem.spans.train_stop]
    np.testing.assert_allclose(problem.scaler.mean, train.mean(axis=0))
    assert not np.allclose(problem.scaler.mean, problem.inputs.mean(axis=0))
    assert problem.input_columns == ("temp_max", "temp_min", "precipitation", "wind",
                                     "dow_sin", "dow_cos", "doy_sin", "doy_cos")


def test_forecast_run_is_reproducible_from_its_saved_config(tmp_path):
    result = train_forecaster(ForecastConfig(horizon=3, **SMALL))
    test = result.metrics["test"]
    assert {"windows", "model", "naive", "seasonal_naive", "ridge", "ar_fourier"} <= set(test)
    assert result.test_forecast.shape == (test["windows"], 3)
    folder = save_forecast_run(result, tmp_path)
    for name in ("config.toml", "run.json", "metrics.json", "model.rnnkit", "forecast.png", "test_forecast.csv"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "run.json").read_text())["seed"] == 0

    task, values = read_config(folder / "config.toml")
    again = train_forecaster(config_from_dict(ForecastConfig, values))
    assert task == "forecast" and again.metrics == result.metrics
    np.testing.assert_array_equal(again.test_forecast, result.test_forecast)

    run = open_run(folder, task="forecast")
    scores, _, frame = evaluate_forecast_run(run)
    assert scores["model"] == pytest.approx(test["model"])
    assert len(frame) == 3 * test["windows"]
    ahead = predict_forecast_run(run)
    assert ahead["step"].tolist() == [1, 2, 3]
    assert str(ahead["date"].iloc[0].date()) == "2016-01-01"


def test_wrong_task_folder_and_columns(tmp_path):
    folder = save_forecast_run(train_forecaster(ForecastConfig(**SMALL)), tmp_path)
    with pytest.raises(DataError, match="holds a forecast model, not a classify model"):
        open_run(folder, task="classify")
    with pytest.raises(DataError, match="is not an rnnkit run folder"):
        open_run(tmp_path)
    other = tmp_path / "other.csv"
    pd.DataFrame({"temp_max": np.arange(100.0)}).to_csv(other, index=False)
    with pytest.raises(DataError, match="column 'temp_min' is not in other.csv; its columns are: temp_max"):
        evaluate_forecast_run(open_run(folder), data=str(other))


def test_forecast_config_errors():
    with pytest.raises(DataError, match="lookback=5000"):
        prepare_forecast(ForecastConfig(lookback=5000))
    with pytest.raises(DataError, match="column 'rain' is not in seattle_weather; its columns are: temp_max"):
        prepare_forecast(ForecastConfig(target="rain"))
    with pytest.raises(ConfigError, match="unknown key 'epoch'"):
        config_from_dict(ForecastConfig, {"epoch": 3})
    with pytest.raises(ConfigError, match="ForecastConfig.units must be an integer; got '8'"):
        config_from_dict(ForecastConfig, {"units": "8"})


def test_forecast_on_a_user_csv(tmp_path):
    t = np.arange(300)
    frame = pd.DataFrame({"day": pd.date_range("2021-01-01", periods=300, freq="D"),
                          "load": 10 + np.sin(2 * np.pi * t / 7) + 0.01 * t, "temp": np.cos(t / 5.0)})
    path = tmp_path / "load.csv"
    frame.to_csv(path, index=False)
    config = ForecastConfig(data=str(path), target="load", features=("temp",), time_column="day", season=7, **SMALL)
    result = train_forecaster(config)
    assert result.problem.input_columns == ("load", "temp", "dow_sin", "dow_cos", "doy_sin", "doy_cos")
    assert result.metrics["test"]["seasonal_naive"]["mase"] < result.metrics["test"]["naive"]["mase"]


def _toy_sequences() -> SequenceData:
    """Two classes told apart by the sign of a ramp; lengths 3..12 differ within each class."""
    rng = np.random.default_rng(0)

    def make(n):
        xs, ys = [], []
        for i in range(n):
            label = i % 2
            length = 3 + i % 10
            ramp = np.linspace(0, 1, length) * (1 if label else -1)
            xs.append(np.stack([ramp, rng.normal(0, 0.1, length)], axis=1).astype(np.float32))
            ys.append(label)
        return xs, np.array(ys)

    train_x, train_y = make(60)
    test_x, test_y = make(20)
    return SequenceData(name="toy", train_sequences=train_x, train_labels=train_y, test_sequences=test_x,
                        test_labels=test_y, class_names=("down", "up"), channel_names=("ramp", "noise"),
                        source="generated")


def test_classifier_learns_variable_length_sequences_and_saves(tmp_path):
    data = _toy_sequences()
    config = ClassifyConfig(units=8, epochs=15, batch_size=8, learning_rate=0.02)
    result = train_classifier(config, data=data)
    assert result.metrics["test"]["accuracy"] >= 0.9
    assert result.metrics["test_lengths"] == {"min": 3, "max": 12}
    folder = save_classify_run(result, tmp_path)
    assert (folder / "confusion_matrix.png").is_file()
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved["test"]["per_class"].keys() == {"down", "up"}


def test_classification_report_matches_sklearn():
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(3)
    labels, predicted = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    report = classification_report(labels, predicted, ("a", "b", "c"))
    assert report["confusion_matrix"] == confusion_matrix(labels, predicted).tolist()
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, zero_division=0)
    for k, name in enumerate("abc"):
        assert report["per_class"][name]["precision"] == pytest.approx(precision[k])
        assert report["per_class"][name]["recall"] == pytest.approx(recall[k])
        assert report["per_class"][name]["f1"] == pytest.approx(f1[k])


def test_classify_run_on_bundled_vowels(tmp_path):
    pytest.importorskip("aeon")
    result = train_classifier(ClassifyConfig(units=8, epochs=1, batch_size=64))
    assert len(result.test_predictions) == 370
    folder = save_classify_run(result, tmp_path)
    run = open_run(folder)
    report, _ = evaluate_classify_run(run)
    assert report["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    frame = predict_classify_run(run)
    assert frame.columns[:4].tolist() == ["sequence", "length", "predicted", "actual"]
    assert frame["length"].max() == 29


def test_lengths_reach_the_recurrence_so_padding_changes_nothing():
    """A short sequence gets the same prediction alone and in a batch padded to a longer one."""
    data = _toy_sequences()
    result = train_classifier(ClassifyConfig(units=8, epochs=1, batch_size=8), data=data)
    short, long = data.test_sequences[0], data.test_sequences[9]  # lengths 3 and 12
    assert len(short) < len(long)
    alone = result.model.predict([short])
    padded = result.model.predict([short, long])
    np.testing.assert_allclose(padded[0], alone[0], rtol=1e-5, atol=1e-6)
