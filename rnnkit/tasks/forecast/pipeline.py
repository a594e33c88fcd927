"""Forecasting pipeline: a series -> windows -> a recurrent model, always scored beside baselines.

    >>> from rnnkit.tasks import ForecastConfig, train_forecaster
    >>> result = train_forecaster(ForecastConfig(data="seattle_weather", epochs=40))
    >>> result.metrics["test"]["model"]["mase"], result.metrics["test"]["naive"]["mase"]

The model reads `lookback` steps of the scaled inputs (target first, then covariates, then
calendar sin/cos) and predicts the change of the target over the next `horizon` steps relative
to its last observed value, in units of the target's training standard deviation:
    ŷ_{t+k} = y_t + std_y · f(x_{t-lookback+1..t})_k
A model that learns nothing therefore falls back to the naive forecast instead of to the mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data import DataError, TimeSeriesData, load_dataset, load_series_table, read_table
from rnnkit.tasks import _model
from rnnkit.tasks.forecast.baselines import naive_forecast, seasonal_naive_forecast
from rnnkit.tasks.forecast.config import ForecastConfig
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
    "forecast_inputs",
    "forecast_windows",
    "load_forecast_series",
    "model_forecast",
    "prepare_forecast",
    "score_forecasts",
    "train_forecaster",
]

CALENDAR_COLUMNS = ("doy_sin", "doy_cos")


@dataclass(frozen=True, kw_only=True)
class ForecastProblem:
    """A series made ready for one config: chosen columns, scaling fitted on the train span."""

    series: TimeSeriesData
    target: str
    input_columns: tuple[str, ...]  # target first
    inputs: np.ndarray  # (N_rows, I) unscaled, float64
    spans: SplitSpans
    scaler: Standardizer
    season: int
    lookback: int
    horizon: int

    @property
    def target_values(self) -> np.ndarray:
        return self.inputs[:, 0]  # (N_rows,)

    @property
    def target_std(self) -> float:
        return float(self.scaler.std[0])

    def origins(self, split: str) -> np.ndarray:
        return window_origins(self.spans, split, lookback=self.lookback, horizon=self.horizon)


@dataclass(kw_only=True)
class ForecastResult:
    config: ForecastConfig
    problem: ForecastProblem
    model: Any
    history: dict[str, list[float]]
    metrics: dict[str, Any]  # {"test": {"model": {...}, "naive": {...}, "seasonal_naive": {...}}, "val": ...}
    test_origins: np.ndarray
    test_forecast: np.ndarray  # (N, horizon), original units
    notes: list[str] = field(default_factory=list)


def load_forecast_series(config: ForecastConfig) -> TimeSeriesData:
    """The bundled dataset named by `config.data`, or the user's file."""
    if "." in config.data or "/" in config.data:
        target = config.target
        if target is None:
            columns = ", ".join(map(str, read_table(config.data).columns))  # also: a missing file fails here
            raise DataError(f"--target is required for a data file ({config.data}); name the column to forecast, "
                            f"one of: {columns}")
        return load_series_table(config.data, target=target, features=config.features,
                                 time_column=config.time_column, fill=config.fill, season=config.season or 1)
    series = load_dataset(config.data)
    if not isinstance(series, TimeSeriesData):
        raise DataError(f"dataset {config.data!r} is for sequence classification; use --task classify "
                        f"or a forecasting dataset (see `rnnkit datasets`)")
    return series


def _with_calendar(frame: pd.DataFrame) -> pd.DataFrame:
    day = frame.index.day_of_year.to_numpy()  # type: ignore[attr-defined]
    angle = 2.0 * np.pi * day / 365.25
    return frame.assign(doy_sin=np.sin(angle), doy_cos=np.cos(angle))


def prepare_forecast(config: ForecastConfig, series: TimeSeriesData | None = None) -> ForecastProblem:
    """Pick columns, split chronologically and fit the scaler on the training rows only."""
    series = series if series is not None else load_forecast_series(config)
    target = config.target or series.target
    features = config.features if config.features is not None else series.features
    for name, wanted in (("target", [target]), ("features", list(features))):
        missing = [c for c in wanted if c not in series.frame.columns]
        if missing:
            raise DataError(f"{name}: column {missing[0]!r} is not in {series.name}; its columns are: "
                            f"{', '.join(series.columns)}")
    columns = list(dict.fromkeys([target, *features]))
    frame = series.frame[columns]
    if config.calendar_features and isinstance(frame.index, pd.DatetimeIndex):
        frame = _with_calendar(frame)
    spans = split_spans(len(frame), val_fraction=config.val_fraction, test_fraction=config.test_fraction)
    check_window_sizes(len(frame), lookback=config.lookback, horizon=config.horizon,
                       train_rows=spans.train_stop, source=series.name)
    inputs = frame.to_numpy(dtype=np.float64)
    scaler = Standardizer.fit(inputs[: spans.train_stop])
    for split in ("test",) if config.test_fraction > 0 else ():
        if window_origins(spans, split, lookback=config.lookback, horizon=config.horizon).size == 0:
            raise DataError(f"the {split} span of {series.name} holds no complete window of horizon "
                            f"{config.horizon}; use a larger --test-fraction or a shorter --horizon")
    return ForecastProblem(series=series, target=target, input_columns=tuple(frame.columns), inputs=inputs,
                           spans=spans, scaler=scaler, season=config.season or series.season,
                           lookback=config.lookback, horizon=config.horizon)


