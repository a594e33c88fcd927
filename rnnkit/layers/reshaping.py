"""``Flatten`` and ``Reshape``: change the shape of each sample, keeping the batch axis.

Both reshape in row-major (C) order, as Keras (channels-last) does, so a Keras ``Flatten`` before a
``Dense`` reads the features in the same order. Lengths: ``Flatten`` folds time into the features,
so lengths end there; ``Reshape`` keeps them when the time axis survives (same size on axis 1 of a
3-D or wider output, which row-major order guarantees holds the same steps).
"""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Sequence

from torch import Tensor

from rnnkit.layers._base import Layer, Shape, _fmt

__all__ = ["Flatten", "Reshape"]


class Flatten(Layer):
    """``(B, d_1, ..., d_n) → (B, d_1 · ... · d_n)``; a 2-D input passes unchanged."""

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        return x.reshape(x.shape[0], -1)                                 # (B, prod(d))

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return self(x, lengths=lengths), None  # time is folded into the features

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (None,) if None in input_shape else (math.prod(input_shape),)


class Reshape(Layer):
    """``(B, *input_shape) → (B, *target_shape)``; one entry of ``target_shape`` may be -1 (inferred).

    ``Reshape((T, -1))`` turns ``(B, T, H, W)`` into ``(B, T, H·W)`` and keeps the lengths.
    """

    def __init__(self, target_shape: Sequence[int], *, name: str | None = None, input_shape: Any = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(target_shape, int):
            target_shape = (target_shape,)
        if not isinstance(target_shape, (tuple, list)) or not target_shape or not all(
            isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1) for d in target_shape
        ):
            raise TypeError(f"Reshape: target_shape must be a non-empty tuple of positive ints (one may be -1), "
                            f"without the batch axis; got {target_shape!r}.")
        if list(target_shape).count(-1) > 1:
            raise ValueError(f"Reshape: target_shape may hold at most one -1; got {tuple(target_shape)}.")
        self.target_shape = tuple(target_shape)

    def check_input_shape(self, input_shape: Shape) -> None:
        super().check_input_shape(input_shape)
        self._resolve(input_shape)  # a size mismatch is an error before any data runs

    def _resolve(self, input_shape: Shape) -> Shape:
        """``target_shape`` with -1 replaced where the input size is known; an impossible target is an error."""
        if None in input_shape:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size, known = math.prod(input_shape), math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
            raise ValueError(
                f"{self.display_name}: cannot reshape inputs of shape {_fmt((None, *input_shape))} ({size} values per "
                f"sample) to target_shape={self.target_shape} ({known} values{' times the -1 entry' if -1 in self.target_shape else ''})."
            )
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        return x.reshape(x.shape[0], *self._resolve(tuple(x.shape[1:])))   # (B, *target_shape)

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        y = self(x, lengths=lengths)
        keeps_time = y.dim() >= 3 and x.dim() >= 3 and y.shape[1] == x.shape[1]
        return y, (lengths if keeps_time else None)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._resolve(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {"target_shape": list(self.target_shape), **super().get_config()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Reshape:
        config = dict(config)
        if isinstance(config.get("target_shape"), list):
            config["target_shape"] = tuple(config["target_shape"])
        return cls(**config)
