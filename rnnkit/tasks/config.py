"""Typed, keyword-only run configurations, read from and written to dicts and TOML.

The same dataclass fields are the CLI's options, a TOML file's keys and the saved `config.toml`
of a run: an unknown key or a value of the wrong type is a `ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomllib

from rnnkit.data import DataError

__all__ = [
    "ClassifyConfig",
    "ConfigError",
    "ForecastConfig",
    "TaskConfig",
    "config_from_dict",
    "config_to_dict",
    "field_base_type",
    "field_choices",
    "read_config",
    "write_config_toml",
]

ModelKind = Literal["lstm", "gru", "rnn"]
Fill = Literal["none", "ffill", "interpolate", "drop"]


class ConfigError(DataError):
    """A configuration key or value is not valid."""


@dataclass(frozen=True, kw_only=True)
class ForecastConfig:
    """Everything a forecasting run needs; saved with the run so it can be repeated exactly."""

    data: str = "seattle_weather"  # bundled dataset name or a .csv/.parquet path
    target: str | None = None  # column to forecast (default: the dataset's)
    features: tuple[str, ...] | None = None  # input columns (default: the dataset's; target always in)
    time_column: str | None = None  # CSV: a date column to sort by and to derive calendar inputs
    fill: Fill = "none"  # what to do with missing/non-numeric values
    lookback: int = 14  # input steps per window
    horizon: int = 1  # steps forecast per window
    season: int | None = None  # seasonal period in steps (default: the dataset's, or 1 for a CSV)
    calendar_features: bool = True  # add sin/cos of the day of year when the index has dates
    val_fraction: float = 0.15  # chronological split: train | validation | test
    test_fraction: float = 0.15
    model: ModelKind = "lstm"
    units: int = 32
    layers: int = 1
    dropout: float = 0.0
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 3e-3
    patience: int = 8  # early stopping on validation loss (0: off)
    seed: int = 0


@dataclass(frozen=True, kw_only=True)
class ClassifyConfig:
    """Everything a sequence-classification run needs."""

    data: str = "japanese_vowels"  # bundled dataset name or a long-format .csv/.parquet path
    id_column: str | None = None  # CSV: which sequence a row belongs to
    label_column: str | None = None  # CSV: the class of the row's sequence
    features: tuple[str, ...] | None = None  # CSV: channel columns (default: all others)
    fill: Fill = "none"
    test_fraction: float = 0.25  # CSV only: stratified share of sequences held out
    val_fraction: float = 0.0  # share of the training sequences used for early stopping
    model: ModelKind = "lstm"
    units: int = 64
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    epochs: int = 60
    batch_size: int = 16
    learning_rate: float = 3e-3
    patience: int = 0
    seed: int = 0


TaskConfig = ForecastConfig | ClassifyConfig
TASKS: dict[str, type] = {"forecast": ForecastConfig, "classify": ClassifyConfig}


def field_base_type(annotation: Any) -> tuple[Any, bool]:
    """(the type without `| None`, whether None is allowed)."""
    if isinstance(annotation, str):
        raise TypeError("config annotations must be evaluated")
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        rest = [a for a in args if a is not type(None)]
        return rest[0], len(rest) != len(args)
    return annotation, False


def field_choices(annotation: Any) -> tuple[str, ...] | None:
    base, _ = field_base_type(annotation)
    return tuple(typing.get_args(base)) if typing.get_origin(base) is Literal else None


def _coerce(cls: type, name: str, annotation: Any, value: Any) -> Any:
    base, optional = field_base_type(annotation)
    where = f"{cls.__name__}.{name}"
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{where} must not be empty")
    choices = field_choices(annotation)
    if choices is not None:
        if value not in choices:
            raise ConfigError(f"{where} must be one of {', '.join(choices)}; got {value!r}")
        return value
    if typing.get_origin(base) is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of column names; got {value!r}")
        return tuple(value)
    if base is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false; got {value!r}")
        return value
    if base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer; got {value!r}")
        return value
    if base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number; got {value!r}")
        return float(value)
    if base is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string; got {value!r}")
        return value
    raise TypeError(f"{where}: unsupported field type {annotation!r}")


def config_from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Build `cls` from `values`, checking every key and type; unknown keys are an error."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in values if k not in names]
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} for {cls.__name__}; valid keys: {', '.join(names)}")
    kwargs = {k: _coerce(cls, k, hints[k], v) for k, v in values.items()}
    config = cls(**kwargs)
    _check_ranges(config)
    return config


def _check_ranges(config: Any) -> None:
    positive = ["units", "layers", "epochs", "batch_size"] + (["lookback", "horizon"] if isinstance(config, ForecastConfig) else [])
    for name in positive:
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be >= 1; got {getattr(config, name)}")
    if getattr(config, "season", None) is not None and config.season < 1:
        raise ConfigError(f"season must be >= 1; got {config.season}")
    if not 0.0 <= config.dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1); got {config.dropout}")
    if config.learning_rate <= 0:
        raise ConfigError(f"learning_rate must be > 0; got {config.learning_rate}")
    if config.patience < 0:
        raise ConfigError(f"patience must be >= 0; got {config.patience}")


def config_to_dict(config: Any) -> dict[str, Any]:
    return {f.name: (list(v) if isinstance(v := getattr(config, f.name), tuple) else v)
            for f in dataclasses.fields(config)}


def read_config(path: str | Path) -> tuple[str, dict[str, Any]]:
    """Read a TOML (or JSON) config file: returns (task, the remaining keys)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        if path.suffix.lower() == ".json":
            import json
            values = json.loads(path.read_text(encoding="utf-8"))
        else:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot parse {path.name}: {exc}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path.name} must hold a table of keys")
    task = values.pop("task", "forecast")
    if task not in TASKS:
        raise ConfigError(f"{path.name}: task must be one of {', '.join(TASKS)}; got {task!r}")
    return task, values


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_config_toml(config: Any, path: str | Path, *, task: str) -> None:
    """Write `task` and every field; None fields are left out (TOML has no null; None is their default)."""
    lines = [f'task = "{task}"']
    for key, value in config_to_dict(config).items():
        if value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
