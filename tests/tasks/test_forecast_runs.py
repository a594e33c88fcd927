"""Forecast run folders: what run.json records, `evaluate --data` scoring the whole file, old runs, the plot."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli import main
from rnnkit.data import DataError
from rnnkit.tasks import ForecastConfig, train_forecaster
from rnnkit.tasks.forecast.plots import shown_steps
from rnnkit.tasks.forecast.run import evaluate_forecast_run, predict_forecast_run, save_forecast_run
from rnnkit.tasks.runs import open_run

TINY = {"lookback": 7, "units": 4, "epochs": 1, "batch_size": 64, "patience": 0}


def daily_csv(path, start="2021-01-01", days=300, drop=()):
    t = np.arange(days)
    frame = pd.DataFrame({"day": pd.date_range(start, periods=days, freq="D").strftime("%Y-%m-%d"),
                          "load": 10 + np.sin(2 * np.pi * t / 7) + np.random.default_rng(0).normal(0, 0.2, days)})
    frame.drop(index=list(drop)).to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    data = daily_csv(root / "load.csv", drop=(40, 41))
    config = ForecastConfig(data=data, target="load", time_column="day", horizon=3, **TINY)
    return save_forecast_run(train_forecaster(config), root), root


def test_run_json_records_time_axis_inputs_and_classical_fits(run_folder):
    folder, _ = run_folder
    state = json.loads((folder / "run.json").read_text())
    assert state["time"]["frequency"]["name"] == "daily" and state["season"] == 7
    assert state["time"]["missing_periods"] == 2 and state["time"]["first_missing"] == ["2021-02-10", "2021-02-11"]
    assert state["calendar_columns"] == ["dow_sin", "dow_cos", "doy_sin", "doy_cos"]
    assert state["relative_columns"] == [] and state["classical"]["ar_fourier"]["lags"] >= 1
    assert state["model_base"] == "ar_fourier"
    assert any(note.startswith("the model forecasts a correction to the AR(") for note in state["notes"])
    metrics = json.loads((folder / "metrics.json").read_text())["test"]
    assert {"ridge", "ar_fourier", "labels", "unscored"} <= set(metrics)
    assert metrics["mase_seasonal_lag"] == 7 and "mase_seasonal" in metrics["ar_fourier"]
    assert any("missing period" in note for note in state["notes"])
    frame = pd.read_csv(folder / "test_forecast.csv")
    assert {"naive", "seasonal_naive", "ridge", "ar_fourier"} <= set(frame.columns)


def test_evaluate_other_data_scores_the_whole_file_or_the_test_span(run_folder):
    folder, root = run_folder
    run = open_run(folder)
    own, notes, _ = evaluate_forecast_run(run)
    saved = json.loads((folder / "metrics.json").read_text())["test"]
    assert own["span"] == "test" and own["windows"] == saved["windows"]
    assert own["model"]["mase"] == pytest.approx(saved["model"]["mase"])
    assert own["ar_fourier"]["mase"] == pytest.approx(saved["ar_fourier"]["mase"])  # the saved fit, re-applied
    other = daily_csv(root / "other.csv", start="2023-05-01", days=120)
    whole, notes, frame = evaluate_forecast_run(run, data=other)
    assert whole["span"] == "all" and whole["windows"] == 120 - 7 - 3 + 1
    assert notes[0].startswith("scored: every complete window of other, targets 2023-05-08 .. 2023-08-28 (111 windows)")
    assert "MASE scaled by the one-step naive MAE of the whole series" in notes[0]
    assert len(frame) == 3 * 111
    test_only, notes, _ = evaluate_forecast_run(run, data=other, span="test")
    assert test_only["windows"] < whole["windows"] and notes[0].startswith("scored: the test span of other")
    with pytest.raises(DataError, match="span must be 'test' or 'all'"):
        evaluate_forecast_run(run, data=other, span="train")


def test_runs_saved_before_these_keys_still_evaluate(run_folder, tmp_path):
    folder, _ = run_folder
    state_path = folder / "run.json"
    original = state_path.read_text()
    try:
        state = json.loads(original)
        for key in ("relative_columns", "classical", "input_range", "calendar_columns", "time", "model_base"):
            state.pop(key)
        state_path.write_text(json.dumps(state))
        scores, _, _ = evaluate_forecast_run(open_run(folder))  # classical baselines refitted on the train span
        assert scores["ar_fourier"] is not None and scores["ridge"] is not None
    finally:
        state_path.write_text(original)


def test_predict_dates_the_next_periods(run_folder):
    folder, _ = run_folder
    ahead = predict_forecast_run(open_run(folder))
    assert [str(d.date()) for d in ahead["day"]] == ["2021-10-28", "2021-10-29", "2021-10-30"]


def test_plot_shows_every_step_or_says_which():
    assert shown_steps(3) == [1, 2, 3] and shown_steps(8) == list(range(1, 9))
    assert shown_steps(12) == [1, 6, 12]


def test_cli_prints_frequency_notes_and_the_classical_rows(tmp_path, capsys):
    data = daily_csv(tmp_path / "load.csv")
    code = main(["train", "--data", data, "--target", "load", "--time-column", "day", "--lookback", "7",
                 "--units", "4", "--epochs", "1", "--out", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0
    assert "time: daily; season: 7" in out and "note: calendar inputs (daily data): dow_sin" in out
    assert "ridge AR (λ=" in out and "AR(" in out and "MASE m=7" in out
    bad = main(["train", "--data", data, "--target", "load", "--time-column", "day", "--time-format", "%d/%m/%Y",
                "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert bad == 2 and "do not match --time-format '%d/%m/%Y'" in err and len(err.strip().splitlines()) == 1
