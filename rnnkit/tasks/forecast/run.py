"""Save a forecasting run to its folder; evaluate it again or forecast ahead from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data import DataError
from rnnkit.data.time_index import CALENDAR_COLUMNS
from rnnkit.tasks.forecast.classical import ClassicalBaselines
from rnnkit.tasks.forecast.config import ForecastConfig
from rnnkit.tasks.forecast.inputs import InputRange, out_of_range_note
from rnnkit.tasks.forecast.pipeline import (
    ForecastProblem,
    ForecastResult,
    baseline_forecasts,
    fit_classical,
    forecast_inputs,
    load_forecast_data,
    model_forecast,
    prepare_forecast,
    score_forecasts,
)
from rnnkit.tasks.forecast.plots import plot_forecast
from rnnkit.tasks.plots import plot_history
from rnnkit.tasks.runs import RunFolder, finish_run, start_run
from rnnkit.tasks.scaling import Standardizer

__all__ = ["evaluate_forecast_run", "forecast_frame", "predict_forecast_run", "save_forecast_run"]


def forecast_frame(problem: ForecastProblem, origins: np.ndarray, forecast: np.ndarray,
                   classical: ClassicalBaselines | None = None) -> pd.DataFrame:
    """One row per (window, step): origin, step, time, actual, model, and every baseline scored."""
    H = problem.horizon
    steps = np.arange(1, H + 1)
    rows = origins[:, None] + steps[None, :]  # (N, H)
    y = problem.target_values
    index = np.asarray(problem.series.frame.index)
    table = {"origin": np.repeat(index[origins], H), "step": np.tile(steps, len(origins)),
             "time": index[rows].ravel(), "actual": y[rows].ravel(), "model": forecast.ravel()}
    baselines, _, _ = baseline_forecasts(problem, origins, classical)
    table.update({name: values.ravel() for name, values in baselines.items()})
    return pd.DataFrame(table)


def _plot(folder: Path, problem: ForecastProblem, frame: pd.DataFrame, metrics: dict[str, Any], name: str) -> None:
    labels = {"model": "model", **metrics.get("labels", {})}
    labels = {m: f"{label}  MASE {metrics[m]['mase']:.3f}" for m, label in labels.items() if m in frame and metrics.get(m)}
    title = f"{problem.series.name}: {problem.target} on the test span"
    plot_forecast(folder / name, frame=frame, labels=labels, target=problem.target, title=title)


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
             "time": problem.time.to_dict(), "calendar_columns": list(problem.calendar),
             "relative_columns": list(problem.relative_columns),
             "model_base": "ar_fourier" if problem.base_model is not None else "naive",
             "classical": result.classical.to_dict() if result.classical else None,
             "input_range": result.input_range.to_dict() if result.input_range else None,
             "notes": result.notes}
    metrics = {**result.metrics, "notes": result.notes, "epochs_run": len(result.history.get("loss", []))}
    finish_run(folder, task="forecast", config=result.config, state=state, metrics=metrics, model=result.model)
    frame = forecast_frame(problem, result.test_origins, result.test_forecast, result.classical)
    frame.to_csv(folder / "test_forecast.csv", index=False)
    _plot(folder, problem, frame, result.metrics["test"], "forecast.png")
    if result.history.get("loss"):
        plot_history(folder / "loss.png", result.history)
    return folder


def _problem_for_run(run: RunFolder, data: str | None) -> ForecastProblem:
    """The run's problem on its own data (or on `data`), scaled with the run's saved scaler."""
    config: ForecastConfig = run.config
    saved = list(run.state["input_columns"])
    derived = tuple(c for c in saved if c in CALENDAR_COLUMNS)
    # the model fixes the columns, the season and how inputs are fed, whatever the data's own defaults
    config = dataclasses.replace(config, season=run.state.get("season"))
    if data is not None:
        features = tuple(c for c in saved if c not in derived)
        config = dataclasses.replace(config, data=data, target=run.state["target"], features=features)
    series, axis = load_forecast_data(config)
    missing = [c for c in saved if c not in derived and c not in series.frame.columns]
    if missing:
        raise DataError(f"{series.name} lacks column {missing[0]!r} that this model reads; its columns are: "
                        f"{', '.join(series.columns)}")
    if derived and not isinstance(series.frame.index, pd.DatetimeIndex):
        raise DataError("this model reads calendar inputs; give the data's date column with --time-column")
    needed = config.lookback + config.horizon
    if data is not None and len(series.frame) < needed:
        raise DataError(f"{series.name} has {len(series.frame)} rows; this model reads {config.lookback} steps "
                        f"(its lookback, fixed when it was trained) and forecasts {config.horizon}, so --data needs "
                        f"at least {needed} rows; give a longer file, or train a model with a shorter lookback "
                        f"(`rnnkit train --lookback ...`)")
    relative = tuple(run.state.get("relative_columns", ()))  # runs before --inputs fed every column absolute
    problem = prepare_forecast(config, series, axis=axis, calendar=derived, relative=relative)
    if run.state.get("model_base") == "ar_fourier":  # runs before model_base corrected the last value
        base = ClassicalBaselines.from_dict(run.state["classical"]).ar_fourier
        problem = dataclasses.replace(problem, base_model=base)
    if list(problem.input_columns) != saved:
        raise DataError(f"{series.name}: the model reads columns {saved}; this data gives {list(problem.input_columns)}")
    return dataclasses.replace(problem, scaler=Standardizer.from_dict(run.state["scaler"]))


def evaluate_forecast_run(run: RunFolder, *, data: str | None = None, span: str | None = None,
                          ) -> tuple[dict[str, Any], list[str], pd.DataFrame]:
    """Metrics of the saved model beside the baselines, the notes (the first says what was scored), the rows.

    span: "test" scores the test span of the run's split (the default on the run's own data: the
    other rows were trained or validated on); "all" scores every complete window (the default with
    other `data`), with MASE scaled by the naive error over the whole series.
    """
    span = span or ("test" if data is None else "all")
    if span not in ("test", "all"):
        raise DataError(f"span must be 'test' or 'all'; got {span!r}")
    problem = _problem_for_run(run, data)
    origins = problem.origins(span)
    if origins.size == 0:
        raise DataError(f"{problem.series.name} holds no complete window of lookback {problem.lookback} + "
                        f"horizon {problem.horizon} in its {span} span; give more rows")
    forecast = model_forecast(problem, run.model(), origins)
    classical = ClassicalBaselines.from_dict(run.state.get("classical")) or fit_classical(problem)
    rows = (0, problem.spans.length) if span == "all" else None
    scores, notes = score_forecasts(problem, origins, forecast, classical=classical, scale_rows=rows)
    first, last = int(origins[0]) + 1, int(origins[-1]) + problem.horizon
    index = problem.series.frame.index
    where = (f"every complete window of {problem.series.name}" if span == "all"
             else f"the test span of {problem.series.name} (the last {problem.spans.length - problem.spans.val_stop} "
                  f"rows of the run's split)")
    scale = "the whole series" if span == "all" else "its training span"
    notes.insert(0, f"scored: {where}, targets {_when(index[first])} .. {_when(index[last])} ({len(origins)} "
                    f"windows); MASE scaled by the one-step naive MAE of {scale}")
    if run.state.get("input_range"):
        note = out_of_range_note(InputRange.from_dict(run.state["input_range"]), forecast_inputs(problem, origins),
                                 problem.input_columns, span="scored", relative=problem.relative_columns)
        notes += [note] if note else []
    scores["span"] = span
    return scores, notes, forecast_frame(problem, origins, forecast, classical)


def _when(stamp: Any) -> str:
    return str(stamp.date()) if isinstance(stamp, pd.Timestamp) and stamp == stamp.normalize() else str(stamp)


def predict_forecast_run(run: RunFolder, *, data: str | None = None) -> pd.DataFrame:
    """Forecast the `horizon` steps after the last row of the data, from its last `lookback` rows."""
    config: ForecastConfig = run.config
    problem = _problem_for_run(run, data)
    origin = np.array([len(problem.inputs) - 1])
    forecast = model_forecast(problem, run.model(), origin)[0]  # (H,)
    index = problem.series.frame.index
    steps = np.arange(1, config.horizon + 1)
    frame = pd.DataFrame({"step": steps, problem.target: forecast})
    dates = _future_dates(index, problem.time.frequency, len(steps))
    if dates is not None:
        frame.insert(1, str(index.name or "time"), dates)
    frame.insert(0, "origin", index[-1])
    return frame


def _future_dates(index: pd.Index, frequency: Any, steps: int) -> pd.DatetimeIndex | None:
    """The dates of the next `steps` periods after the last row, when the series has a frequency."""
    if not isinstance(index, pd.DatetimeIndex) or frequency is None:
        return None
    last = index[-1]
    if frequency.name == "business-daily":
        return pd.DatetimeIndex([last + pd.offsets.BDay(k) for k in range(1, steps + 1)])
    if frequency.step is not None:
        return pd.DatetimeIndex([last + frequency.step * k for k in range(1, steps + 1)])
    if last.is_month_end:  # month ends stay month ends (Jan 31 -> Feb 28 -> Mar 31)
        return pd.DatetimeIndex([last + pd.offsets.MonthEnd(frequency.months * k) for k in range(1, steps + 1)])
    return pd.DatetimeIndex([last + pd.DateOffset(months=frequency.months * k) for k in range(1, steps + 1)])
