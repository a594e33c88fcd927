"""``BackupAndRestore``: a run that is killed (Ctrl-C, SIGTERM, SIGKILL, a crash) resumes where it stopped.

At the end of every epoch the callback writes one file, ``<backup_dir>/backup.safetensors``, atomically
(temporary file, fsync, rename: a kill at any moment leaves the previous epoch's backup or this one,
never half of one). It holds everything the rest of the run depends on:

    weights/<key>              the model's state_dict
    optimizer/<i>/<key>        the optimizer's tensors (Adam's moments, step counts)
    callbacks/<j>/<key>[/<k>]  tensors of the other callbacks' state (EarlyStopping's best weights)
    metadata (JSON)            epochs completed, fit seed, stop flag, optimizer and callback plain state

Calling ``fit`` again with the same arguments and a ``BackupAndRestore`` on the same folder restores all of
it after ``on_train_begin`` and continues with the next epoch. Since every epoch's randomness is drawn
from ``(fit seed, epoch)`` (see :mod:`rnnkit.training.loop`), the resumed run ends with the same weights as
one that was never interrupted. As in Keras, the backup is deleted when training ends, unless
``delete_checkpoint=False``: then the final state is kept, marked finished, and a further ``fit`` restores
it without training again.

Nothing in the file is executed: tensors are read by safetensors, the rest by ``json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from rnnkit.training.callback import Callback, Logs

__all__ = ["BackupAndRestore"]

FORMAT = "rnnkit.backup"
FORMAT_VERSION = "1"
FILE_NAME = "backup.safetensors"


class BackupAndRestore(Callback):
    """Back up the training state to ``backup_dir`` after each epoch; restore it when ``fit`` starts again."""

    def __init__(self, backup_dir: str | os.PathLike, *, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)):
            raise TypeError(f"BackupAndRestore: backup_dir must be a path; got {type(backup_dir).__name__}.")
        self.backup_dir = Path(backup_dir)
        self.delete_checkpoint = bool(delete_checkpoint)
        self.restored_epoch: int | None = None  # epochs completed in the backup that was restored, if any
        self._others: list[Callback] = []

    @property
    def path(self) -> Path:
        return self.backup_dir / FILE_NAME

    # --- called by fit ---------------------------------------------------------------------------
    def restore(self, others: list[Callback]) -> tuple[int, bool]:
        """Load the backup into the model, its optimizer and ``others`` (the other callbacks, in fit's
        order). Returns (epochs completed, whether training had already stopped); (0, False) with no backup."""
        self._others = list(others)
        if not self.path.is_file():
            return 0, False
        tensors, meta = _read(self.path)
        model = self.model
        try:
            names = [type(c).__name__ for c in self._others]
            saved = [entry["class"] for entry in meta["callbacks"]]
            if names != saved:
                raise ValueError(f"it was written by a fit with callbacks {saved}; this fit has {names}. "
                                 "Resume with the same callbacks, or delete the backup to start afresh")
            weights = _group(tensors, "weights/")
            expected = model.state_dict()
            if set(weights) != set(expected) or any(weights[k].shape != expected[k].shape for k in expected):
                raise ValueError("its weights do not fit this model's architecture; resume with the same model, "
                                 "or delete the backup to start afresh")
            model.load_state_dict(weights)
            from rnnkit.saving._optimizer_state import PREFIX, join_state

            if meta["optimizer_state"] is not None:
                model.optimizer.load_state_dict(join_state(
                    {k: v for k, v in tensors.items() if k.startswith(PREFIX)}, meta["optimizer_state"]))
            for j, (callback, entry) in enumerate(zip(self._others, meta["callbacks"])):
                callback.load_state_dict(_unflatten(entry["plain"], _group(tensors, f"callbacks/{j}/")))
            model.fit_seed = int(meta["fit_seed"])
            epoch = int(meta["epoch"])
            stopped = bool(meta["finished"] or meta["stop_training"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"BackupAndRestore: cannot resume from {str(self.path)!r}: {error}.") from None
        self.restored_epoch = epoch
        return epoch, stopped

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._write(epoch + 1, finished=False)

    def on_train_end(self, logs: Logs | None = None) -> None:
        from rnnkit.training.distributed import is_rank_zero

        if not is_rank_zero():  # every rank holds the same state; rank 0 writes it
            return
        if self.delete_checkpoint:
            self.path.unlink(missing_ok=True)
        elif self.model.history is not None and self.model.history.epoch:
            self._write(self.model.history.epoch[-1] + 1, finished=True)

    # --- the file ---------------------------------------------------------------------------------
    def _write(self, epochs_done: int, *, finished: bool) -> None:
        from safetensors.torch import save_file

        from rnnkit.training.distributed import is_rank_zero

        if not is_rank_zero():
            return
        from rnnkit.saving._atomic import atomic_write
        from rnnkit.saving._optimizer_state import split_state

        model = self.model
        tensors = {f"weights/{k}": v for k, v in model.state_dict().items()}
        optimizer_plain = None
        if model.optimizer is not None and model.optimizer.built:
            optimizer_tensors, optimizer_plain = split_state(model.optimizer.state_dict())
            tensors.update(optimizer_tensors)
        entries = []
        for j, callback in enumerate(self._others):
            plain, callback_tensors = _flatten(callback.state_dict(), f"callbacks/{j}/")
            tensors.update(callback_tensors)
            entries.append({"class": type(callback).__name__, "plain": plain})
        tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
        metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "state": json.dumps({"epoch": epochs_done, "finished": finished,
                                         "stop_training": bool(model.stop_training), "fit_seed": model.fit_seed,
                                         "optimizer_state": optimizer_plain, "callbacks": entries})}
        atomic_write(self.path, lambda temp: save_file(tensors, temp, metadata=metadata))


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    return read_backup_file(path, owner="BackupAndRestore", format=FORMAT, version=FORMAT_VERSION)


def read_backup_file(path: Path, *, owner: str, format: str, version: int) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors and the JSON state of a safetensors backup written with ``{"format", "format_version", "state"}``
    metadata; a damaged file, another format or an unreadable state is a ValueError naming ``owner`` and the fix."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as error:  # safetensors raises its own types for damaged files
        raise ValueError(f"{owner}: {str(path)!r} is not a readable backup ({type(error).__name__}: "
                         f"{error}); delete it to start afresh.") from None
    if metadata.get("format") != format or metadata.get("format_version") != version:
        raise ValueError(f"{owner}: {str(path)!r} is not a backup of this kind (format {metadata.get('format')!r} "
                         f"version {metadata.get('format_version')!r}; expected {format!r} version {version}); "
                         f"delete it to start afresh.")
    try:
        return tensors, json.loads(metadata["state"])
    except (KeyError, json.JSONDecodeError) as error:
        raise ValueError(f"{owner}: {str(path)!r} has no readable state ({error}); delete it to start "
                         f"afresh.") from None


def _group(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def _flatten(state: dict[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Split a callback's state into JSON values and tensors (a tensor, or a dict of tensors, per key)."""
    plain: dict[str, Any] = {}
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            tensors[prefix + key] = value
            plain[key] = {"__tensor__": True}
        elif isinstance(value, dict) and value and all(isinstance(v, torch.Tensor) for v in value.values()):
            tensors.update({f"{prefix}{key}/{k}": v for k, v in value.items()})
            plain[key] = {"__tensors__": list(value)}
        else:
            plain[key] = value
    return plain, tensors


def _unflatten(plain: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for key, value in plain.items():
        if isinstance(value, dict) and value.get("__tensor__"):
            state[key] = tensors[key]
        elif isinstance(value, dict) and "__tensors__" in value:
            state[key] = {k: tensors[f"{key}/{k}"] for k in value["__tensors__"]}
        else:
            state[key] = value
    return state
