"""Losses by name, Keras-style: ``loss(y_true, y_pred) -> scalar``.

Each loss first computes one value per prediction vector (it reduces the last axis, as Keras
does), then takes the mean over the batch (and time, for sequence outputs). With a ``mask``
``(B, T)`` for padded sequences, padded steps are left out of that mean.

=================================  ==========================================================
name                               per-vector value (``p`` = ``y_pred``, ``y`` = ``y_true``)
=================================  ==========================================================
``mse``                            ``mean((y - p)^2)``
``mae``                            ``mean(|y - p|)``
``huber``                          ``mean(0.5 d^2 if |d| <= delta else delta (|d| - delta / 2))``
``binary_crossentropy``            ``mean(-(y log p + (1 - y) log(1 - p)))``, p clipped to [eps, 1 - eps]
``categorical_crossentropy``       ``-sum(y log p)``, p normalised to sum 1 and clipped; y one-hot
``sparse_categorical_crossentropy`` ``-log p[y]``, y integer class ids
=================================  ==========================================================

The crossentropies take probabilities (the output of a ``sigmoid`` / ``softmax``) unless built
with ``from_logits=True``. ``eps = 1e-7`` as in Keras.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "Loss",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "FunctionLoss",
    "TorchLoss",
    "get",
    "serialize",
]

EPSILON = 1e-7


def _align(y_true: torch.Tensor, y_pred: torch.Tensor, loss_name: str) -> torch.Tensor:
    """Give ``y_true`` the shape of ``y_pred``: labels ``(B,)`` meet outputs ``(B, 1)`` routinely."""
    if y_true.shape == y_pred.shape:
        return y_true
    if y_true.numel() == y_pred.numel():
        return y_true.reshape(y_pred.shape)
    raise ValueError(
        f"{loss_name}: y_true must have the shape of the model output {tuple(y_pred.shape)}; "
        f"got {tuple(y_true.shape)}. Check the labels, or the last layer's units."
    )


def _reduce(values: torch.Tensor, mask: torch.Tensor | None, sample_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of per-vector ``values``; with ``mask`` (same leading shape), over kept entries only.

    ``sample_weight`` (``(B,)`` per sample, or the leading shape of ``values``) multiplies each value before
    the sum; the divisor stays the count of (kept) values, as Keras' "sum_over_batch_size":
        loss = sum_i w_i m_i l_i / sum_i m_i
    so weights of 2 count a sample twice and weights of 0 drop it, without renormalising the rest.
    """
    values = _weighted(values, sample_weight)
    if mask is None:
        return values.mean()
    mask = mask.to(values.dtype).expand_as(values)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


def _weighted(values: torch.Tensor, sample_weight: torch.Tensor | None) -> torch.Tensor:
    """``values * w``, a ``(B,)`` weight broadcast over the other leading axes."""
    if sample_weight is None:
        return values
    weight = sample_weight.to(values.dtype)
    if weight.shape != values.shape[: weight.dim()] and weight.numel() != 1:
        raise ValueError(f"sample_weight has shape {tuple(sample_weight.shape)}; expected ({values.shape[0]},) "
                         f"or {tuple(values.shape)} for outputs of shape {tuple(values.shape)} (+ features).")
    if weight.dim() < values.dim():  # (B,) against (B, T): one weight per sample, every step
        weight = weight.reshape(*weight.shape, *([1] * (values.dim() - weight.dim())))
    return values * weight


def _per_example(values: torch.Tensor, mask: torch.Tensor | None, sample_weight: torch.Tensor | None) -> torch.Tensor:
    """Per-example losses ``(B,)`` whose mean is :func:`_reduce` of the same arguments:

        no mask:  l_b = mean_t (w l)_{b,t}                   (every row has the same count)
        mask:     l_b = B · Σ_t w m l_{b,t} / Σ_{b',t} m_{b',t}
    """
    if values.dim() == 0:
        raise ValueError("per_example: the loss gives one value for the whole batch (outputs of shape (B,)); "
                         "give the model outputs of shape (B, 1), e.g. Dense(1).")
    B = values.shape[0]
    values = _weighted(values, sample_weight)
    if mask is None:
        return values.reshape(B, -1).mean(dim=1)
    mask = mask.to(values.dtype).expand_as(values)
    return B * (values * mask).reshape(B, -1).sum(dim=1) / mask.sum().clamp_min(1.0)


def _outside_unit_interval(y: torch.Tensor) -> bool:
    """Whether any value of ``y`` lies outside [0, 1] (one pass over ``y``, one read of the answer)."""
    low, high = torch.aminmax(y)
    return low.item() < 0 or high.item() > 1


