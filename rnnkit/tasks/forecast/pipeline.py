"""Forecasting pipeline: a series -> windows -> a recurrent model, always scored beside baselines.

    >>> from rnnkit.tasks import ForecastConfig, train_forecaster
    >>> result = train_forecaster(ForecastConfig(data="seattle_weather", epochs=40))
    >>> result.metrics["test"]["model"]["mase"], result.metrics["test"]["naive"]["mase"]

The model reads `lookback` steps of the scaled inputs (target first, then covariates, then
calendar sin/cos) and predicts a correction to a base forecast b over the next `horizon` steps,
in units of the target's training standard deviation:
    ŷ_{t+k} = b_{t+k|t} + std_y · f(x_{t-lookback+1..t})_k
b is the AR(p) + Fourier forecast from origin t (`model_base = "ar_fourier"`, the default; fitted on
the training span, see classical.py) or the last observed value y_t (`"naive"`). A model that learns
nothing therefore falls back to that baseline instead of to the mean; the table still scores the
baseline itself beside the model, so the model must add something to win.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data import DataError, TimeSeriesData, load_dataset, read_table
from rnnkit.data.table import load_series_and_axis
from rnnkit.data.time_index import (
    CALENDAR_COLUMNS,
    TimeAxis,
    calendar_columns,
    calendar_inputs,
    describe_time_axis,
)
from rnnkit.tasks import _model
from rnnkit.tasks.forecast.baselines import BASELINES, naive_forecast, seasonal_naive_forecast
from rnnkit.tasks.forecast.classical import AutoRegFourier, ClassicalBaselines, RidgeWindow, step_numbers
from rnnkit.tasks.forecast.config import ForecastConfig
from rnnkit.tasks.forecast.inputs import InputRange, choose_relative, out_of_range_note, relative_windows
from rnnkit.tasks.forecast.metrics import forecast_metrics, mase_scale
from rnnkit.tasks.scaling import Standardizer
from rnnkit.tasks.forecast.windows import (
    SplitSpans,
    check_window_sizes,
    input_windows,
    split_spans,
    window_origins,
)

__all__ = [
    "CALENDAR_COLUMNS",
    "ForecastProblem",
    "ForecastResult",
    "base_forecast",
    "baseline_forecasts",
    "fit_classical",
    "forecast_inputs",
    "forecast_windows",
    "load_forecast_data",
    "load_forecast_series",
    "model_forecast",
    "prepare_forecast",
    "score_forecasts",
    "train_forecaster",
]


@dataclass(frozen=True, kw_only=True)
class ForecastProblem:
    """A series made ready for one config: chosen columns, scaling fitted on the train span."""

    series: TimeSeriesData
    target: str
    input_columns: tuple[str, ...]  # target first
    inputs: np.ndarray  # (N_rows, I) unscaled, float64
    spans: SplitSpans
    scaler: Standardizer
    season: int | None  # None: unknown, so no seasonal-naive forecast
    lookback: int
    horizon: int
    time: TimeAxis = TimeAxis(kind="rows")
    calendar: tuple[str, ...] = ()  # the calendar columns among input_columns
    relative_columns: tuple[str, ...] = ()  # data columns fed window-relative (see forecast/inputs.py)
    base_model: AutoRegFourier | None = None  # the forecast the model corrects; None: the last value
    notes: tuple[str, ...] = ()  # how the time column was read and the inputs were chosen

    @property
    def target_values(self) -> np.ndarray:
        return self.inputs[:, 0]  # (N_rows,)

    @property
    def target_std(self) -> float:
        return float(self.scaler.std[0])

    @property
    def relative_mask(self) -> np.ndarray:
        return np.array([c in self.relative_columns for c in self.input_columns])  # (I,)

    def origins(self, split: str) -> np.ndarray:
        """Origins of the windows of one split, or of every complete window of the series ("all")."""
        if split == "all":
            return np.arange(self.lookback - 1, self.spans.length - self.horizon)
        return window_origins(self.spans, split, lookback=self.lookback, horizon=self.horizon)


@dataclass(kw_only=True)
class ForecastResult:
    config: ForecastConfig
    problem: ForecastProblem
    model: Any
    history: dict[str, list[float]]
    metrics: dict[str, Any]  # {"test": {"model": {...}, "naive": {...}, ..., "labels": ...}, "val": ...}
    test_origins: np.ndarray
    test_forecast: np.ndarray  # (N, horizon), original units
    notes: list[str] = field(default_factory=list)
    classical: ClassicalBaselines | None = None  # the fitted classical baselines (saved with the run)
    input_range: InputRange | None = None  # of the training windows' inputs (saved: evaluate warns against it)


def load_forecast_series(config: ForecastConfig) -> TimeSeriesData:
    """The bundled dataset named by `config.data`, or the user's file."""
    return load_forecast_data(config)[0]


