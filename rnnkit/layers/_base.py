"""The Keras-style ``Layer``: a ``torch.nn.Module`` that creates its weights on first use.

A layer is built from its input shape without the batch axis (``build(input_shape)``), either at
once from ``input_shape=`` or on its first call. Inside a model every layer passes along the
per-sequence ``lengths`` (``(B,)`` or None) of padded batches through :meth:`Layer.propagate`,
so a padded batch reaches the recurrences as ``lengths=`` and no layer needs to know of masks.
Called directly, ``layer(x, lengths=..., mask=..., training=...)``: a prefix ``mask`` (B, T) becomes
lengths (``_masks``), and ``training`` runs one call in training or inference mode (Keras' argument).
Layers of several inputs (``Concatenate``, the attention layers) derive from ``MultiInputLayer``.
"""

from __future__ import annotations

import abc
import contextlib
import re
from typing import Any
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn

from rnnkit.layers._masks import resolve_lengths

__all__ = ["Layer", "Shape", "check_units", "normalize_input_shape", "training_mode"]

Shape = tuple  # an input or output shape without the batch axis; None marks a free dimension


class Layer(nn.Module, metaclass=abc.ABCMeta):
    """Base class. Subclasses implement ``build``, ``call``, ``compute_output_shape`` and ``get_config``."""

    #: rank of the input *with* the batch axis this layer expects; None accepts any rank >= 2
    input_ndim: int | None = None
    #: keyword arguments of ``call`` beyond ``lengths`` (e.g. ``("initial_state",)``)
    call_options: tuple[str, ...] = ()

    def __init__(self, *, name: str | None = None, input_shape: Sequence[int | None] | None = None) -> None:
        super().__init__()
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: name must be a non-empty str; got {name!r}.")
        self.name = name
        self.input_shape = normalize_input_shape(type(self).__name__, input_shape)
        self.built = False
        self.built_input_shape: Shape | None = None

    # --- subclass hooks -------------------------------------------------------------------
    def build(self, input_shape: Shape) -> None:
        """Create the weights for inputs of shape ``(batch, *input_shape)``."""

    @abc.abstractmethod
    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Any:
        """Subclasses define this."""

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "input_shape": list(self.input_shape) if self.input_shape else None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    # --- machinery ------------------------------------------------------------------------
    def build_once(self, input_shape: Shape) -> None:
        if self.built:
            return
        self.check_input_shape(input_shape)
        self.build(tuple(input_shape))
        self.built_input_shape = tuple(input_shape)
        self.built = True

    def check_input_shape(self, input_shape: Shape) -> None:
        """Raise a clear error if inputs of shape ``(batch, *input_shape)`` cannot be fed to this layer."""
        ndim = len(input_shape) + 1
        if self.input_ndim is not None and ndim != self.input_ndim:
            raise ValueError(self._rank_error(input_shape))
        if self.input_ndim is None and ndim < 2:
            raise ValueError(
                f"{self.display_name}: input must have at least 2 dimensions (batch, features); got shape "
                f"{_fmt((None, *input_shape))}. For one feature per sample use x[:, None]."
            )

    def _rank_error(self, input_shape: Shape) -> str:
        return (
            f"{self.display_name}: input must have {self.input_ndim} dimensions including the batch; "
            f"got shape {_fmt((None, *input_shape))}."
        )

    @property
    def display_name(self) -> str:
        return f"{type(self).__name__}" + (f" {self.name!r}" if self.name else "")

    def forward(
        self, x: Tensor, *, lengths: Tensor | None = None, mask: Tensor | None = None,
        training: bool | None = None, **options: Any,
    ) -> Any:
        """Check ``x``, build on first use, and run :meth:`call`.

        ``lengths`` ``(B,)`` or a prefix ``mask`` ``(B, T)`` (converted to lengths; see ``_masks``) describe
        a padded batch. ``training`` (Keras' call argument) runs this call in training (True) or inference
        (False) mode and then restores the modes; None uses ``self.training``. ``options`` are the extra
        keywords a layer's ``call`` takes, named in ``call_options`` (e.g. ``initial_state`` of recurrent layers).
        """
        if not isinstance(x, Tensor):
            raise TypeError(f"{self.display_name}: input must be a torch.Tensor; got {type(x).__name__}.")
        unknown = sorted(set(options) - set(self.call_options))
        if unknown:
            allowed = ", ".join(f"{k}=" for k in ("lengths", "mask", "training", *self.call_options))
            raise TypeError(f"{self.display_name}: unexpected keyword argument(s) {unknown}; this layer takes {allowed}")
        self.check_input_dtype(x)
        if not self.built:
            self.build_once(tuple(x.shape[1:]))
        else:
            self.check_input_shape(tuple(x.shape[1:]))
        if (lengths is not None or mask is not None) and x.dim() >= 2:
            lengths = resolve_lengths(self.display_name, lengths, mask, x.shape[0], x.shape[1])
        if training is None or bool(training) == self.training:
            return self.call(x, lengths=lengths, **options)
        with training_mode(self, bool(training)):
            return self.call(x, lengths=lengths, **options)

    def check_input_dtype(self, x: Tensor) -> None:
        """Floating-point input in the dtype of the layer's weights (layers taking ids override this)."""
        if not x.is_floating_point():
            raise TypeError(
                f"{self.display_name}: input must be a floating-point tensor; got dtype {x.dtype}. Use x.float()"
                + (", or an Embedding first for integer ids." if not x.is_complex() and x.dtype != torch.bool else ".")
            )
        weight = first_float_parameter(self)
        if weight is not None and weight.dtype != x.dtype and weight.device.type != "meta":
            raise TypeError(
                f"{self.display_name}: input has dtype {x.dtype} but the layer's weights are {weight.dtype}. "
                f"Convert the input with x.to({weight.dtype}) or the layer with layer.to({x.dtype})."
            )

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """Run inside a model: ``(output, lengths after this layer)``; lengths survive on 3-D outputs."""
        y = self(x, lengths=lengths)
        return y, (lengths if y.dim() == 3 else None)

    def count_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def first_float_parameter(module: nn.Module) -> nn.Parameter | None:
    """The first floating-point parameter in ``module.parameters()`` order, or None.

    The same answer as ``next(p for p in module.parameters() if p.is_floating_point())``, by a plain walk over
    the registered parameters and submodules: ``parameters()`` builds generators over ``named_modules()``,
    which every layer paid on every call to find its dtype (bench/fit_overhead.py)."""
    visited: set[int] = set()   # modules, as named_modules() memoises them (a shared one is walked once)
    pending = [module]
    while pending:
        current = pending.pop()
        if id(current) in visited:
            continue
        visited.add(id(current))
        for p in current._parameters.values():
            if p is not None and p.is_floating_point():
                return p
        pending.extend(m for m in reversed(current._modules.values()) if m is not None)
    return None


