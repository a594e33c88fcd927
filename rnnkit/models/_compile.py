"""What ``compile`` builds: one loss (and metrics, and a weight) per model output.

A single-output model has one loss and a list of metrics, logged as ``loss``, ``accuracy``, ... With
several outputs (a tuple or dict returned by ``call``), ``loss``, ``metrics`` and ``loss_weights`` are
given per output, by position (list/tuple) or by name (dict); the total loss is
    loss = sum_k  w_k · loss_k(y_k, ŷ_k)
logged as ``loss`` with each term as ``<output>_loss`` and each metric as ``<output>_<metric>``,
where ``<output>`` is the dict key or ``output_<k>`` for position k (Keras names them after layers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from rnnkit import losses as losses_module
from rnnkit import metrics as metrics_module
from rnnkit.training.structure import keys_of, pick

__all__ = ["CompiledLoss", "compile_losses"]


class CompiledLoss:
    """The losses of every output, their weights and the metrics logged for each."""

    def __init__(self, *, keys: list[Any] | None, losses: dict[Any, losses_module.Loss], weights: dict[Any, float],
                 metrics: dict[Any, list[metrics_module.Metric]], loss_spec: Any, metric_spec: Any,
                 weight_spec: Any) -> None:
        self.keys = keys            # None: one output; else tuple positions or dict names
        self.losses, self.weights, self.metrics = losses, weights, metrics
        self.loss_spec, self.metric_spec, self.weight_spec = loss_spec, metric_spec, weight_spec

    @property
    def single(self) -> losses_module.Loss | None:
        return self.losses[None] if self.keys is None else None

    def output_name(self, key: Any) -> str:
        return key if isinstance(key, str) else f"output_{key}"

    def all_metrics(self) -> list[metrics_module.Metric]:
        return [m for key in (self.keys or [None]) for m in self.metrics.get(key, [])]

    def check_outputs(self, y_true: Any, y_pred: Any) -> None:
        if self.keys is None:
            if isinstance(y_pred, (tuple, dict)):
                raise ValueError(f"compile: the model returns {len(y_pred)} outputs ({type(y_pred).__name__}) but "
                                 f"was compiled with one loss; pass one loss per output, e.g. "
                                 f"loss={_example(y_pred)}.")
            return
        if keys_of(y_pred) != self.keys or type(y_pred) is not (dict if isinstance(self.keys[0], str) else tuple):
            raise ValueError(f"compile: the losses are for outputs {self.keys}; the model returned "
                             f"{keys_of(y_pred) if isinstance(y_pred, (tuple, dict)) else 'a single tensor'}.")
        if keys_of(y_true) != self.keys:
            raise ValueError(f"the targets y must be given per output {self.keys} (a {type(y_pred).__name__}); got "
                             f"{keys_of(y_true) if isinstance(y_true, (tuple, dict)) else 'a single array'}.")

    def __call__(self, y_true: Any, y_pred: Any, *, masks: dict[Any, Tensor | None],
                 sample_weight: Tensor | None) -> dict[str, Tensor]:
        """{"loss": total, "<output>_loss": term, ...} (only "loss" for one output)."""
        self.check_outputs(y_true, y_pred)
        if self.keys is None:
            return {"loss": self.losses[None](y_true, y_pred, mask=masks.get(None), sample_weight=sample_weight)}
        terms = {}
        for key in self.keys:
            terms[key] = self.losses[key](pick(y_true, key), pick(y_pred, key), mask=masks.get(key),
                                          sample_weight=sample_weight)
        total = sum(self.weights[key] * terms[key] for key in self.keys)
        return {"loss": total, **{f"{self.output_name(k)}_loss": v.detach() for k, v in terms.items()}}

    def per_example(self, y_true: Any, y_pred: Any, *, masks: dict[Any, Tensor | None],
                    sample_weight: Tensor | None) -> Tensor:
        """``(B,)`` per-example losses of a single-output model; their mean is ``self(...)["loss"]``."""
        if self.keys is not None:
            raise ValueError(f"compile: per-example losses (optimizer='hessian_free') need a model with one output; "
                             f"this one was compiled with losses for outputs {self.keys}. Train it with another "
                             "optimizer, e.g. optimizer='adam', or return a single output tensor.")
        self.check_outputs(y_true, y_pred)
        return self.losses[None].per_example(y_true, y_pred, mask=masks.get(None), sample_weight=sample_weight)

    @torch.no_grad()
    def update_metrics(self, y_true: Any, y_pred: Any, *, masks: dict[Any, Tensor | None],
                       sample_weight: Tensor | None) -> None:
        for key in self.keys or [None]:
            for metric in self.metrics.get(key, []):
                metric.update(pick(y_true, key), pick(y_pred, key).detach(), mask=masks.get(key),
                              sample_weight=sample_weight)


def _example(y_pred: Any) -> str:
    if isinstance(y_pred, dict):
        return "{" + ", ".join(f"{k!r}: 'mse'" for k in y_pred) + "}"
    return "[" + ", ".join("'mse'" for _ in y_pred) + "]"


def compile_losses(loss: Any, metrics: Any, loss_weights: Any) -> CompiledLoss:
    """Resolve names to Loss and Metric objects, per output; errors name the argument."""
    if loss is None:
        raise ValueError("compile: loss is required, e.g. loss='mse' or loss='binary_crossentropy'.")
    if isinstance(loss, dict):
        keys: list[Any] | None = list(loss)
        if not keys or not all(isinstance(k, str) for k in keys):
            raise TypeError(f"compile: a dict of losses needs str output names as keys; got {list(loss)}.")
        per_loss = {k: losses_module.get(v) for k, v in loss.items()}
    elif isinstance(loss, (list, tuple)):
        keys = list(range(len(loss)))
        if not keys:
            raise ValueError("compile: loss is an empty list; give one loss per output.")
        per_loss = {k: losses_module.get(v) for k, v in enumerate(loss)}
    else:
        keys, per_loss = None, {None: losses_module.get(loss)}
    weights = _weights(loss_weights, keys)
    per_metrics = _metrics(metrics, keys, per_loss)
    return CompiledLoss(keys=keys, losses=per_loss, weights=weights, metrics=per_metrics, loss_spec=loss,
                        metric_spec=metrics, weight_spec=loss_weights)


def _weights(loss_weights: Any, keys: list[Any] | None) -> dict[Any, float]:
    if loss_weights is None:
        return {k: 1.0 for k in (keys or [None])}
    if keys is None:
        raise ValueError("compile: loss_weights are for a model with several outputs; this one has one loss.")
    if isinstance(loss_weights, dict):
        unknown = sorted(set(loss_weights) - set(keys), key=str)
        if unknown:
            raise ValueError(f"compile: loss_weights names outputs {unknown} that have no loss; outputs: {keys}.")
        return {k: float(loss_weights.get(k, 1.0)) for k in keys}
    if isinstance(loss_weights, (list, tuple)):
        if len(loss_weights) != len(keys):
            raise ValueError(f"compile: loss_weights must have one weight per output ({len(keys)}); got {len(loss_weights)}.")
        return {k: float(w) for k, w in zip(keys, loss_weights)}
    raise TypeError(f"compile: loss_weights must be a list or dict; got {type(loss_weights).__name__}.")


def _metrics(metrics: Any, keys: list[Any] | None, per_loss: dict[Any, losses_module.Loss]) -> dict[Any, list]:
    def resolve(entries: Any, key: Any) -> list[metrics_module.Metric]:
        if entries is None:
            return []
        if isinstance(entries, (str, metrics_module.Metric)) or not isinstance(entries, Sequence):
            raise TypeError(f"compile: metrics must be a list, e.g. metrics=['accuracy']; got {entries!r}.")
        resolved = []
        for entry in entries:
            metric = metrics_module.get(entry, loss=per_loss[key])
            if isinstance(entry, metrics_module.Metric) and keys is not None and len(keys) > 1 and any(
                    metric is m for ms in done.values() for m in ms):
                raise ValueError(f"compile: the metric object {metric!r} is given for several outputs; give each "
                                 "output its own (or a name, e.g. 'accuracy').")
            metric.identifier = entry if isinstance(entry, str) else None  # saving stores names as names
            metric.base_name = metric.name
            resolved.append(metric)
        if keys is not None:
            prefix = f"{key}_" if isinstance(key, str) else f"output_{key}_"
            for m in resolved:
                if not m.name.startswith(prefix):
                    m.name = prefix + m.name
        return resolved

    done: dict[Any, list] = {}
    if keys is None:
        out = {None: resolve(metrics, None)}
    elif isinstance(metrics, dict):
        unknown = sorted(set(metrics) - set(keys), key=str)
        if unknown:
            raise ValueError(f"compile: metrics names outputs {unknown} that have no loss; outputs: {keys}.")
        out = {k: resolve(metrics.get(k), k) for k in keys}
    elif metrics is None:
        out = {k: [] for k in keys}
    elif isinstance(metrics, (list, tuple)) and len(metrics) == len(keys) and all(
            m is None or isinstance(m, (list, tuple)) for m in metrics):
        out = {k: resolve(m, k) for k, m in zip(keys, metrics)}
    else:  # the same metrics for every output, as Keras allows
        out = {}
        for k in keys:
            out[k] = done[k] = resolve(metrics, k)
    names = ["loss", *(m.name for ms in out.values() for m in ms)]
    if len(set(names)) != len(names):
        raise ValueError(f"compile: metric names must be unique and not 'loss'; got {names[1:]}.")
    return out


LossLike = str | losses_module.Loss | Callable
