"""Magnitude pruning: zero the smallest weights, and keep them zero while the model is fine-tuned.

Unstructured, over the weight matrices W (every parameter with 2 or more axes; biases and norm gains stay):

    mask_i = 0  for the ⌊amount · n⌉ entries of smallest |w_i|,  1 otherwise

ranked over all the matrices at once (``scope="global"``: a layer whose weights matter less loses more of them)
or within each matrix (``scope="layer"``).

Structured by hidden unit, for the plain recurrent layers of ``rnnkit.nn`` (Elman, LSTM, GRU; each layer and
direction). Unit j of a layer with G gate blocks has the score

    s_j = sqrt( Σ_g ‖W_ih[gH + j, :]‖² + Σ_g ‖W_hh[gH + j, :]‖² + ‖W_hh[:, j]‖² )

and pruning it zeroes row j of every gate block of W_ih and W_hh, its biases, and column j of W_hh. Its gates then
see a pre-activation of 0 at every step, so from a zero initial state the unit stays at 0 exactly: Elman
h_j = tanh(0); LSTM c_j ← σ(0) c_j + σ(0) tanh(0) = c_j / 2, h_j = σ(0) tanh(c_j); GRU h_j ← (1 − σ(0)) tanh(0) +
σ(0) h_j = h_j / 2 — the hidden size shrinks by the pruned units in effect, and the weights that read h_j from
the next layer see 0. Layer-normalised cells are refused: normalising a row of zeros does not give zeros.

``KeepPruned(masks)`` re-applies the masks after every training batch, so fine-tuning with any optimiser
(Adam's moments included) leaves the pruned entries at 0.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.training.callback import Callback, Logs

__all__ = ["KeepPruned", "apply_masks", "magnitude_prune", "sparsity"]

SCOPES = ("global", "layer")


def magnitude_prune(model: nn.Module, amount: float, *, structured: bool = False,
                    scope: str | None = None) -> dict[str, Tensor]:
    """Zero the ``amount`` (in [0, 1)) of smallest weights (or, ``structured=True``, hidden units) of ``model``
    in place; returns the masks by parameter name (1 keeps, 0 prunes) for ``KeepPruned`` and ``sparsity``.
    ``scope``: "global" (rank across tensors; the default unstructured) or "layer" (within each tensor or
    recurrent layer; the default structured)."""
    owner = "magnitude_prune"
    if not isinstance(model, nn.Module):
        raise TypeError(f"{owner}: model must be a torch.nn.Module (an rnnkit model or layer); "
                        f"got {type(model).__name__}.")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0.0 <= float(amount) < 1.0:
        raise ValueError(f"{owner}: amount must be a fraction in [0, 1), e.g. 0.5 to prune half; got {amount!r}.")
    scope = scope if scope is not None else ("layer" if structured else "global")
    if scope not in SCOPES:
        raise ValueError(f"{owner}: scope must be one of {SCOPES}; got {scope!r}.")
    masks = _unit_masks(model, float(amount), scope) if structured else _weight_masks(model, float(amount), scope)
    apply_masks(model, masks)
    return masks


def _weight_masks(model: nn.Module, amount: float, scope: str) -> dict[str, Tensor]:
    weights = {name: p for name, p in model.named_parameters() if p.dim() >= 2}
    if not weights:
        raise ValueError("magnitude_prune: the model has no weight matrices to prune (parameters with 2 or more "
                         "axes); build it first (model.build(input_shape) or one forward pass).")
    if scope == "layer":
        return {name: _smallest_off(p.detach().abs().flatten(), amount).view_as(p) for name, p in weights.items()}
    flat = _smallest_off(torch.cat([p.detach().abs().flatten().double() for p in weights.values()]), amount)
    masks, start = {}, 0
    for name, p in weights.items():
        masks[name] = flat[start:start + p.numel()].view_as(p).to(p.dtype)
        start += p.numel()
    return masks


def _smallest_off(scores: Tensor, amount: float) -> Tensor:
    """A 0/1 vector: 0 at the round(amount · n) smallest scores (ties by position), 1 elsewhere."""
    k = int(round(amount * scores.numel()))
    mask = torch.ones_like(scores)
    if k:
        mask[torch.argsort(scores, stable=True)[:k]] = 0
    return mask


def _recurrent_layers(model: nn.Module) -> list[tuple[str, Any]]:
    from rnnkit.nn.layer_norm import LayerNormGRU, LayerNormLSTM
    from rnnkit.nn.recurrent import RecurrentLayer

    found = []
    for prefix, module in model.named_modules():
        if isinstance(module, (LayerNormLSTM, LayerNormGRU)):
            raise ValueError(f"magnitude_prune: structured=True prunes hidden units of plain Elman/LSTM/GRU layers; "
                             f"{prefix or 'the model'} is a {type(module).__name__}, whose layer norm turns a unit's "
                             f"zero rows into non-zero values. Use structured=False for it.")
        if isinstance(module, RecurrentLayer):
            found.append((prefix, module))
    if not found:
        raise ValueError("magnitude_prune: structured=True needs rnnkit recurrent layers (LSTM, GRU, SimpleRNN / "
                         "rnnkit.nn.RNN) to prune hidden units of; this model has none. Use structured=False.")
    return found


def _unit_masks(model: nn.Module, amount: float, scope: str) -> dict[str, Tensor]:
    blocks = []   # (parameter names, gate count, H, unit scores) per layer-direction
    for prefix, layer in _recurrent_layers(model):
        H, gates = layer.hidden_size, layer.gate_count
        for names in layer._weight_names.values():
            w_ih, w_hh = (getattr(layer, n).detach().double() for n in names[:2])
            rows = (w_ih.pow(2).sum(1) + w_hh.pow(2).sum(1)).view(gates, H).sum(0)
            scores = (rows + w_hh.pow(2).sum(0)).sqrt()
            full = [f"{prefix}.{n}" if prefix else n for n in names]
            blocks.append((full, names, layer, gates, H, scores))
    if scope == "layer":
        keeps = [_smallest_off(scores, amount) for *_, scores in blocks]
    else:
        flat = _smallest_off(torch.cat([scores for *_, scores in blocks]), amount)
        keeps = list(torch.split(flat, [H for *_, H, _ in blocks]))
    masks: dict[str, Tensor] = {}
    for (full, names, layer, gates, H, _), keep in zip(blocks, keeps):
        row = keep.repeat(gates)                                   # (G·H,): unit j in every gate block
        for qualified, name in zip(full, names):
            if name is None:
                continue
            p = getattr(layer, name)
            mask = row[:, None].expand(p.shape) if p.dim() == 2 else row
            if name.startswith("weight_hh"):
                mask = mask * keep[None, :]                        # column j: what the unit feeds back
            masks[qualified] = mask.to(p.dtype).clone()
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, Tensor]) -> None:
    """p ← p ⊙ mask for every masked parameter (in place; the masks from ``magnitude_prune``)."""
    params = dict(model.named_parameters())
    missing = sorted(set(masks) - set(params))
    if missing:
        raise ValueError(f"apply_masks: the masks name parameters the model does not have: {missing[:3]}; "
                         f"use the masks magnitude_prune returned for this model.")
    for name, mask in masks.items():
        p = params[name]
        if mask.shape != p.shape:
            raise ValueError(f"apply_masks: mask of {name} has shape {tuple(mask.shape)}, the parameter "
                             f"{tuple(p.shape)}.")
        p.mul_(mask.to(device=p.device, dtype=p.dtype))


def sparsity(model: nn.Module, masks: dict[str, Tensor] | None = None) -> float:
    """The fraction of exact zeros in the masked parameters (``masks`` given) or in every weight matrix."""
    params = dict(model.named_parameters())
    names = list(masks) if masks is not None else [n for n, p in params.items() if p.dim() >= 2]
    total = sum(params[n].numel() for n in names)
    zeros = sum(int((params[n].detach() == 0).sum()) for n in names)
    return zeros / total if total else 0.0


class KeepPruned(Callback):
    """Re-apply pruning masks after every training batch (and once when training begins), so fine-tuning
    leaves the pruned weights at exactly 0."""

    def __init__(self, masks: dict[str, Tensor]) -> None:
        super().__init__()
        if not isinstance(masks, dict) or not masks:
            raise ValueError(f"KeepPruned: masks must be the non-empty dict magnitude_prune returned; got {masks!r:.60}.")
        self.masks = masks

    def on_train_begin(self, logs: Logs | None = None) -> None:
        apply_masks(self.model, self.masks)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        apply_masks(self.model, self.masks)
