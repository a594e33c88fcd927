r"""The train step of ``compile(optimizer="hessian_free")``: one Hessian-free update per ``fit`` batch.

For a batch of B examples and the optimizer's stride k = round(1 / curvature_fraction), s the updates so far:

    gradient batch       every row: L, g = ∇L, and L(θ + δ) for CG-backtracking and the line search
    curvature batch      rows s mod k, s mod k + k, …  (a different 1/k of the batch each step)
    preconditioner rows  the first ≤ 32 curvature rows (their per-example gradients cost rows² backward work)

The gradient and the objective run the model as built (fused kernels: one backward each, exact). The
curvature products and the preconditioner run it with every ``rnnkit.nn`` recurrent layer on its per-step
reference cells (``reference_path``): G v differentiates the backward, which the fused kernels do not allow. The
hidden states of structural damping are the output sequences of those layers (``record_hidden``), so the top
layer of each stacked recurrent layer. The loss is the compiled one, per example (``CompiledLoss.per_example``):
masks of padded sequence outputs and ``sample_weight`` count as in every other step, so L is the same number
``fit`` reports for any optimizer.

The curvature is that of the compiled loss at the model's outputs: for ``mse`` on a linear output and for
cross-entropy ``from_logits=True`` the loss matches its output nonlinearity (Schraudolph 2002), the Gauss–Newton
matrix Martens recommends. Cross-entropy on softmax outputs gives a positive semi-definite G too (−ln p is convex
in p) but a poorer model of the curvature: prefer a linear last layer with ``from_logits=True``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit.training.data import Batch
from rnnkit.training.hessian_free import record_hidden, reference_path
from rnnkit.training.step import output_masks
from rnnkit.training.structure import map_structure

__all__ = ["PRECONDITIONER_ROWS", "curvature_rows", "hessian_free_train_step"]

PRECONDITIONER_ROWS = 32


def curvature_rows(B: int, stride: int, step: int) -> Tensor:
    """Rows (s mod k), (s mod k) + k, … < B of a batch of B, k = ``stride`` (at least one row)."""
    k = max(1, min(int(stride), int(B)))
    return torch.arange(step % k, B, k)


def _rows(batch: Batch, index: Tensor) -> Batch:
    def pick(t: Any) -> Any:
        return t[index.numpy()] if not isinstance(t, Tensor) else t[index.to(t.device)]

    cut = lambda value: None if value is None else map_structure(pick, value)  # noqa: E731
    return Batch(cut(batch.x), cut(batch.y), None if batch.lengths is None else batch.lengths[index],
                 None if batch.sample_weight is None else batch.sample_weight[index.to(batch.sample_weight.device)])


def hessian_free_train_step(model: Any, batch: Batch) -> dict[str, Any]:
    """One update of ``model`` (compiled with ``optimizer="hessian_free"``) on ``batch``; the logs of a train step
    (``loss`` before the update, with ``damping`` λ for the next step and the ``cg_iterations`` run)."""
    optimizer = model.optimizer
    if getattr(optimizer, "name", None) != "hessian_free":
        raise TypeError(f"hessian_free_train_step: the model must be compiled with optimizer='hessian_free'; got "
                        f"{type(optimizer).__name__}.")
    if model.__dict__.get("_ddp") is not None:
        raise ValueError("fit: optimizer='hessian_free' runs in one process (its conjugate-gradient products are not "
                         "all-reduced); got a distributed fit. Drop distributed=True / torchrun, or use optimizer='adam'.")
    model.train()
    hf = optimizer.hf
    seen: dict[str, Any] = {}

    def loss_fn(y_pred: Any, b: Batch) -> Tensor:
        masks = output_masks(y_pred, model.output_lengths(y_pred, b.lengths))
        return model.compiled_loss.per_example(b.y, y_pred, masks=masks, sample_weight=b.sample_weight)

    def forward(b: Batch) -> tuple[Any, None]:
        y_pred = model(b.x, lengths=b.lengths)
        seen.setdefault("y_pred", y_pred)                 # the first call: the gradient pass at θ, for the metrics
        return y_pred, None

    def curvature_forward(b: Batch) -> tuple[Any, list[Tensor]]:
        with reference_path(model), record_hidden(model) as hidden:
            y_pred = model(b.x, lengths=b.lengths)
        return y_pred, hidden

    rows = curvature_rows(batch.size, optimizer.curvature_stride, hf.steps)
    curvature_batch = _rows(batch, rows)
    preconditioner_batch = _rows(batch, rows[:PRECONDITIONER_ROWS])
    if model._snapshot is not None:
        model._snapshot.save()
    logs = hf.step(forward, loss_fn, batch, curvature_batch, preconditioner_batch, curvature_forward=curvature_forward)
    y_pred = map_structure(lambda t: t.detach(), seen["y_pred"])
    masks = output_masks(y_pred, model.output_lengths(y_pred, batch.lengths))
    model.compiled_loss.update_metrics(batch.y, y_pred, masks=masks, sample_weight=batch.sample_weight)
    return {"loss": torch.tensor(logs["loss"]), "damping": torch.tensor(logs["damping"]),
            "cg_iterations": torch.tensor(logs["cg_iterations"])}
