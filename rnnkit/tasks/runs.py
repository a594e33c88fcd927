"""Run folders: everything needed to inspect, reuse or repeat a run, in plain files (no pickle).

    <out>/<task>-<data>-<YYYYmmdd-HHMMSS>/
        config.toml     the full config with its seed: `rnnkit train --config config.toml` repeats the run
        run.json        task, versions, and what prediction needs (columns, scaler, class names)
        metrics.json    test (and validation) metrics
        model.rnnkit    the trained model (safetensors weights + JSON architecture)
        *.png, *.csv    plots and test-span predictions
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.data import DataError
from rnnkit.tasks import _model
from rnnkit.tasks._config import ConfigError, config_from_dict, write_config_toml

__all__ = ["RunFolder", "new_run_folder", "open_run", "write_json", "write_run"]

RUN_FILE = "run.json"


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def new_run_folder(out: str | Path, *, task: str, data: str) -> Path:
    """A fresh folder under `out`, named after the task, the data and the time."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(data).stem if ("." in data or "/" in data) else data)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(out) / f"{task}-{stem}-{stamp}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    folder.mkdir(parents=True)
    return folder


def write_run(folder: Path, *, task: str, config: Any, state: dict[str, Any], metrics: dict[str, Any],
              model: Any) -> None:
    import torch

    import rnnkit

    write_config_toml(config, folder / "config.toml", task=task)
    write_json(folder / RUN_FILE, {"task": task, "rnnkit_version": rnnkit.__version__,
                                   "torch_version": torch.__version__, "seed": config.seed, **state})
    write_json(folder / "metrics.json", metrics)
    _model.save_model(model, folder)


@dataclass(kw_only=True)
class RunFolder:
    path: Path
    task: str
    config: Any
    state: dict[str, Any]

    def model(self) -> Any:
        try:
            return _model.load_model(self.path)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot load the model of run {str(self.path)!r}: {str(exc).splitlines()[0]}") from None


def open_run(path: str | Path, *, task: str | None = None) -> RunFolder:
    """Read a run folder; `task` (if given) must match the task it was trained for."""
    from rnnkit.tasks.config import TASKS, read_config  # the registry imports every task, which imports this module

    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"run folder {str(folder)!r} does not exist; pass the folder `rnnkit train` printed")
    if not (folder / RUN_FILE).is_file() or not (folder / "config.toml").is_file():
        raise DataError(f"{str(folder)!r} is not an rnnkit run folder (no {RUN_FILE} / config.toml); "
                        f"pass the folder `rnnkit train` printed")
    try:
        state = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"{folder / RUN_FILE}: not valid JSON ({exc})") from None
    saved_task, values = read_config(folder / "config.toml")
    if state.get("task") != saved_task or saved_task not in TASKS:
        raise DataError(f"{str(folder)!r}: run.json and config.toml disagree on the task")
    if task is not None and task != saved_task:
        raise DataError(f"{str(folder)!r} holds a {saved_task} model, not a {task} model; "
                        f"use a run folder trained with --task {task}")
    try:
        config = config_from_dict(TASKS[saved_task], values)
    except ConfigError as exc:
        raise DataError(f"{folder / 'config.toml'}: {exc}") from None
    return RunFolder(path=folder, task=saved_task, config=config, state=state)
