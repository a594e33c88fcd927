"""One training step and one evaluation step, as ``Model.train_step`` / ``Model.test_step`` run them.

    train_step:  ŷ = model(x) → loss = Σ_k w_k L_k(y_k, ŷ_k) → optimize(loss) → metrics(y, ŷ)

``optimize`` is the part a custom ``train_step`` calls too (teacher forcing, CTC, distillation...): it
refuses a non-finite loss or gradient *before* changing anything — the weights stay those of the last
finite step and ``fit`` stops with a clear message (``Diverged``) — then refreshes the divergence
snapshot, clips and applies the update.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from rnnkit.training.data import Batch, sequence_mask

__all__ = ["Diverged", "StepResult", "WeightSnapshot", "default_test_step", "default_train_step", "optimize",
           "output_masks", "train_step", "test_step"]


class Diverged(RuntimeError):
    """A step's loss or gradient was not finite; nothing was updated."""


class StepResult:
    """What the pre-``Model`` API returned from a step (kept for code that called ``train_step`` directly)."""

    def __init__(self, loss: float, diverged: bool = False, reason: str = "") -> None:
        self.loss, self.diverged, self.reason = loss, diverged, reason


def output_masks(y_pred: Any, lengths: Tensor | None) -> dict[Any, Tensor | None]:
    """``(B, T)`` masks of the sequence-shaped outputs of a padded batch, by output key (None: single)."""
    if isinstance(y_pred, dict):
        return {k: sequence_mask(v, lengths) for k, v in y_pred.items()}
    if isinstance(y_pred, tuple):
        return {k: sequence_mask(v, lengths) for k, v in enumerate(y_pred)}
    return {None: sequence_mask(y_pred, lengths)}


def optimize(model: Any, loss: Tensor, *, snapshot: WeightSnapshot | None = None) -> None:
    """Backward, clip, update — or raise ``Diverged`` and change nothing."""
    loss_value = float(loss.detach())
    finite = math.isfinite(loss_value)
    distributed = model.__dict__.get("_ddp") is not None
    if not finite and not distributed:
        raise Diverged(f"the loss became {loss_value}")
    if not finite:
        # the other ranks are about to all-reduce gradients: join them with NaN gradients, which makes the
        # averaged gradient non-finite everywhere, so every rank stops at this step (below)
        loss = loss * float("nan")
    optimizer = model.optimizer
    optimizer.zero_grad()
    loss.backward()
    grad_norm = float(optimizer.clip_gradients())
    if not math.isfinite(grad_norm):
        optimizer.zero_grad()
        raise Diverged(f"the loss became {loss_value}" if not finite else f"the gradient norm became {grad_norm}")
    if snapshot is not None:
        snapshot.save()
    optimizer.step()


def default_train_step(model: Any, batch: Batch) -> dict[str, Tensor]:
    if getattr(model.optimizer, "name", None) == "hessian_free":     # needs the forward, not just the loss
        from rnnkit.training.hessian_free_step import hessian_free_train_step

        return hessian_free_train_step(model, batch)
    if not model.training:  # fit puts the model in training mode each epoch; evaluate/predict take it out
        model.train()
    y_pred, lengths = model.forward_with_lengths(batch.x, lengths=batch.lengths)
    masks = output_masks(y_pred, lengths)
    logs = model.compiled_loss(batch.y, y_pred, masks=masks, sample_weight=batch.sample_weight)
    model.optimize(logs["loss"])
    model.compiled_loss.update_metrics(batch.y, y_pred, masks=masks, sample_weight=batch.sample_weight)
    return {**logs, "loss": logs["loss"].detach()}


@torch.no_grad()
def default_test_step(model: Any, batch: Batch) -> dict[str, Tensor]:
    model.eval()
    y_pred, lengths = model.forward_with_lengths(batch.x, lengths=batch.lengths)
    masks = output_masks(y_pred, lengths)
    logs = model.compiled_loss(batch.y, y_pred, masks=masks, sample_weight=batch.sample_weight)
    model.compiled_loss.update_metrics(batch.y, y_pred, masks=masks, sample_weight=batch.sample_weight)
    return logs


def train_step(model: Any, batch: Batch, *, snapshot: WeightSnapshot | None = None) -> StepResult:
    """One step outside ``fit`` (the pre-``Model`` function API): a ``StepResult``, never an exception."""
    model._snapshot = snapshot
    try:
        logs = model.train_step(batch)
    except Diverged as reason:
        return StepResult(float("nan"), diverged=True, reason=str(reason))
    finally:
        model._snapshot = None
    return StepResult(float(logs["loss"]))


def test_step(model: Any, batch: Batch) -> StepResult:
    return StepResult(float(model.test_step(batch)["loss"]))


class WeightSnapshot:
    """A copy of the model's parameters, refreshed before each update, to undo a diverging step."""

    def __init__(self, model: torch.nn.Module) -> None:
        self._params = list(model.parameters())
        self._copy = [p.detach().clone() for p in self._params]

    @torch.no_grad()
    def save(self) -> None:
        torch._foreach_copy_(self._copy, self._params)  # one call per step instead of one per tensor

    @torch.no_grad()
    def restore(self) -> None:
        torch._foreach_copy_(self._params, self._copy)