def forecast_inputs(problem: ForecastProblem, origins: np.ndarray) -> np.ndarray:
    """Model inputs x (N, lookback, I): scaled rows t-lookback+1 .. t."""
    scaled = problem.scaler.transform(problem.inputs)  # (N_rows, I)
    return input_windows(scaled, origins, lookback=problem.lookback)


def forecast_windows(problem: ForecastProblem, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs x (N, lookback, I) and training targets: scaled change of y over the horizon (N, H)."""
    x = forecast_inputs(problem, origins)
    y = problem.target_values
    steps = np.arange(1, problem.horizon + 1)
    future = y[origins[:, None] + steps[None, :]]  # (N, H)
    target = (future - y[origins][:, None]) / problem.target_std  # (N, H)
    return x, target.astype(np.float32)


def model_forecast(problem: ForecastProblem, model: Any, origins: np.ndarray) -> np.ndarray:
    """(N, horizon) forecasts in original units."""
    x = forecast_inputs(problem, origins)
    change = np.asarray(model.predict(x, batch_size=256), dtype=np.float64).reshape(len(origins), problem.horizon)
    return problem.target_values[origins][:, None] + problem.target_std * change


def score_forecasts(problem: ForecastProblem, origins: np.ndarray, forecast: np.ndarray) -> tuple[dict[str, Any], list[str]]:
    """Metrics of the model, naive and seasonal naive on the same windows (original units)."""
    y = problem.target_values
    steps = np.arange(1, problem.horizon + 1)
    actual = y[origins[:, None] + steps[None, :]]  # (N, H)
    scale = mase_scale(y[: problem.spans.train_stop])
    scores = {"windows": len(origins), "model": forecast_metrics(actual, forecast, scale=scale),
              "naive": forecast_metrics(actual, naive_forecast(y, origins, horizon=problem.horizon), scale=scale)}
    notes = []
    seasonal = seasonal_naive_forecast(y, origins, horizon=problem.horizon, season=problem.season)
    if seasonal is None:
        scores["seasonal_naive"] = None
        notes.append(f"seasonal-naive not scored: the series has less than one season ({problem.season} "
                     f"steps) before the first window")
    else:
        scores["seasonal_naive"] = forecast_metrics(actual, seasonal, scale=scale)
    baselines = {k: v for k, v in scores.items() if k in ("naive", "seasonal_naive") and v}
    winners = [k for k, v in baselines.items() if v["mase"] <= scores["model"]["mase"]]
    if winners:
        notes.append(f"the model does NOT beat {' or '.join(w.replace('_', '-') for w in winners)} "
                     f"(MASE {scores['model']['mase']:.3f} vs "
                     f"{min(baselines[w]['mase'] for w in winners):.3f}); on data close to a random walk "
                     f"(e.g. stock prices) the naive forecast is very hard to beat")
    return scores, notes


def train_forecaster(config: ForecastConfig, *, series: TimeSeriesData | None = None,
                     verbose: int = 0, backup_dir: str | Path | None = None) -> ForecastResult:
    """Prepare the data, train the model with early stopping on the validation span, score the test span.

    backup_dir: back up the training state there after every epoch, and resume from the backup found
    there (see `rnnkit.callbacks.BackupAndRestore`); the resumed run ends with the same weights.
    """
    import rnnkit

    problem = prepare_forecast(config, series)
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
    notes: list[str] = []
    if val_origins.size:
        metrics["val"], _ = score_forecasts(problem, val_origins, model_forecast(problem, model, val_origins))
    test_forecast = model_forecast(problem, model, test_origins)
    metrics["test"], notes = score_forecasts(problem, test_origins, test_forecast)
    return ForecastResult(config=config, problem=problem, model=model, history=history, metrics=metrics,
                          test_origins=test_origins, test_forecast=test_forecast, notes=notes)
