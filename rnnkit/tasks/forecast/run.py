"""Save a forecasting run to its folder; evaluate it again or forecast ahead from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data import DataError
from rnnkit.tasks.forecast.baselines import naive_forecast, seasonal_naive_forecast
from rnnkit.tasks.forecast.config import ForecastConfig
from rnnkit.tasks.forecast.pipeline import (
    CALENDAR_COLUMNS,
    ForecastProblem,
    ForecastResult,
    load_forecast_series,
    model_forecast,
    prepare_forecast,
    score_forecasts,
)
from rnnkit.tasks.forecast.plots import plot_forecast
from rnnkit.tasks.plots import plot_history
from rnnkit.tasks.runs import RunFolder, finish_run, start_run
from rnnkit.tasks.scaling import Standardizer

__all__ = ["evaluate_forecast_run", "forecast_frame", "predict_forecast_run", "save_forecast_run"]


def forecast_frame(problem: ForecastProblem, origins: np.ndarray, forecast: np.ndarray) -> pd.DataFrame:
    """One row per (window, step): time, actual, model, naive, seasonal_naive."""
    H = problem.horizon
    steps = np.arange(1, H + 1)
    rows = origins[:, None] + steps[None, :]  # (N, H)
    y = problem.target_values
    table = {"origin": np.repeat(np.asarray(problem.series.frame.index)[origins], H),
             "step": np.tile(steps, len(origins)), "time": np.asarray(problem.series.frame.index)[rows].ravel(),
             "actual": y[rows].ravel(), "model": forecast.ravel(),
             "naive": naive_forecast(y, origins, horizon=H).ravel()}
    seasonal = seasonal_naive_forecast(y, origins, horizon=H, season=problem.season)
    if seasonal is not None:
        table["seasonal_naive"] = seasonal.ravel()
    return pd.DataFrame(table)


def _plot(folder: Path, problem: ForecastProblem, frame: pd.DataFrame, metrics: dict[str, Any], name: str) -> None:
    first = frame[frame["step"] == 1]
    methods = {m: first[m].to_numpy() for m in ("model", "naive", "seasonal_naive") if m in first}
    mase = {m: metrics[m]["mase"] for m in methods if metrics.get(m)}
    title = f"{problem.series.name}: {problem.target} on the test span (1 step ahead shown)  |  MASE " + \
        ", ".join(f"{m.replace('_', '-')} {v:.3f}" for m, v in mase.items())
    plot_forecast(folder / name, times=first["time"].to_numpy(), actual=first["actual"].to_numpy(),
                  forecasts=methods, target=problem.target, title=title)


def save_forecast_run(result: ForecastResult, out: str | Path | None = None, *, folder: Path | None = None) -> Path:
    """Write the run's results into `folder` (one `start_run` made before training), or into a new
    run folder under `out`; returns the folder."""
    problem = result.problem
    if folder is None:
        if out is None:
            raise TypeError("save_forecast_run: pass out= (a folder for run folders) or folder= (a started run)")
        folder = start_run(out, task="forecast", config=result.config)
    state = {"data_source": problem.series.source, "target": problem.target,
             "input_columns": list(problem.input_columns), "season": problem.season,
             "scaler": problem.scaler.to_dict(), "lookback": problem.lookback, "horizon": problem.horizon,
             "rows": {"train": problem.spans.train_stop, "val": problem.spans.val_stop - problem.spans.train_stop,
                      "test": problem.spans.length - problem.spans.val_stop},
             "notes": result.notes}
    metrics = {**result.metrics, "notes": result.notes, "epochs_run": len(result.history.get("loss", []))}
    finish_run(folder, task="forecast", config=result.config, state=state, metrics=metrics, model=result.model)
    frame = forecast_frame(problem, result.test_origins, result.test_forecast)
    frame.to_csv(folder / "test_forecast.csv", index=False)
    _plot(folder, problem, frame, result.metrics["test"], "forecast.png")
    if result.history.get("loss"):
        plot_history(folder / "loss.png", result.history)
    return folder


def _problem_for_run(run: RunFolder, data: str | None) -> ForecastProblem:
    """The run's problem on its own data (or on `data`), scaled with the run's saved scaler."""
    config: ForecastConfig = run.config
    saved = list(run.state["input_columns"])
    derived = [c for c in saved if c in CALENDAR_COLUMNS]
    if data is not None:  # the model fixes the columns, whatever the data's own defaults
        features = tuple(c for c in saved if c not in derived)
        config = dataclasses.replace(config, data=data, target=run.state["target"], features=features)
    series = load_forecast_series(config)
    missing = [c for c in saved if c not in derived and c not in series.frame.columns]
    if missing:
        raise DataError(f"{series.name} lacks column {missing[0]!r} that this model reads; its columns are: "
                        f"{', '.join(series.columns)}")
    if derived and not isinstance(series.frame.index, pd.DatetimeIndex):
        raise DataError("this model reads calendar inputs; give the data's date column with --time-column")
    problem = prepare_forecast(config, series)
    if list(problem.input_columns) != saved:
        raise DataError(f"{series.name}: the model reads columns {saved}; this data gives {list(problem.input_columns)}")
    return dataclasses.replace(problem, scaler=Standardizer.from_dict(run.state["scaler"]))


def evaluate_forecast_run(run: RunFolder, *, data: str | None = None) -> tuple[dict[str, Any], list[str], pd.DataFrame]:
    """Test-span metrics of the saved model beside the baselines (the run's own split of `data`)."""
    problem = _problem_for_run(run, data)
    model = run.model()
    origins = problem.origins("test")
    forecast = model_forecast(problem, model, origins)
    scores, notes = score_forecasts(problem, origins, forecast)
    return scores, notes, forecast_frame(problem, origins, forecast)


def predict_forecast_run(run: RunFolder, *, data: str | None = None) -> pd.DataFrame:
    """Forecast the `horizon` steps after the last row of the data, from its last `lookback` rows."""
    config: ForecastConfig = run.config
    problem = _problem_for_run(run, data)
    origin = np.array([len(problem.inputs) - 1])
    forecast = model_forecast(problem, run.model(), origin)[0]  # (H,)
    index = problem.series.frame.index
    steps = np.arange(1, config.horizon + 1)
    frame = pd.DataFrame({"step": steps, problem.target: forecast})
    if isinstance(index, pd.DatetimeIndex) and len(index) >= 3:
        gaps = np.diff(index[-min(len(index), 10):].to_numpy())
        if (gaps == gaps[-1]).all():  # regular steps: date the forecasts
            frame.insert(1, str(index.name or "time"), index[-1] + gaps[-1] * steps)
    frame.insert(0, "origin", index[-1])
    return frame
