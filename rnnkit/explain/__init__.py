"""Interpretability views of recurrent models (§8.2): what the gates do, and which inputs a prediction uses.

- ``gate_activations(model, x)``: per step i, f, g, o, c, h (LSTM), r, z, n, h (GRU), h (RNN) of every
  recurrent layer, (B, T, H), replayed through each layer's own reference step.
- ``saliency`` (B, T), ``integrated_gradients`` (B, T, I) or per token (B, T), with the completeness gap,
  and ``lag_importance`` (mean |IG| per lag and per feature) for forecasting inputs.
- ``plot_gates``, ``plot_attributions`` and ``write_report`` (``explain.html``); ``explain_model`` makes
  all of them for one batch, into one folder.

Shape legend: B batch, T time, I input features, H hidden units.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from rnnkit.diagnostics.gradients import recurrent_layers
from rnnkit.explain.attribution import Attribution, LagImportance, integrated_gradients, lag_importance, saliency
from rnnkit.explain.gates import gate_activations, gate_names
from rnnkit.explain.plots import REPORT_FILE, ReportSection, plot_attributions, plot_gates, write_report

__all__ = ["gate_activations", "gate_names", "saliency", "integrated_gradients", "lag_importance", "Attribution",
           "LagImportance", "plot_gates", "plot_attributions", "write_report", "ReportSection", "REPORT_FILE",
           "explain_model"]


def _as_input(x: Any, model: nn.Module) -> Any:
    """Float arrays in the dtype of the model's weights (ids and other values unchanged: the checks name them)."""
    t = torch.from_numpy(x) if isinstance(x, np.ndarray) else x
    weight = next((p for p in model.parameters() if p.is_floating_point()), None)
    if isinstance(t, torch.Tensor) and t.is_floating_point() and weight is not None:
        t = t.to(weight.dtype)
    return t


def explain_model(model: nn.Module, x: Any, *, folder: str | os.PathLike, lengths: Any = None,
                  tokens: Sequence[Any] | None = None, steps: int = 32, target: Any = None,
                  sample: int = 0) -> Path:
    """Explain ``model`` on the batch ``x`` ((B, T, I) floats or (B, T) ids; float arrays are cast to the
    weights' dtype) into ``folder``: gates.png (if the model has a recurrent layer), saliency.png, ig.png,
    lags.png (float inputs) and explain.html with their tables. ``tokens``: the text of sequence ``sample``
    (or one list per sequence) to label token plots. Returns the path of explain.html."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    x = _as_input(x, model)
    sections: list[ReportSection] = []
    ig = integrated_gradients(model, x, steps=steps, target=target, lengths=lengths)
    shape = tuple(x.shape) if hasattr(x, "shape") else "?"
    sections.append(ReportSection(
        title="Model", text=f"{type(model).__name__} on a batch of shape {shape}.",
        table=[("sequences", ig.scores.shape[0]), ("time steps", ig.scores.shape[1]),
               ("attributed output index (sequence 0)", int(ig.target[0])),
               ("output F(x) (sequence 0)", float(ig.output[0]))]))
    if recurrent_layers(model):
        activations = gate_activations(model, x, lengths=lengths)
        table = [(f"{key} mean {name}", float(np.nanmean(a))) for key, gates in activations.items()
                 for name, a in gates.items() if name not in ("c", "h")]
        sections.append(ReportSection(
            title="Gates", image=plot_gates(folder / "gates.png", activations, sample=sample).name, table=table,
            text=f"Gate and state values of sequence {sample}, units × time, per recurrent layer and direction."))
    token_view = ig.scores.ndim == 2
    sal = saliency(model, x, target=target, lengths=lengths)
    labels = tokens if token_view else None
    sections.append(ReportSection(
        title="Saliency", text="Σ over features of |∂ŷ/∂x_t| (for token ids: over the embedding).",
        image=plot_attributions(folder / "saliency.png", sal, tokens=labels, sample=sample,
                                title="saliency").name))
    gap = np.abs(ig.completeness_gap)
    ig_scores = ig.scores if token_view else ig.scores.sum(axis=2)                # (B, T)
    sections.append(ReportSection(
        title="Integrated gradients",
        text=f"Baseline zeros, trapezoid rule on {ig.steps} steps; summed over features per step.",
        image=plot_attributions(folder / "ig.png", ig_scores, tokens=labels, sample=sample,
                                title="integrated gradients").name,
        table=[("steps", ig.steps), ("max |Σ IG − (F(x) − F(0))|", float(gap.max())),
               ("max |F(x) − F(0)|", float(np.abs(ig.output - ig.baseline_output).max()))]))
    if not token_view:
        lags = lag_importance(model, x, steps=steps, target=target, lengths=lengths)
        sections.append(ReportSection(
            title="Importance per lag and feature", text="Mean |IG| per lag (0 = the last real step).",
            image=plot_attributions(folder / "lags.png", lags.per_lag, title="mean |IG| per lag").name,
            table=[(f"feature {k}", float(v)) for k, v in enumerate(lags.per_feature)]))
    return write_report(folder, sections)
