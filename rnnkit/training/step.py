"""One training step and one evaluation step; ``fit`` and ``evaluate`` only loop over these.

A step whose loss or gradient is not finite changes nothing and reports divergence: the weights
stay those of the last finite step, and the caller stops training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from rnnkit.training.data import Batch, sequence_mask

__all__ = ["StepResult", "train_step", "test_step", "WeightSnapshot"]


@dataclass(frozen=True)
class StepResult:
    loss: float
    diverged: bool = False
    reason: str = ""


def train_step(model: Any, batch: Batch, *, snapshot: WeightSnapshot | None = None) -> StepResult:
    """Forward, loss, backward, clip, update; then the metrics on this batch's predictions.

    ``snapshot`` is refreshed once the loss and gradients are known to be finite, just before the
    update, so it always holds weights whose loss was finite.
    """
    model.train()
    y_pred, lengths = model.forward_with_lengths(batch.x, lengths=batch.lengths)
    mask = sequence_mask(y_pred, lengths)                   # (B, T) for padded sequence outputs
    loss = model.loss(batch.y, y_pred, mask=mask)
    loss_value = float(loss.detach())
    if not torch.isfinite(loss.detach()):
        return StepResult(loss_value, diverged=True, reason=f"the loss became {loss_value}")
    optimizer = model.optimizer
    optimizer.zero_grad()
    loss.backward()
    grad_norm = optimizer.clip_gradients()
    if not torch.isfinite(grad_norm):
        return StepResult(loss_value, diverged=True, reason=f"the gradient norm became {float(grad_norm)}")
    if snapshot is not None:
        snapshot.save()
    optimizer.step()
    y_pred = y_pred.detach()
    for metric in model.compiled_metrics:
        metric.update(batch.y, y_pred, mask=mask)
    return StepResult(loss_value)


@torch.no_grad()
def test_step(model: Any, batch: Batch) -> StepResult:
    """Loss and metric updates without gradients, in eval mode (no dropout)."""
    model.eval()
    y_pred, lengths = model.forward_with_lengths(batch.x, lengths=batch.lengths)
    mask = sequence_mask(y_pred, lengths)
    loss = model.loss(batch.y, y_pred, mask=mask)
    for metric in model.compiled_metrics:
        metric.update(batch.y, y_pred, mask=mask)
    return StepResult(float(loss.detach()))


class WeightSnapshot:
    """A copy of the model's parameters, refreshed before each update, to undo a diverging step."""

    def __init__(self, model: torch.nn.Module) -> None:
        self._params = list(model.parameters())
        self._copy = [p.detach().clone() for p in self._params]

    @torch.no_grad()
    def save(self) -> None:
        for saved, p in zip(self._copy, self._params):
            saved.copy_(p)

    @torch.no_grad()
    def restore(self) -> None:
        for saved, p in zip(self._copy, self._params):
            p.copy_(saved)
