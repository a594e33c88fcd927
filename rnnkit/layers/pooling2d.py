r"""Pooling over images, channels last: ``MaxPooling2D``, ``AveragePooling2D`` (windows) and
``GlobalMaxPooling2D``, ``GlobalAveragePooling2D`` (the whole image). Wrap them in ``TimeDistributed`` for
video clips (B, T, Y, X, C).

Windowed, for input x (B, Y, X, C), ``pool_size`` (W_y, W_x) and ``strides`` (S_y, S_x) (default the pool size):

    max:      y[b, u, v, c] = max_{(p, q) in window (u, v), inside x} x[b, p, q, c]
    average:  y[b, u, v, c] = Σ_{(p, q) in window (u, v), inside x} x[b, p, q, c] / |{(p, q) in the window inside x}|

window (u, v) covering rows ``u S_y - top .. u S_y - top + W_y - 1`` and the columns likewise; "valid" pads
nothing, "same" pads each axis as ``Conv2D`` does (``_windows``). This is Keras / TensorFlow exactly: "same"
padding never wins a max and is left out of an average's count.

Global: ``GlobalMaxPooling2D`` y[b, c] = max_{p, q} x[b, p, q, c], ``GlobalAveragePooling2D`` the mean;
(B, Y, X, C) → (B, C), or (B, 1, 1, C) with ``keepdims=True``.
"""

from __future__ import annotations

import abc
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit._checks import check_choice
from rnnkit.layers._base import Layer, Shape, _fmt
from rnnkit.layers._windows import output_steps, padding_amounts
from rnnkit.layers.conv2d import channels_last_2d, image_rank_error, pair

__all__ = ["MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D"]


class _Pooling2D(Layer):
    """Shared by the windowed 2-D pooling layers: arguments, padding, output size."""

    input_ndim = 4

    def __init__(
        self, pool_size: int | tuple[int, int] = 2, strides: int | tuple[int, int] | None = None,
        padding: str = "valid", *, data_format: str = "channels_last", name: str | None = None, input_shape: Any = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        owner = type(self).__name__
        self.pool_size = pair(owner, "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else pair(owner, "strides", strides)
        self.padding = check_choice(owner, "padding", padding, ("valid", "same"))
        self.data_format = channels_last_2d(owner, data_format)

    def _rank_error(self, input_shape: Shape) -> str:
        return image_rank_error(self, input_shape)

    def check_input_shape(self, input_shape: Shape) -> None:
        super().check_input_shape(input_shape)
        for size, window, stride, axis in zip(input_shape[:2], self.pool_size, self.strides, ("rows", "cols")):
            if size is not None and output_steps(size, window, stride, self.padding) == 0:
                raise ValueError(f"{self.display_name}: the input has {size} {axis}, fewer than pool_size={window}, so "
                                 f"padding='valid' leaves no output; use padding='same'. Input shape "
                                 f"{_fmt((None, *input_shape))}.")

    def _pads(self, Y: int, X: int) -> tuple[int, int, int, int]:
        """(left, right, top, bottom), F.pad's order for (…, Y, X)."""
        top, bottom = padding_amounts(Y, self.pool_size[0], self.strides[0], self.padding)
        left, right = padding_amounts(X, self.pool_size[1], self.strides[1], self.padding)
        return left, right, top, bottom

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        B, Y, X, C = x.shape
        y = self.pool(x.permute(0, 3, 1, 2), self._pads(Y, X))                  # (B, C, Y', X')
        return y.permute(0, 2, 3, 1)                                            # (B, Y', X', C)

    @abc.abstractmethod
    def pool(self, x: Tensor, pads: tuple[int, int, int, int]) -> Tensor:
        """``x`` (B, C, Y, X) → (B, C, Y', X')."""

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return self(x), None  # single images: no time axis to carry lengths

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        Y, X, C = input_shape
        out = tuple(None if n is None else output_steps(n, w, s, self.padding)
                    for n, w, s in zip((Y, X), self.pool_size, self.strides))
        return (*out, C)

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": list(self.pool_size), "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format, **super().get_config()}


class MaxPooling2D(_Pooling2D):
    """``MaxPooling2D(pool_size=2, strides=None, padding="valid")``: (B, Y, X, C) → (B, Y', X', C)."""

    def pool(self, x: Tensor, pads: tuple[int, int, int, int]) -> Tensor:
        x = F.pad(x, pads, value=float("-inf"))                                 # "same" padding never wins
        return F.max_pool2d(x, self.pool_size, self.strides)


class AveragePooling2D(_Pooling2D):
    """``AveragePooling2D(pool_size=2, strides=None, padding="valid")``: (B, Y, X, C) → (B, Y', X', C)."""

    def pool(self, x: Tensor, pads: tuple[int, int, int, int]) -> Tensor:
        if not any(pads):
            return F.avg_pool2d(x, self.pool_size, self.strides)
        inside = F.pad(x.new_ones(1, 1, *x.shape[2:]), pads)                     # 1 inside the image, 0 in padding
        sums = F.avg_pool2d(F.pad(x, pads), self.pool_size, self.strides)       # Σ / (W_y W_x)
        share = F.avg_pool2d(inside, self.pool_size, self.strides)              # |inside| / (W_y W_x), never 0
        return sums / share


class _GlobalPooling2D(Layer):
    input_ndim = 4

    def __init__(self, *, keepdims: bool = False, data_format: str = "channels_last", name: str | None = None,
                 input_shape: Any = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.keepdims = bool(keepdims)
        self.data_format = channels_last_2d(type(self).__name__, data_format)

    def _rank_error(self, input_shape: Shape) -> str:
        return image_rank_error(self, input_shape)

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        return self.reduce(x, keepdim=self.keepdims)                            # (B, C) or (B, 1, 1, C)

    @abc.abstractmethod
    def reduce(self, x: Tensor, keepdim: bool) -> Tensor:
        """``x`` (B, Y, X, C) reduced over Y and X."""

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return self(x), None

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (1, 1, input_shape[-1]) if self.keepdims else (input_shape[-1],)

    def get_config(self) -> dict[str, Any]:
        return {"keepdims": self.keepdims, "data_format": self.data_format, **super().get_config()}


class GlobalMaxPooling2D(_GlobalPooling2D):
    """(B, Y, X, C) → (B, C) (``keepdims``: (B, 1, 1, C)): the maximum over the image."""

    def reduce(self, x: Tensor, keepdim: bool) -> Tensor:
        return torch.amax(x, dim=(1, 2), keepdim=keepdim)


class GlobalAveragePooling2D(_GlobalPooling2D):
    """(B, Y, X, C) → (B, C) (``keepdims``: (B, 1, 1, C)): the mean over the image."""

    def reduce(self, x: Tensor, keepdim: bool) -> Tensor:
        return x.mean(dim=(1, 2), keepdim=keepdim)
