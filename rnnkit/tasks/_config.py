"""The machinery shared by the tasks' typed, keyword-only run configurations: dicts, TOML, checks.

Each task defines its config dataclass in its own subpackage (`forecast/config.py`,
`classify/config.py`). The same dataclass fields are the CLI's options, a TOML file's keys and the
saved `config.toml` of a run: an unknown key or a value of the wrong type is a `ConfigError`
naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal

import tomllib

from rnnkit.data import DataError

__all__ = [
    "ConfigError",
    "Fill",
    "ModelKind",
    "check_holdout",
    "check_training_ranges",
    "config_from_dict",
    "config_to_dict",
    "field_base_type",
    "field_choices",
    "read_config_file",
    "write_config_toml",
]

ModelKind = Literal["lstm", "gru", "rnn"]
Fill = Literal["none", "ffill", "interpolate", "drop"]


class ConfigError(DataError):
    """A configuration key or value is not valid."""


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
    check = getattr(config, "check", None)
    if callable(check):
        check()
    return config


def check_training_ranges(config: Any, positive: tuple[str, ...] = ()) -> None:
    """The range checks every task config shares; `positive` names more fields that must be >= 1."""
    for name in ("units", "layers", "epochs", "batch_size", *positive):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be >= 1; got {getattr(config, name)}")
    if not 0.0 <= config.dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1); got {config.dropout}")
    if config.learning_rate <= 0:
        raise ConfigError(f"learning_rate must be > 0; got {config.learning_rate}")
    if config.patience < 0:
        raise ConfigError(f"patience must be >= 0; got {config.patience}")


def check_holdout(config: Any, count: str, unit: str) -> None:
    """`val_fraction` in [0, 1), and (when > 0) leaving at least one validation and one training item of the
    `count` field (e.g. "train_clips", unit "clip")."""
    fraction, total = config.val_fraction, getattr(config, count)
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1); got {fraction}")
    if fraction and not 1 <= round(fraction * total) < total:
        raise ConfigError(f"val_fraction={fraction} of {count}={total} leaves no validation or no training {unit}; "
                          f"raise {count} or set val_fraction 0")


def config_to_dict(config: Any) -> dict[str, Any]:
    return {f.name: (list(v) if isinstance(v := getattr(config, f.name), tuple) else v)
            for f in dataclasses.fields(config)}


def read_config_file(path: str | Path, tasks: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """Read a TOML (or JSON) config file: returns (task, the remaining keys); `task` must be in `tasks`."""
    path = Path(path)
    if path.is_dir():
        hint = f"; did you mean {str(path / 'config.toml')!r}?" if (path / "config.toml").is_file() else ""
        raise ConfigError(f"config file {str(path)!r} is a folder; expected a TOML (or JSON) file{hint}")
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
    if task not in tasks:
        raise ConfigError(f"{path.name}: task must be one of {', '.join(tasks)}; got {task!r}")
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
