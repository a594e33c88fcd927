"""The typed, keyword-only configuration of a forecasting run (CLI options, TOML keys, `config.toml`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rnnkit.tasks._config import ConfigError, Fill, ModelKind, check_training_ranges

__all__ = ["ForecastConfig", "InputMode", "ModelBase"]

InputMode = Literal["auto", "relative", "absolute"]
ModelBase = Literal["ar_fourier", "naive"]


@dataclass(frozen=True, kw_only=True)
class ForecastConfig:
    """Everything a forecasting run needs; saved with the run so it can be repeated exactly."""

    data: str = "seattle_weather"  # bundled dataset name or a .csv/.parquet path
    target: str | None = None  # column to forecast (default: the dataset's)
    features: tuple[str, ...] | None = None  # input columns (default: the dataset's; target always in)
    time_column: str | None = None  # CSV: a time column (dates, fractional years, or integer positions) to sort by
    time_format: str | None = None  # strftime format of the time column, e.g. %d/%m/%Y (default: ISO 8601 dates)
    fill: Fill = "none"  # missing/non-numeric values and missing periods: error/report, or fill them
    lookback: int = 14  # input steps per window
    horizon: int = 1  # steps forecast per window
    season: int | None = None  # seasonal period in steps (default: the dataset's, or the frequency's: 24 hourly, 7 daily, 12 monthly)
    calendar_features: bool = True  # sin/cos calendar inputs for the frequency (time of day, day of week/year, month)
    inputs: InputMode = "auto"  # relative: windows minus their last value; auto: relative where ADF finds a unit root
    val_fraction: float = 0.15  # chronological split: train | validation | test
    test_fraction: float = 0.15
    model: ModelKind = "lstm"
    model_base: ModelBase = "ar_fourier"  # the model forecasts a correction to this baseline (naive: the last value)
    units: int = 32
    layers: int = 1
    dropout: float = 0.0
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 3e-3
    patience: int = 8  # early stopping on validation loss (0: off)
    seed: int = 0

    def check(self) -> None:
        """Range checks (types are checked by `config_from_dict`); a bad value is a `ConfigError`."""
        check_training_ranges(self, positive=("lookback", "horizon"))
        if self.season is not None and self.season < 1:
            raise ConfigError(f"season must be >= 1; got {self.season}")