def load_forecast_data(config: ForecastConfig) -> tuple[TimeSeriesData, TimeAxis]:
    """The series of `config.data` and what its time axis is (frequency, gaps, how it was read)."""
    if "." in config.data or "/" in config.data:
        target = config.target
        if target is None:
            columns = ", ".join(map(str, read_table(config.data).columns))  # also: a missing file fails here
            raise DataError(f"--target is required for a data file ({config.data}); name the column to forecast, "
                            f"one of: {columns}")
        return load_series_and_axis(config.data, target=target, features=config.features,
                                    time_column=config.time_column, time_format=config.time_format,
                                    fill=config.fill, season=config.season)
    series = load_dataset(config.data)
    if not isinstance(series, TimeSeriesData):
        raise DataError(f"dataset {config.data!r} is for sequence classification; use --task classify "
                        f"or a forecasting dataset (see `rnnkit datasets`)")
    return series, describe_time_axis(series.frame.index)


def _calendar_for(config: ForecastConfig, axis: TimeAxis, name: str) -> tuple[tuple[str, ...], str | None]:
    """The default calendar columns for the series' frequency, and a note saying which (or why none)."""
    if not config.calendar_features:
        return (), None
    columns = calendar_columns(axis.frequency)
    if columns:
        return columns, f"calendar inputs ({axis.frequency.name} data): {', '.join(columns)}"
    if axis.kind == "rows":
        return (), f"no calendar inputs: {name} has no dates (a CSV names its date column with --time-column)"
    if axis.frequency is not None:
        return (), f"no calendar inputs for {axis.frequency.name} data"
    return (), None  # positions or irregular times: the time axis' own note says so


def prepare_forecast(config: ForecastConfig, series: TimeSeriesData | None = None, *,
                     axis: TimeAxis | None = None, calendar: tuple[str, ...] | None = None,
                     relative: tuple[str, ...] | None = None) -> ForecastProblem:
    """Pick columns, split chronologically and fit the scaler on the training rows only.

    axis: what `series`' time index is (default: read from the index itself).
    calendar, relative: the calendar columns and window-relative columns to use (a saved run's);
    by default chosen from the series' frequency and from `config.inputs`.
    """
    if series is None:
        series, axis = load_forecast_data(config)
    elif axis is None:
        axis = describe_time_axis(series.frame.index)
    target = config.target or series.target
    features = config.features if config.features is not None else series.features
    for name, wanted in (("target", [target]), ("features", list(features))):
        missing = [c for c in wanted if c not in series.frame.columns]
        if missing:
            raise DataError(f"{name}: column {missing[0]!r} is not in {series.name}; its columns are: "
                            f"{', '.join(series.columns)}")
    columns = list(dict.fromkeys([target, *features]))
    frame = series.frame[columns]
    notes = list(axis.notes)
    if calendar is None:
        calendar, note = _calendar_for(config, axis, series.name)
        notes += [note] if note else []
    if calendar:
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise DataError(f"the model reads calendar inputs ({', '.join(calendar)}) but {series.name} has no "
                            f"dates; give its date column with --time-column")
        frame = frame.join(calendar_inputs(frame.index, calendar))
    spans = split_spans(len(frame), val_fraction=config.val_fraction, test_fraction=config.test_fraction)
    check_window_sizes(len(frame), lookback=config.lookback, horizon=config.horizon,
                       train_rows=spans.train_stop, source=series.name)
    inputs = frame.to_numpy(dtype=np.float64)
    scaler = Standardizer.fit(inputs[: spans.train_stop])
    for split in ("test",) if config.test_fraction > 0 else ():
        if window_origins(spans, split, lookback=config.lookback, horizon=config.horizon).size == 0:
            raise DataError(f"the {split} span of {series.name} holds no complete window of horizon "
                            f"{config.horizon}; use a larger --test-fraction or a shorter --horizon")
    season = config.season or series.season
    if relative is None:
        relative, note = _relative_for(config, inputs[: spans.train_stop], columns, season)
        notes.append(note)
    return ForecastProblem(series=series, target=target, input_columns=tuple(frame.columns), inputs=inputs,
                           spans=spans, scaler=scaler, season=season, lookback=config.lookback,
                           horizon=config.horizon, time=axis, calendar=tuple(calendar),
                           relative_columns=tuple(relative), notes=tuple(notes))


def _relative_for(config: ForecastConfig, train: np.ndarray, columns: list[str],
                  season: int | None) -> tuple[tuple[str, ...], str]:
    """Which data columns are window-relative under `config.inputs` (train: (N_train, I) unscaled)."""
    data = tuple(columns)
    if config.inputs == "absolute":
        return (), "inputs: absolute (--inputs absolute)"
    if config.inputs == "relative":
        return data, f"inputs: window-relative for {', '.join(data)} (--inputs relative)"
    C = len(data)
    return choose_relative(train[:, :C], data, calendar=train[:, C:], season=season)