@contextlib.contextmanager
def training_mode(module: nn.Module, training: bool) -> Iterator[None]:
    """Run a block with ``module`` (and its submodules) in training or inference mode, then restore the modes."""
    modes = [(m, m.training) for m in module.modules()]
    module.train(training)
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def normalize_input_shape(owner: str, input_shape: Any) -> Shape | None:
    if input_shape is None:
        return None
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in input_shape
    ):
        raise TypeError(
            f"{owner}: input_shape must be a tuple of positive ints (None for a free dimension) without the "
            f"batch axis, e.g. (timesteps, features); got {input_shape!r}."
        )
    return tuple(input_shape)


def check_units(owner: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}: {arg} must be a positive int; got {type(value).__name__} {value!r}.")
    if value < 1:
        raise ValueError(f"{owner}: {arg} must be >= 1; got {value}.")
    return value


def snake_case(name: str) -> str:
    """Keras' default layer names: ``SimpleRNN`` → ``simple_rnn``, ``Conv1D`` → ``conv1d``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _fmt(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def glorot_uniform_(weight: Tensor, fan_in: int, fan_out: int) -> None:
    """Keras' default kernel initialiser: U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""
    limit = (6.0 / (fan_in + fan_out)) ** 0.5
    with torch.no_grad():
        weight.uniform_(-limit, limit)
