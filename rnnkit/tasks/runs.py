"""Run folders: everything needed to inspect, reuse, resume or repeat a run, in plain files (no pickle).

    <out>/<task>-<data>-<YYYYmmdd-HHMMSS>/
        config.toml         the full config with its seed: `rnnkit train --config config.toml` repeats the run
        run.json            task, status, versions, threads, and what prediction needs (columns, scaler, ...)
        backup.safetensors  while training: the state after the last completed epoch
                            (`rnnkit train --resume <folder>` continues from it); removed once the run is done
        metrics.json        test (and validation) metrics
        model.rnnkit        the trained model (safetensors weights + JSON architecture)
        *.png, *.csv        plots and test-span predictions

The folder is written when training starts (`start_run`: config.toml and run.json with status
"running"), so a run that is interrupted (Ctrl-C, SIGTERM, SIGKILL, a crash) leaves a folder that can be
resumed. `finish_run` writes the results and sets the status to "done". Every file is written atomically
(temporary file + rename): a kill never leaves half a file behind.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.data import DataError
from rnnkit.tasks import _model
from rnnkit.tasks._config import ConfigError, config_from_dict, write_config_toml
from rnnkit.tasks._run_checks import check_model_fits_run, check_run_state

__all__ = ["RunFolder", "finish_run", "mark_run", "new_run_folder", "open_run", "run_status", "start_run",
           "write_json"]

RUN_FILE = "run.json"
STATUSES = ("running", "interrupted", "failed", "done")


def write_json(path: Path, data: Any) -> None:
    """Write `data` as JSON, atomically."""
    from rnnkit.saving._atomic import atomic_write

    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    atomic_write(path, lambda temp: Path(temp).write_text(text, encoding="utf-8"))


def new_run_folder(out: str | Path, *, task: str, data: str) -> Path:
    """A fresh folder under `out`, named after the task, the data and the time."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {str(out)!r} is a file; expected a folder to hold run folders "
                        f"(it is created if missing), e.g. --out runs")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(data).stem if ("." in data or "/" in data) else data)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = out / f"{task}-{stem}-{stamp}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    try:
        folder.mkdir(parents=True)
    except OSError as error:
        raise DataError(f"--out {str(out)!r}: cannot create the run folder {folder.name!r} there "
                        f"({error.strerror or error}); choose a writable folder with --out") from None
    return folder


def _environment() -> dict[str, Any]:
    """Versions and threads, so a result can be traced to what produced it."""
    import platform

    import numpy
    import torch

    import rnnkit
    from rnnkit.kernels import compiled

    return {"rnnkit_version": rnnkit.__version__, "torch_version": torch.__version__,
            "numpy_version": numpy.__version__, "python_version": platform.python_version(),
            "platform": platform.platform(), "threads": torch.get_num_threads(),
            "compiled_kernels": compiled.is_available()}


def run_facts(state: dict[str, Any]) -> dict[str, Any]:
    """run.json without what describes the machine (``_environment``) or the run's life (task, status, times, seed):
    what a copy of the run (rnnkit compress) or a file made from it (rnnkit export) carries on."""
    own = {"task", "status", "started", "finished", "seed", *_environment()}
    return {k: v for k, v in state.items() if k not in own}


def start_run(out: str | Path, *, task: str, config: Any) -> Path:
    """Create the run folder and write config.toml and run.json (status "running") before training."""
    folder = new_run_folder(out, task=task, data=config.data)
    write_config_toml(config, folder / "config.toml", task=task)
    now = _dt.datetime.now().isoformat(timespec="seconds")
    write_json(folder / RUN_FILE, {"task": task, "status": "running", "started": now, "seed": config.seed,
                                   **_environment()})
    return folder


def run_status(folder: str | Path) -> str | None:
    """The status recorded in a run folder's run.json ("done" for folders written before statuses existed)."""
    try:
        state = json.loads((Path(folder) / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state.get("status", "done") if isinstance(state, dict) else None


def mark_run(folder: str | Path, status: str, **extra: Any) -> None:
    """Set the status (and more keys) in run.json, keeping what is there."""
    if status not in STATUSES:
        raise ValueError(f"mark_run: status must be one of {STATUSES}; got {status!r}")
    path = Path(folder) / RUN_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    write_json(path, {**state, "status": status, **extra})


def finish_run(folder: Path, *, task: str, config: Any, state: dict[str, Any], metrics: dict[str, Any],
               model: Any) -> None:
    """Write the trained model, the metrics and the full run.json (status "done"); drop the training backup."""
    write_config_toml(config, folder / "config.toml", task=task)
    _model.save_model(model, folder)
    write_json(folder / "metrics.json", metrics)
    try:
        started = json.loads((folder / RUN_FILE).read_text(encoding="utf-8")).get("started")
    except (OSError, ValueError):
        started = None
    write_json(folder / RUN_FILE, {"task": task, "status": "done", "started": started,
                                   "finished": _dt.datetime.now().isoformat(timespec="seconds"),
                                   "seed": config.seed, **_environment(), **state})
    _model.remove_backup(folder)


@dataclass(kw_only=True)
class RunFolder:
    path: Path
    task: str
    config: Any
    state: dict[str, Any]

    def model(self, *, quantized: bool = True) -> Any:
        """The run's model. A run written by `rnnkit compress --int8` stores the float model on the dequantized
        weights; it comes back int8 (``rnnkit.compress.quantize_dynamic``, exact) unless ``quantized=False``."""
        try:
            model = _model.load_model(self.path)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot load the model of run {str(self.path)!r}: {str(exc).splitlines()[0]}") from None
        if self.state.get("status", "done") == "done":
            check_model_fits_run(self.path, self.task, self.state, model)
        if quantized and self.state.get("compression") == "int8":
            from rnnkit.compress import quantize_dynamic

            model = quantize_dynamic(model)
        return model


def open_run(path: str | Path, *, task: str | None = None, finished: bool = True) -> RunFolder:
    """Read a run folder; `task` (if given) must match the task it was trained for. With `finished`
    (evaluate, predict) the run must be done; `rnnkit train --resume` opens unfinished ones."""
    from rnnkit.tasks.config import TASKS, read_config  # the registry imports every task, which imports this module

    folder = Path(path)
    if folder.is_file():
        raise DataError(f"run folder {str(folder)!r} is a file; pass the run folder that `rnnkit train` printed "
                        f"(the folder holding run.json and model.rnnkit), e.g. {str(folder.parent)!r}")
    if not folder.is_dir():
        raise DataError(f"run folder {str(folder)!r} does not exist; pass the folder `rnnkit train` printed")
    if not (folder / RUN_FILE).is_file() or not (folder / "config.toml").is_file():
        raise DataError(f"{str(folder)!r} is not an rnnkit run folder (no {RUN_FILE} / config.toml); "
                        f"pass the folder `rnnkit train` printed")
    try:
        state = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"{folder / RUN_FILE}: not valid JSON ({exc})") from None
    if not isinstance(state, dict):
        raise DataError(f"{folder / RUN_FILE}: expected a JSON object of run facts; got {type(state).__name__}")
    status = state.get("status", "done")
    if finished and status != "done":
        raise DataError(f"run {str(folder)!r} has not finished (status {status!r}), so it has no final model; "
                        f"finish it with `rnnkit train --resume {folder}`")
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
    if status == "done":
        check_run_state(folder, saved_task, state, config)
    return RunFolder(path=folder, task=saved_task, config=config, state=state)