def forecast_inputs(problem: ForecastProblem, origins: np.ndarray) -> np.ndarray:
    """Model inputs x (N, lookback, I): scaled rows t-lookback+1 .. t, minus row t in the relative columns."""
    scaled = problem.scaler.transform(problem.inputs)  # (N_rows, I)
    return relative_windows(input_windows(scaled, origins, lookback=problem.lookback), problem.relative_mask)


def base_forecast(problem: ForecastProblem, origins: np.ndarray) -> np.ndarray:
    """b (N, H): the forecast the model corrects, from each origin's own history (also past the data's end)."""
    y, H = problem.target_values, problem.horizon
    if problem.base_model is None:
        return np.repeat(y[origins][:, None], H, axis=1)
    t = step_numbers(problem.series.frame.index, problem.time.frequency)
    t = np.concatenate([t, t[-1] + np.arange(1, H + 1)])  # regular steps: the times of the next H rows
    return problem.base_model.forecast(y, t, origins, horizon=H)


def forecast_windows(problem: ForecastProblem, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs x (N, lookback, I) and training targets (N, H): (y_{t+k} - b_{t+k|t}) / std_y."""
    x = forecast_inputs(problem, origins)
    y = problem.target_values
    steps = np.arange(1, problem.horizon + 1)
    future = y[origins[:, None] + steps[None, :]]  # (N, H)
    target = (future - base_forecast(problem, origins)) / problem.target_std  # (N, H)
    return x, target.astype(np.float32)


def model_forecast(problem: ForecastProblem, model: Any, origins: np.ndarray) -> np.ndarray:
    """(N, horizon) forecasts in original units: the base forecast plus the model's scaled correction."""
    x = forecast_inputs(problem, origins)
    change = np.asarray(model.predict(x, batch_size=256), dtype=np.float64).reshape(len(origins), problem.horizon)
    return base_forecast(problem, origins) + problem.target_std * change


def fit_classical(problem: ForecastProblem) -> ClassicalBaselines:
    """The ridge and AR + Fourier baselines, fitted on the training span (the ridge's λ on validation)."""
    problem = dataclasses.replace(problem, base_model=None)  # the ridge learns the change from the last value
    train_origins, val_origins = problem.origins("train"), problem.origins("val")
    x_train, y_train = forecast_windows(problem, train_origins)
    validation = forecast_windows(problem, val_origins) if val_origins.size else None
    ridge = RidgeWindow.fit(x_train, y_train, validation)
    stop = problem.spans.train_stop
    t = step_numbers(problem.series.frame.index, problem.time.frequency)
    difference = problem.target in problem.relative_columns  # a unit root: the AR models Δy
    period = problem.season if problem.season and problem.season >= 2 else None
    try:
        ar_fourier = AutoRegFourier.fit(problem.target_values[:stop], t[:stop], period=period, difference=difference,
                                        max_lags=problem.lookback - int(difference))
    except (np.linalg.LinAlgError, ValueError):  # too few rows for any lag order
        ar_fourier = None
    return ClassicalBaselines(ridge=ridge, ar_fourier=ar_fourier)


def baseline_forecasts(problem: ForecastProblem, origins: np.ndarray, classical: ClassicalBaselines | None,
                       ) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, str]]:
    """Every baseline's (N, H) forecasts in original units, their labels, and why any is missing."""
    y, H, m = problem.target_values, problem.horizon, problem.season
    forecasts = {"naive": naive_forecast(y, origins, horizon=H)}
    labels = {"naive": "naive", "seasonal_naive": "seasonal naive" + (f" (m={m})" if m else ""),
              "ridge": "ridge AR", "ar_fourier": "AR + Fourier"}
    missing = {}
    seasonal = seasonal_naive_forecast(y, origins, horizon=H, season=m) if m else None
    if m is None:
        missing["seasonal_naive"] = "season unknown (pass --season)"
    elif seasonal is None:
        missing["seasonal_naive"] = f"not scored: less than one season ({m} steps) before the first window"
    else:
        forecasts["seasonal_naive"] = seasonal
    ridge = classical.ridge if classical else None
    if ridge is not None and ridge.weights.shape == (problem.lookback * len(problem.input_columns) + 1, H):
        forecasts["ridge"] = y[origins][:, None] + problem.target_std * ridge.predict(forecast_inputs(problem, origins))
        labels["ridge"] = f"ridge AR (λ={ridge.penalty:g})"
    else:
        missing["ridge"] = "not fitted"
    ar_fourier = classical.ar_fourier if classical else None
    if ar_fourier is not None:
        t = step_numbers(problem.series.frame.index, problem.time.frequency)
        forecasts["ar_fourier"] = ar_fourier.forecast(y, t, origins, horizon=H)
        labels["ar_fourier"] = ar_fourier.name
    else:
        missing["ar_fourier"] = "not fitted"
    return forecasts, labels, missing


