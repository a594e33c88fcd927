r"""``LayerNormalization`` (Ba, Kiros & Hinton 2016) with Keras' defaults and parameter semantics.

For each sample (and each time step, with the default ``axis=-1``), over the normalised axes:

    \mu = mean(x),  \sigma^2 = mean((x - \mu)^2)          (the biased variance, as Keras and torch)
    y = (x - \mu) / sqrt(\sigma^2 + \epsilon) \cdot \gamma + \beta

Keras' names and defaults: ``epsilon=1e-3`` (torch's ``nn.LayerNorm`` uses 1e-5), ``center`` (learn β,
starts at 0), ``scale`` (learn γ, starts at 1). Parameters use torch's names: ``weight`` = Keras'
``gamma`` and ``bias`` = ``beta``, of the shape of the normalised axes; with ``axis=-1`` a
``torch.nn.LayerNorm(I, eps=1e-3)`` state dict loads as is.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.layers._base import Layer, Shape, _fmt

__all__ = ["LayerNormalization"]


class LayerNormalization(Layer):
    """Normalise over ``axis`` (an int or a list of ints, counted with the batch axis as in Keras; default the
    features). Shapes: output = input. Per-step normalisation keeps the lengths of a padded batch."""

    def __init__(
        self, axis: int | list[int] = -1, epsilon: float = 1e-3, *, center: bool = True, scale: bool = True,
        name: str | None = None, input_shape: Any = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise TypeError(f"LayerNormalization: axis must be an int or a non-empty list of ints; got {axis!r}.")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"LayerNormalization: epsilon must be a float > 0; got {epsilon!r}.")
        self.axis = axes if isinstance(axis, (list, tuple)) else axis
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        if self.input_shape is not None:
            self.build_once(self.input_shape)

    def _axes(self, ndim: int) -> tuple[int, ...]:
        """The normalised axes as sorted non-negative indices into the input *with* its batch axis."""
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        out = set()
        for a in axes:
            if not -ndim <= a < ndim or a % ndim == 0:
                raise ValueError(f"{self.display_name}: axis={self.axis} is out of range for {ndim}-D input, or names the "
                                 f"batch axis; use axis=-1 to normalise the features.")
            out.add(a % ndim)
        return tuple(sorted(out))

    def build(self, input_shape: Shape) -> None:
        axes = self._axes(len(input_shape) + 1)
        normalised = tuple(input_shape[a - 1] for a in axes)
        if None in normalised:
            raise ValueError(f"{self.display_name}: the normalised axes must have known sizes; input shape "
                             f"{_fmt((None, *input_shape))} has None on axis {axes}.")
        self.weight = nn.Parameter(torch.ones(normalised)) if self.scale else None   # γ
        self.bias = nn.Parameter(torch.zeros(normalised)) if self.center else None   # β

    def check_input_shape(self, input_shape: Shape) -> None:
        super().check_input_shape(input_shape)
        if self.built and len(input_shape) != len(self.built_input_shape):
            raise ValueError(f"{self.display_name}: input must be {len(self.built_input_shape) + 1}-D like the input it was "
                             f"built for, {_fmt((None, *self.built_input_shape))}; got {_fmt((None, *input_shape))}.")
        if self.built:
            axes = self._axes(len(input_shape) + 1)
            got = tuple(input_shape[a - 1] for a in axes)
            want = tuple(self.built_input_shape[a - 1] for a in axes)
            if got != want:
                raise ValueError(f"{self.display_name}: the normalised axes {axes} must have sizes {want} (the layer was "
                                 f"built for them); got input shape {_fmt((None, *input_shape))}.")

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        axes = self._axes(x.dim())
        if lengths is not None and 1 in axes and x.dim() >= 3:
            raise ValueError(f"{self.display_name}: axis={self.axis} normalises over time, which would mix in the padding "
                             "of a padded batch; normalise over the features (axis=-1) or pass no lengths.")
        mu = x.mean(dim=axes, keepdim=True)
        var = (x - mu).square().mean(dim=axes, keepdim=True)             # biased, as Keras and torch
        y = (x - mu) * torch.rsqrt(var + self.epsilon)
        shape = [x.shape[d] if d in axes else 1 for d in range(x.dim())]  # γ, β broadcast over the other axes
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        return y

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        y = self(x, lengths=lengths)
        return y, (lengths if y.dim() >= 3 else None)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **super().get_config()}
