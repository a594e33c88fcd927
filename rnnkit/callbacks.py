"""Callbacks for ``fit``: ``EarlyStopping``, ``ModelCheckpoint``, ``ReduceLROnPlateau``, ``CSVLogger``,
``TerminateOnNaN``, ``BackupAndRestore``, ``TensorBoard``; and the ``Callback`` base and ``History`` they share with the
training loop.

A callback that monitors a quantity (``"val_loss"`` by default) raises a clear error at the first
epoch end if that quantity is not logged, rather than silently doing nothing.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import torch

from rnnkit.diagnostics.monitor import GradientMonitor
from rnnkit.training.backup import BackupAndRestore
from rnnkit.training.callback import Callback, Logs
from rnnkit.training.distributed import is_rank_zero
from rnnkit.training.history import History
from rnnkit.training.tensorboard import TensorBoard

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN",
           "BackupAndRestore", "GradientMonitor", "TensorBoard"]


class _Monitor:
    """Tracks the best value of ``monitor``; ``mode`` "auto" minimises unless the name looks like a score."""

    def __init__(self, owner: str, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max'; got {mode!r}.")
        if mode == "auto":
            scores = ("acc", "auc", "precision", "recall")
            mode = "max" if any(s in monitor for s in scores) else "min"
        self.owner, self.monitor, self.mode, self.min_delta = owner, monitor, mode, abs(float(min_delta))
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs: Logs | None) -> float:
        logs = logs or {}
        if self.monitor not in logs:
            hint = " Pass validation_data or validation_split to fit, or monitor='loss'." if self.monitor.startswith("val_") else ""
            raise ValueError(
                f"{self.owner}: monitor={self.monitor!r} is not among the logged quantities {sorted(logs)}.{hint}"
            )
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights=True`` the model ends training with the weights of its best epoch
    (also when training ran to the last epoch or stopped for another reason).
    """

    def __init__(
        self, monitor: str = "val_loss", *, min_delta: float = 0.0, patience: int = 0, mode: str = "auto",
        baseline: float | None = None, restore_best_weights: bool = False, start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        self._monitor = _Monitor("EarlyStopping", monitor, mode, min_delta)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0; got {patience!r}.")
        self.patience, self.baseline = patience, baseline
        self.restore_best_weights, self.start_from_epoch = bool(restore_best_weights), int(start_from_epoch)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait, self.stopped_epoch, self.best_epoch = 0, None, None
        self.best_weights: dict[str, torch.Tensor] | None = None
        m = self._monitor
        m.best = (math.inf if m.mode == "min" else -math.inf) if self.baseline is None else float(self.baseline)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        value = self._monitor.value(logs)
        if epoch < self.start_from_epoch:
            return
        if self._monitor.improved(value):
            self._monitor.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:  # wait >= 1 here: this epoch did not improve
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        state = {"wait": self.wait, "best": self._monitor.best, "best_epoch": self.best_epoch,
                 "stopped_epoch": self.stopped_epoch}
        if self.best_weights is not None:
            state["best_weights"] = self.best_weights
        return state

    def load_state_dict(self, state: dict) -> None:
        self.wait, self._monitor.best = int(state["wait"]), float(state["best"])
        self.best_epoch, self.stopped_epoch = state.get("best_epoch"), state.get("stopped_epoch")
        self.best_weights = state.get("best_weights")

    @property
    def best(self) -> float:
        return self._monitor.best


class ModelCheckpoint(Callback):
    """Save the model (weights, architecture, optimizer state, epoch) after every epoch, or only when
    ``monitor`` improves with ``save_best_only=True``. ``filepath`` may hold ``{epoch}`` and log keys,
    e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``; ``{epoch}`` counts from 1, as in Keras.
    Each write goes to a temporary file first and is renamed into place, so a crash never leaves a
    half-written checkpoint. Resume with ``model = rnnkit.load_model(path)`` and
    ``model.fit(..., initial_epoch=model.saved_epoch)``.
    """

    def __init__(
        self, filepath: str | os.PathLike, *, monitor: str = "val_loss", mode: str = "auto",
        save_best_only: bool = False, include_optimizer: bool = True,
    ) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        self._monitor = _Monitor("ModelCheckpoint", monitor, mode, 0.0)
        self.save_best_only, self.include_optimizer = bool(save_best_only), bool(include_optimizer)
        self.last_saved: Path | None = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        from rnnkit.saving import save_model

        logs = logs or {}
        if self.save_best_only:
            value = self._monitor.value(logs)
            if not self._monitor.improved(value):
                return
            self._monitor.best = value
        try:
            path = Path(self.filepath.format(epoch=epoch + 1, **logs))
        except (KeyError, ValueError, IndexError) as error:
            raise ValueError(
                f"ModelCheckpoint: cannot fill filepath {self.filepath!r} with epoch and {sorted(logs)}: {error}."
            ) from None
        if is_rank_zero():  # a distributed run: every rank holds the same weights; rank 0 writes them
            save_model(self.model, path, include_optimizer=self.include_optimizer, epoch=epoch + 1)
        self.last_saved = path

    def state_dict(self) -> dict:
        return {"best": self._monitor.best}

    def load_state_dict(self, state: dict) -> None:
        self._monitor.best = float(state["best"])


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stalled for ``patience`` epochs.

    Logs the learning rate of each epoch as ``"learning_rate"``.
    """

    def __init__(
        self, monitor: str = "val_loss", *, factor: float = 0.1, patience: int = 10, mode: str = "auto",
        min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1); got {factor}.")
        self._monitor = _Monitor("ReduceLROnPlateau", monitor, mode, min_delta)
        self.factor, self.patience, self.cooldown, self.min_lr = float(factor), int(patience), int(cooldown), float(min_lr)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait, self.cooldown_left = 0, 0
        self._monitor.best = math.inf if self._monitor.mode == "min" else -math.inf

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        optimizer = self.model.optimizer
        if logs is not None:
            logs["learning_rate"] = optimizer.learning_rate
        value = self._monitor.value(logs)
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self._monitor.improved(value):
            self._monitor.best, self.wait = value, 0
        elif self.cooldown_left == 0:
            self.wait += 1
            if self.wait >= self.patience and optimizer.learning_rate > self.min_lr:
                optimizer.learning_rate = max(optimizer.learning_rate * self.factor, self.min_lr)
                self.cooldown_left, self.wait = self.cooldown, 0

    def state_dict(self) -> dict:
        return {"wait": self.wait, "cooldown_left": self.cooldown_left, "best": self._monitor.best}

    def load_state_dict(self, state: dict) -> None:
        self.wait, self.cooldown_left = int(state["wait"]), int(state["cooldown_left"])
        self._monitor.best = float(state["best"])


class CSVLogger(Callback):
    """Append one CSV row per epoch (``epoch`` then the logged quantities) to ``filename``."""

    def __init__(self, filename: str | os.PathLike, *, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename, self.separator, self.append = Path(filename), separator, bool(append)
        self._keys: list[str] | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._keys = None
        if self.append and self.filename.exists() and self.filename.stat().st_size > 0:
            with self.filename.open(newline="") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            self._keys = header[1:] if header else None
        elif not self.append and is_rank_zero():
            self.filename.write_text("")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if not is_rank_zero():
            return
        with self.filename.open("a", newline="") as f:
            writer = csv.writer(f, delimiter=self.separator)
            if self._keys is None:
                self._keys = list(logs)
                writer.writerow(["epoch", *self._keys])
            writer.writerow([epoch, *(logs.get(k, "") for k in self._keys)])

    def state_dict(self) -> dict:
        return {"keys": self._keys}

    def load_state_dict(self, state: dict) -> None:
        # resuming: on_train_begin emptied the file unless append=True; the rows of the restored epochs
        # are gone then, so the header is written again before the next row
        self._keys = state.get("keys") if self.filename.exists() and self.filename.stat().st_size > 0 else None


class TerminateOnNaN(Callback):
    """Stop as soon as a batch or epoch logs a non-finite loss. ``fit`` already stops on a non-finite
    training loss by itself; this callback also catches a non-finite ``val_loss``."""

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._check(logs, "loss")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._check(logs, "loss")
        self._check(logs, "val_loss")

    def _check(self, logs: Logs | None, key: str) -> None:
        value = (logs or {}).get(key)
        if value is not None and not math.isfinite(value):
            self.model.stop_training = True