def score_forecasts(problem: ForecastProblem, origins: np.ndarray, forecast: np.ndarray, *,
                    classical: ClassicalBaselines | None = None,
                    scale_rows: tuple[int, int] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Metrics of the model and of every baseline on the same windows (original units).

    MASE is scaled by the one-step naive MAE of rows `scale_rows` (default: the training span), and,
    when the season m is known, MASE_m ("mase_seasonal") by the seasonal-naive MAE of the same rows.
    """
    y = problem.target_values
    steps = np.arange(1, problem.horizon + 1)
    actual = y[origins[:, None] + steps[None, :]]  # (N, H)
    start, stop = scale_rows or (0, problem.spans.train_stop)
    m = problem.season
    scale = mase_scale(y[start:stop])
    seasonal_scale = mase_scale(y[start:stop], lag=m) if m and m >= 2 and stop - start > m else None

    def scored(predicted: np.ndarray) -> dict[str, float]:
        return forecast_metrics(actual, predicted, scale=scale, seasonal_scale=seasonal_scale)

    forecasts, labels, missing = baseline_forecasts(problem, origins, classical)
    scores: dict[str, Any] = {"windows": len(origins), "model": scored(forecast)}
    scores.update({name: scored(forecasts[name]) if name in forecasts else None for name in BASELINES})
    scores.update(labels=labels, unscored=missing, mase_seasonal_lag=m if seasonal_scale is not None else None)
    notes = [f"{labels[name]}: {reason}" for name, reason in missing.items() if name == "seasonal_naive"]
    baselines = {k: scores[k]["mase"] for k in BASELINES if scores[k]}
    winners = [k for k, v in baselines.items() if v <= scores["model"]["mase"]]
    if winners:
        best = min(winners, key=baselines.get)
        notes.append(f"the model does NOT beat {' or '.join(labels[w] for w in winners)} "
                     f"(MASE {scores['model']['mase']:.3f} vs {labels[best]} {baselines[best]:.3f}); on data close "
                     f"to a random walk (e.g. stock prices) the naive forecast is very hard to beat")
    return scores, notes


def train_forecaster(config: ForecastConfig, *, series: TimeSeriesData | None = None,
                     verbose: int = 0, backup_dir: str | Path | None = None) -> ForecastResult:
    """Prepare the data, train the model with early stopping on the validation span, score the test span.

    backup_dir: back up the training state there after every epoch, and resume from the backup found
    there (see `rnnkit.callbacks.BackupAndRestore`); the resumed run ends with the same weights.
    """
    import rnnkit

    problem = prepare_forecast(config, series)
    classical = fit_classical(problem)
    if config.model_base == "ar_fourier" and classical.ar_fourier is not None:
        problem = dataclasses.replace(problem, base_model=classical.ar_fourier, notes=(
            *problem.notes, f"the model forecasts a correction to the {classical.ar_fourier.name} forecast"))
    rnnkit.set_seed(config.seed)
    train_origins, val_origins, test_origins = (problem.origins(s) for s in ("train", "val", "test"))
    x_train, y_train = forecast_windows(problem, train_origins)
    validation = forecast_windows(problem, val_origins) if val_origins.size else None
    model = _model.build_model(kind=config.model, units=config.units, layers=config.layers,
                               outputs=config.horizon, input_shape=(config.lookback, len(problem.input_columns)),
                               dropout=config.dropout)
    history = _model.train_model(model, x_train, y_train, loss="mse", learning_rate=config.learning_rate,
                                 epochs=config.epochs, batch_size=config.batch_size, patience=config.patience,
                                 seed=config.seed, validation=validation, verbose=verbose,
                                 backup_dir=backup_dir)
    metrics: dict[str, Any] = {}
    if val_origins.size:
        metrics["val"], _ = score_forecasts(problem, val_origins, model_forecast(problem, model, val_origins),
                                            classical=classical)
    test_forecast = model_forecast(problem, model, test_origins)
    metrics["test"], scoring_notes = score_forecasts(problem, test_origins, test_forecast, classical=classical)
    input_range = InputRange.of(x_train)
    extrapolating = out_of_range_note(input_range, forecast_inputs(problem, test_origins), problem.input_columns,
                                      span="test", relative=problem.relative_columns)
    notes = [*problem.notes, *([extrapolating] if extrapolating else []), *scoring_notes]
    return ForecastResult(config=config, problem=problem, model=model, history=history, metrics=metrics,
                          test_origins=test_origins, test_forecast=test_forecast, notes=notes,
                          classical=classical, input_range=input_range)
