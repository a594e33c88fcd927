r"""The two callbacks of a language-model fit: the learning-rate schedule under a time budget, and the
validation of the held-out text after every epoch (the best epoch's weights are kept).

Progress p ∈ [0, 1] is how far the run is, by steps or by wall time, whichever is further:

    p = max(step / total_steps, seconds / budget)          lr(p) = lr_min + (lr_0 − lr_min) · (1 + cos πp) / 2

with lr_min = 0.05 lr_0 ("cosine"; "constant" keeps lr_0), and the first ``warmup`` steps ramping up
linearly. Training stops at p = 1. Scheduling by time as well as steps means a run on a slow or busy
machine still decays its learning rate before its budget runs out; a run without a budget (or one that
never reaches it) is scheduled by steps alone, hence repeatable.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from rnnkit.training.callback import Callback, Logs

__all__ = ["TimeBudget", "StreamValidation", "FINAL_FRACTION"]

FINAL_FRACTION = 0.05


class TimeBudget(Callback):
    """Sets the learning rate before every step and stops at the end of the step where the budget runs out;
    records the loss of every step with its time (``curve``: [(seconds, loss), ...])."""

    def __init__(self, *, learning_rate: float, total_steps: int, budget_seconds: float, schedule: str = "cosine",
                 warmup: int = 0) -> None:
        super().__init__()
        self.learning_rate, self.total_steps, self.budget = float(learning_rate), int(total_steps), float(budget_seconds)
        self.schedule, self.warmup = schedule, int(warmup)
        self.steps, self.elapsed_before, self.curve = 0, 0.0, []
        self._start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return self.elapsed_before + time.perf_counter() - self._start

    def progress(self) -> float:
        by_time = self.seconds / self.budget if self.budget > 0 else 0.0
        return min(1.0, max(self.steps / max(self.total_steps, 1), by_time))

    def rate(self, progress: float) -> float:
        lr = self.learning_rate
        if self.schedule == "cosine":
            floor = FINAL_FRACTION * lr
            lr = floor + (lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        if self.steps < self.warmup:
            lr *= (self.steps + 1) / self.warmup
        return lr

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._start = time.perf_counter()

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self.model.optimizer.learning_rate = self.rate(self.progress())

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self.steps += 1
        self.curve.append((round(self.seconds, 3), float(self.model.last_loss)))
        if self.budget > 0 and self.seconds >= self.budget:      # (the steps run out with the last epoch)
            self.model.stop_training = True
            if self.model.history is not None:
                self.model.history.stop_reason = (f"the time budget of {self.budget / 60:g} min ran out after "
                                                  f"step {self.steps}")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["lr"] = self.model.optimizer.learning_rate
            logs["minutes"] = self.seconds / 60

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "seconds": self.seconds, "curve": [list(p) for p in self.curve]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps, self.elapsed_before = int(state["steps"]), float(state["seconds"])
        self.curve = [tuple(p) for p in state["curve"]]
        self._start = time.perf_counter()


class StreamValidation(Callback):
    """After every epoch: the validation loss (nats per token, the held-out text read with its state
    carried, see ``metrics.stream_nats``) as ``val_loss``; at the end the best epoch's weights are restored."""

    def __init__(self, ids: np.ndarray, *, streams: int, warmup: int, clock: TimeBudget | None = None) -> None:
        super().__init__()
        self.ids, self.streams, self.warmup, self.clock = ids, streams, warmup, clock
        self.best, self.best_epoch, self.best_weights = math.inf, None, None
        self.points: list[tuple[float, float]] = []      # (seconds, val_loss), for the loss plot

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        from rnnkit.tasks.lm.metrics import stream_nats

        value = stream_nats(self.model, self.ids, streams=self.streams, warmup=self.warmup) / (len(self.ids) - 1)
        if logs is not None:
            logs["val_loss"] = value
        self.points.append((round(self.clock.seconds, 3) if self.clock else float(epoch + 1), value))
        if value < self.best:
            self.best, self.best_epoch = value, epoch
            self.best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"best": self.best, "best_epoch": self.best_epoch,
                                 "points": [list(p) for p in self.points]}
        if self.best_weights is not None:
            state["best_weights"] = self.best_weights
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), state["best_epoch"]
        self.points = [tuple(p) for p in state["points"]]
        self.best_weights = state.get("best_weights")