class Loss:
    """Base class: subclasses define ``per_vector(y_true, y_pred)``, returning ``y_pred.shape[:-1]``."""

    name: str = "loss"

    def per_vector(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        # Not abstract: losses that override __call__ (FunctionLoss) need no per_vector.
        raise NotImplementedError(f"{type(self).__name__} defines neither per_vector nor __call__")

    def __call__(
        self, y_true: torch.Tensor, y_pred: torch.Tensor, *, mask: torch.Tensor | None = None,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if mask is None and sample_weight is None:
            return self.batch_mean(y_true, y_pred)
        return _reduce(self.per_vector(y_true, y_pred), mask, sample_weight)

    def batch_mean(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        """The unmasked, unweighted loss: the mean of ``per_vector`` (every vector has the same length, so
        also the mean over all elements). Subclasses give torch's fused reduction where one exists: one
        autograd node instead of four, a third of a small model's loss time (bench/fit_overhead.py)."""
        return self.per_vector(y_true, y_pred).mean()

    def per_example(
        self, y_true: torch.Tensor, y_pred: torch.Tensor, *, mask: torch.Tensor | None = None,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``(B,)`` losses, one per example, whose mean is ``self(y_true, y_pred, mask=..., sample_weight=...)``
        (what Hessian-free optimization needs: its preconditioner uses per-example gradients)."""
        return _per_example(self.per_vector(y_true, y_pred), mask, sample_weight)

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MeanSquaredError(Loss):
    name = "mse"

    def per_vector(self, y_true, y_pred):
        y_true = _align(y_true, y_pred, self.name).to(y_pred.dtype)
        return (y_true - y_pred).square().mean(dim=-1)

    def batch_mean(self, y_true, y_pred):
        return F.mse_loss(y_pred, _align(y_true, y_pred, self.name).to(y_pred.dtype))


class MeanAbsoluteError(Loss):
    name = "mae"

    def per_vector(self, y_true, y_pred):
        y_true = _align(y_true, y_pred, self.name).to(y_pred.dtype)
        return (y_true - y_pred).abs().mean(dim=-1)

    def batch_mean(self, y_true, y_pred):
        return F.l1_loss(y_pred, _align(y_true, y_pred, self.name).to(y_pred.dtype))


class Huber(Loss):
    """Quadratic for ``|y - p| <= delta``, linear beyond (the same as ``torch.nn.HuberLoss``)."""

    name = "huber"

    def __init__(self, *, delta: float = 1.0) -> None:
        if not delta > 0:
            raise ValueError(f"Huber: delta must be > 0; got {delta}.")
        self.delta = float(delta)

    def per_vector(self, y_true, y_pred):
        y_true = _align(y_true, y_pred, self.name).to(y_pred.dtype)
        return F.huber_loss(y_pred, y_true, reduction="none", delta=self.delta).mean(dim=-1)

    def batch_mean(self, y_true, y_pred):
        return F.huber_loss(y_pred, _align(y_true, y_pred, self.name).to(y_pred.dtype), delta=self.delta)

    def get_config(self) -> dict:
        return {"delta": self.delta}


class BinaryCrossentropy(Loss):
    name = "binary_crossentropy"

    def __init__(self, *, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)

    def per_vector(self, y_true, y_pred):
        return self._elementwise(y_true, y_pred, reduction="none").mean(dim=-1)

    def batch_mean(self, y_true, y_pred):
        return self._elementwise(y_true, y_pred, reduction="mean")

    def _elementwise(self, y_true, y_pred, *, reduction: str):
        y_true = _align(y_true, y_pred, self.name).to(y_pred.dtype)
        if y_true.numel() and _outside_unit_interval(y_true):
            # labels 1/2 or 0/1/2 would train silently towards nonsense; soft targets in [0, 1] are fine, as in Keras
            raise ValueError(
                f"{self.name}: y_true must hold labels 0 and 1 (or target probabilities in [0, 1]); got values "
                f"in [{float(y_true.min()):g}, {float(y_true.max()):g}]. Map two classes to 0/1 (e.g. y - 1 for "
                "labels 1/2); for more classes use loss='sparse_categorical_crossentropy' with a softmax output."
            )
        if self.from_logits:
            return F.binary_cross_entropy_with_logits(y_pred, y_true, reduction=reduction)
        # Keras: p = clip(ŷ, ε, 1 − ε); −(y log p + (1 − y) log(1 − p)). torch's fused binary_cross_entropy
        # is that formula (its log floor of −100 never binds above ε = 1e-7), in one autograd node instead
        # of six; tests check it against the written-out form
        p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
        return F.binary_cross_entropy(p, y_true, reduction=reduction)

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits}


class CategoricalCrossentropy(Loss):
    name = "categorical_crossentropy"

    def __init__(self, *, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)

    def per_vector(self, y_true, y_pred):
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{self.name}: y_true must be one-hot with the shape of the output "
                f"{tuple(y_pred.shape)}; got {tuple(y_true.shape)}. For integer class ids use "
                "loss='sparse_categorical_crossentropy'."
            )
        y_true = y_true.to(y_pred.dtype)
        if self.from_logits:
            log_p = F.log_softmax(y_pred, dim=-1)
        else:
            p = y_pred / y_pred.sum(dim=-1, keepdim=True)
            log_p = p.clamp(EPSILON, 1.0 - EPSILON).log()
        return -(y_true * log_p).sum(dim=-1)

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits}


class SparseCategoricalCrossentropy(Loss):
    name = "sparse_categorical_crossentropy"

    def __init__(self, *, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)

    def per_vector(self, y_true, y_pred):
        C = y_pred.shape[-1]
        labels = _sparse_labels(y_true, y_pred, self.name)  # y_pred.shape[:-1]
        if self.from_logits:
            log_p = F.log_softmax(y_pred, dim=-1)
        else:
            log_p = y_pred.clamp(EPSILON, 1.0 - EPSILON).log()
        if labels.numel() and (labels.min() < 0 or labels.max() >= C):
            raise ValueError(
                f"{self.name}: labels must be class ids in [0, {C}); got values in "
                f"[{int(labels.min())}, {int(labels.max())}]. Check the last layer's units."
            )
        return -log_p.gather(-1, labels.unsqueeze(-1)).squeeze(-1)

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits}


def _sparse_labels(y_true: torch.Tensor, y_pred: torch.Tensor, name: str) -> torch.Tensor:
    """Integer class ids shaped ``y_pred.shape[:-1]``, from ``(...)`` or ``(..., 1)`` labels."""
    target = y_pred.shape[:-1]
    if y_true.numel() != target.numel():
        raise ValueError(
            f"{name}: y_true must hold one class id per output vector, shape {tuple(target)}; "
            f"got {tuple(y_true.shape)}. For one-hot labels use loss='categorical_crossentropy'."
        )
    if y_true.is_floating_point() and not torch.equal(y_true, y_true.round()):
        raise ValueError(f"{name}: y_true must be integer class ids; got non-integer values.")
    return y_true.reshape(target).long()


class FunctionLoss(Loss):
    """A user's ``fn(y_true, y_pred) -> Tensor``; a non-scalar result is averaged (masked)."""

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        self.fn = fn
        self.name = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, y_true, y_pred, *, mask=None, sample_weight=None):
        values = self.fn(y_true, y_pred)
        if not isinstance(values, torch.Tensor):
            raise TypeError(f"loss {self.name!r} must return a torch.Tensor; got {type(values).__name__}.")
        if values.dim() == 0:
            if sample_weight is not None:
                raise ValueError(f"loss {self.name!r} returns one number per batch, so sample_weight cannot weight "
                                 "its samples; return one value per sample (reduction='none') to use weights.")
            return values
        if mask is not None and values.shape[: mask.dim()] == mask.shape:
            return _reduce(values.reshape(*mask.shape, -1).mean(dim=-1), mask, sample_weight)
        if sample_weight is not None:
            return _reduce(values.reshape(values.shape[0], -1).mean(dim=-1), None, sample_weight)
        return values.mean()

    def per_example(self, y_true, y_pred, *, mask=None, sample_weight=None):
        raise TypeError(f"loss {self.name!r} is a user's function, so its per-example losses are unknown (it may "
                        "reduce over the batch); optimizer='hessian_free' needs them. Use a built-in loss, e.g. "
                        "loss='mse', or subclass rnnkit.losses.Loss and define per_vector(y_true, y_pred).")


class TorchLoss(FunctionLoss):
    """A ``torch.nn`` loss module, called the torch way: ``module(y_pred, y_true)``.

    Labels shaped ``(B,)`` are reshaped to outputs ``(B, 1)`` and integer labels cast to the
    output's dtype when the shapes match (``BCELoss``, ``MSELoss``); class ids for
    ``CrossEntropyLoss`` / ``NLLLoss`` (``(B,)`` against ``(B, C)``) are passed unchanged.
    """

    def __init__(self, module: torch.nn.Module) -> None:
        def call(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
            if y_true.shape != y_pred.shape and y_true.numel() == y_pred.numel():
                y_true = y_true.reshape(y_pred.shape)
            if y_true.shape == y_pred.shape and y_pred.is_floating_point():
                y_true = y_true.to(y_pred.dtype)
            return module(y_pred, y_true)

        super().__init__(call)
        self.name = type(module).__name__


_BY_NAME: dict[str, type[Loss]] = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber,
    "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier: str | Loss | Callable, **config) -> Loss:
    """A :class:`Loss` from a name (``"mse"``, ``"binary_crossentropy"``, …), an instance, a callable
    ``fn(y_true, y_pred)`` (Keras' order), or a ``torch.nn`` loss module (called as ``module(y_pred, y_true)``)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"loss: unknown name {identifier!r}; expected one of {sorted(set(_BY_NAME))} "
                "or a callable fn(y_true, y_pred)."
            )
        return cls(**config)
    if isinstance(identifier, torch.nn.Module):
        return TorchLoss(identifier)
    if callable(identifier):
        return FunctionLoss(identifier)
    raise TypeError(f"loss must be a name, a rnnkit.losses.Loss or a callable; got {type(identifier).__name__}.")


def serialize(loss: Loss) -> dict | None:
    """``{"name": ..., "config": {...}}`` for built-in losses; ``None`` for a user's function."""
    if isinstance(loss, FunctionLoss):
        return None
    return {"name": loss.name, "config": loss.get_config()}
