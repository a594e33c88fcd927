"""Metrics by name, accumulated over an epoch: ``update(y_true, y_pred)`` per batch, ``result()`` at the end.

Mean-type metrics (accuracy, mae, mse, rmse) average one value per prediction vector over every
sample seen, so ``result()`` is the exact value over the epoch, not a mean of batch means.
``auc`` is the exact ROC AUC (the Mann-Whitney statistic over all predictions, ties averaged),
where Keras interpolates over 200 thresholds; it equals ``sklearn.metrics.roc_auc_score``.

``"accuracy"`` picks binary, categorical or sparse-categorical accuracy from the loss, as Keras does.
"""

from __future__ import annotations

import abc

import math

import torch

from rnnkit import losses as _losses

__all__ = [
    "Metric",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "RootMeanSquaredError",
    "AUC",
    "Precision",
    "Recall",
    "get",
]


class Metric(abc.ABC):
    """Base class: running state, ``update`` per batch, ``result`` as a float, ``reset`` per epoch."""

    default_name = "metric"

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name or self.default_name
        self.reset()

    @abc.abstractmethod
    def reset(self) -> None:
        """Subclasses define this."""

    @abc.abstractmethod
    def update(self, y_true: torch.Tensor, y_pred: torch.Tensor, *, mask: torch.Tensor | None = None,
               sample_weight: torch.Tensor | None = None) -> None:
        """Subclasses define this. ``sample_weight`` (B,) or (B, T) weighs each value (Keras' semantics)."""

    @abc.abstractmethod
    def result(self) -> float:
        """Subclasses define this."""

    def sync(self) -> None:
        """Combine the state of every process of a distributed run (called once, at the end of an epoch)."""
        raise TypeError(f"metric {self.name!r} ({type(self).__name__}) cannot be combined across processes; "
                        "define sync() (all-reduce its running state) to use it in distributed training.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class _MeanMetric(Metric):
    """Mean of ``values(y_true, y_pred)`` (shape ``y_pred.shape[:-1]``) over every vector seen."""

    def reset(self) -> None:
        self._total = 0.0
        self._count = 0.0

    @abc.abstractmethod
    def values(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        """Subclasses define this."""

    @torch.no_grad()
    def update(self, y_true, y_pred, *, mask=None, sample_weight=None):
        """Weighted mean: sum(w m v) / sum(w m) over the values seen (w = 1, m = 1 when not given)."""
        values = self.values(y_true, y_pred).double()
        weights = torch.ones_like(values)
        if mask is not None:
            weights = weights * mask.to(values.dtype).expand_as(values)
        if sample_weight is not None:
            w = sample_weight.to(values.dtype)
            w = w.reshape(*w.shape, *([1] * (values.dim() - w.dim())))
            weights = weights * w.expand_as(values)
        self._total += float((values * weights).sum())
        self._count += float(weights.sum())

    def result(self) -> float:
        return self._total / self._count if self._count else 0.0

    def sync(self) -> None:
        import torch.distributed as dist

        state = torch.tensor([self._total, self._count], dtype=torch.float64)
        dist.all_reduce(state, op=dist.ReduceOp.SUM)
        self._total, self._count = float(state[0]), float(state[1])


class BinaryAccuracy(_MeanMetric):
    default_name = "binary_accuracy"

    def __init__(self, *, threshold: float = 0.5, name: str | None = None) -> None:
        self.threshold = float(threshold)
        super().__init__(name=name)

    def values(self, y_true, y_pred):
        y_true = _losses._align(y_true, y_pred, self.name)
        return ((y_pred > self.threshold).to(y_pred.dtype) == y_true.to(y_pred.dtype)).double().mean(dim=-1)


class CategoricalAccuracy(_MeanMetric):
    default_name = "categorical_accuracy"

    def values(self, y_true, y_pred):
        y_true = _losses._align(y_true, y_pred, self.name)
        return (y_pred.argmax(dim=-1) == y_true.argmax(dim=-1)).double()


class SparseCategoricalAccuracy(_MeanMetric):
    default_name = "sparse_categorical_accuracy"

    def values(self, y_true, y_pred):
        labels = _losses._sparse_labels(y_true, y_pred, self.name)
        return (y_pred.argmax(dim=-1) == labels).double()


class MeanSquaredError(_MeanMetric):
    default_name = "mse"

    def values(self, y_true, y_pred):
        y_true = _losses._align(y_true, y_pred, self.name).to(y_pred.dtype)
        return (y_true - y_pred).double().square().mean(dim=-1)


class MeanAbsoluteError(_MeanMetric):
    default_name = "mae"

    def values(self, y_true, y_pred):
        y_true = _losses._align(y_true, y_pred, self.name).to(y_pred.dtype)
        return (y_true - y_pred).double().abs().mean(dim=-1)


class RootMeanSquaredError(MeanSquaredError):
    default_name = "rmse"

    def result(self) -> float:
        return math.sqrt(super().result())


class _BinaryScores(Metric):
    """Keeps every (label, score) pair of the epoch; binary labels in {0, 1}. A two-class output
    ``(..., 2)`` with class-id labels is scored by its class-1 column."""

    def reset(self) -> None:
        self._labels: list[torch.Tensor] = []
        self._scores: list[torch.Tensor] = []

    @torch.no_grad()
    def update(self, y_true, y_pred, *, mask=None, sample_weight=None):
        if sample_weight is not None:
            # a weight of 0 leaves a sample out (the common use: padding, a class switched off); other
            # weights would need weighted ROC / counts, which these exact-count metrics do not keep
            w = sample_weight.reshape(*sample_weight.shape, *([1] * (y_pred.dim() - 1 - sample_weight.dim())))
            if not bool(((w == 0) | (w == 1)).all()):
                raise ValueError(f"{self.name}: sample_weight must be 0 or 1 for this metric (it counts exact "
                                 "pairs); got other values. Weigh the loss instead, or use accuracy.")
            keep_w = w.bool().expand(y_pred.shape[:-1])
            mask = keep_w if mask is None else (mask.bool() & keep_w)
        if y_pred.shape[-1] == 2 and y_true.numel() == y_pred[..., 0].numel():
            y_pred = y_pred[..., 1:]  # two-class softmax with class-id labels: the score of class 1
        y_true = _losses._align(y_true, y_pred, self.name)
        if mask is not None:
            keep = mask.bool().unsqueeze(-1).expand_as(y_pred)
            y_true, y_pred = y_true[keep], y_pred[keep]
        self._labels.append(y_true.detach().reshape(-1).double().cpu())
        self._scores.append(y_pred.detach().reshape(-1).double().cpu())

    def sync(self) -> None:
        import torch.distributed as dist

        mine = (torch.cat(self._labels) if self._labels else torch.zeros(0, dtype=torch.float64),
                torch.cat(self._scores) if self._scores else torch.zeros(0, dtype=torch.float64))
        every: list = [None] * dist.get_world_size()
        dist.all_gather_object(every, mine)
        self._labels = [labels for labels, _ in every]
        self._scores = [scores for _, scores in every]

    def _gathered(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._labels:
            return torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.float64)
        return torch.cat(self._labels), torch.cat(self._scores)


class AUC(_BinaryScores):
    """Exact ROC AUC = P(score of a positive > score of a negative) + 0.5 P(tie); NaN if one class only."""

    default_name = "auc"

    def result(self) -> float:
        labels, scores = self._gathered()
        positive = labels > 0.5
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos == 0 or n_neg == 0:
            return float("nan")
        ranks = _average_ranks(scores)  # 1-based, ties share their mean rank
        rank_sum = float(ranks[positive].sum())
        return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    order = torch.argsort(values, stable=True)
    sorted_values = values[order]
    ranks_sorted = torch.arange(1, len(values) + 1, dtype=torch.float64)
    # groups of equal values share the mean of their ranks
    _, inverse, counts = torch.unique_consecutive(sorted_values, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    mean_rank = ends - (counts.double() - 1) / 2
    ranks = torch.empty_like(ranks_sorted)
    ranks[order] = mean_rank[inverse]
    return ranks


class Precision(_BinaryScores):
    """tp / (tp + fp) at ``threshold``; 0 when nothing is predicted positive."""

    default_name = "precision"

    def __init__(self, *, threshold: float = 0.5, name: str | None = None) -> None:
        self.threshold = float(threshold)
        super().__init__(name=name)

    def result(self) -> float:
        labels, scores = self._gathered()
        predicted = scores > self.threshold
        tp = int((predicted & (labels > 0.5)).sum())
        return tp / int(predicted.sum()) if int(predicted.sum()) else 0.0


class Recall(Precision):
    """tp / (tp + fn) at ``threshold``; 0 when there are no positives."""

    default_name = "recall"

    def result(self) -> float:
        labels, scores = self._gathered()
        actual = labels > 0.5
        tp = int(((scores > self.threshold) & actual).sum())
        return tp / int(actual.sum()) if int(actual.sum()) else 0.0


_BY_NAME: dict[str, type[Metric]] = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "rmse": RootMeanSquaredError,
    "root_mean_squared_error": RootMeanSquaredError,
    "auc": AUC,
    "precision": Precision,
    "recall": Recall,
}

_ACCURACY_FOR_LOSS: dict[type, type[Metric]] = {
    _losses.BinaryCrossentropy: BinaryAccuracy,
    _losses.CategoricalCrossentropy: CategoricalAccuracy,
    _losses.SparseCategoricalCrossentropy: SparseCategoricalAccuracy,
}


def get(identifier: str | Metric, *, loss: _losses.Loss | None = None) -> Metric:
    """A fresh :class:`Metric` from a name, or the instance itself. ``loss`` resolves ``"accuracy"``."""
    if isinstance(identifier, Metric):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"metrics: each entry must be a name or a rnnkit.metrics.Metric; got {type(identifier).__name__}.")
    key = identifier.lower()
    if key in ("accuracy", "acc"):
        cls = _ACCURACY_FOR_LOSS.get(type(loss), BinaryAccuracy)
        return cls(name=identifier)
    cls = _BY_NAME.get(key)
    if cls is None:
        raise ValueError(
            f"metrics: unknown name {identifier!r}; expected one of {sorted(['accuracy', *_BY_NAME])}."
        )
    return cls(name=identifier)
