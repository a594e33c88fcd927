r"""``Conv2D``: a convolution over an image (or, inside ``TimeDistributed``, over every video frame), channels
last, with Keras' arguments and semantics.

For input ``x`` (B, Y, X, C) (height Y, width X, channels C), ``filters`` O, kernel k_y × k_x, strides
(S_y, S_x) and dilation (d_y, d_x):

    y[b, u, v, o] = activation( bias[o] + Σ_c Σ_{m<k_y} Σ_{n<k_x} W[o, c, m, n] x_pad[b, u S_y + m d_y, v S_x + n d_x, c] )

a cross-correlation, like Keras and ``torch.nn.functional.conv2d``, where ``x_pad`` is ``x`` padded with
zeros per ``padding``, on each axis as ``Conv1D`` pads time (``_windows``): "valid" none,
Y' = floor((Y - W_y) / S_y) + 1; "same" Y' = ceil(Y / S_y), the total padding P = max((Y' - 1) S_y + W_y - Y, 0)
split floor(P / 2) before and the rest after (TensorFlow's rule, so an even kernel pads one more row
after than before), W_y = d_y (k_y - 1) + 1. Shapes: (B, Y, X, C) → (B, Y', X', O).

Weights: torch's layout, ``weight`` (O, C, k_y, k_x) and ``bias`` (O,), so a ``torch.nn.Conv2d`` state dict
loads as is. Keras stores ``kernel`` (k_y, k_x, C, O): importing a Keras Conv2D is
``weight = kernel.permute(3, 2, 0, 1)`` (and ``bias`` as is); exporting is ``kernel = weight.permute(2, 3, 1, 0)``.
The initial weights follow Keras: ``kernel`` Glorot-uniform with fan_in = k_y k_x C, fan_out = k_y k_x O,
bias zeros.

A Conv2D sees single images: inside a model the ``lengths`` of a padded batch end here (wrap it in
``TimeDistributed`` for (B, T, Y, X, C) clips, which carries the lengths past it).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit._checks import check_choice
from rnnkit.layers import activations
from rnnkit.layers._base import Layer, Shape, _fmt, check_units
from rnnkit.layers._windows import output_steps, padding_amounts

__all__ = ["Conv2D", "pair", "channels_last_2d"]


def pair(owner: str, arg: str, value: Any) -> tuple[int, int]:
    """An int >= 1 (the same on both axes) or a tuple / list of two (Keras accepts both for 2-D layers)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{owner}: {arg} must be an int or a pair (rows, columns); got {value!r}.")
        return check_units(owner, arg, value[0]), check_units(owner, arg, value[1])
    v = check_units(owner, arg, value)
    return v, v


def channels_last_2d(owner: str, data_format: str) -> str:
    if data_format != "channels_last":
        raise ValueError(f"{owner}: data_format must be 'channels_last' (B, Y, X, C); got {data_format!r}. For "
                         "(B, C, Y, X) inputs use x.permute(0, 2, 3, 1).")
    return data_format


def image_rank_error(layer: Layer, input_shape: Shape) -> str:
    """The error for an input that is not (batch, rows, cols, channels), with the likely fix."""
    got = _fmt((None, *input_shape))
    if len(input_shape) == 2:
        fix = "For a grey image add the channel axis: x[..., None]."
    elif len(input_shape) == 4:
        fix = "For a clip (batch, frames, rows, cols, channels) wrap the layer: TimeDistributed(...)."
    else:
        fix = "Reshape the input to (batch, rows, cols, channels)."
    return (f"{layer.display_name}: input must be 4-D (batch, rows, cols, channels); got {len(input_shape) + 1}-D "
            f"shape {got}. {fix}")


class Conv2D(Layer):
    """``Conv2D(filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True)``:
    (B, Y, X, C) → (B, Y', X', filters)."""

    input_ndim = 4

    def __init__(
        self, filters: int, kernel_size: int | tuple[int, int], strides: int | tuple[int, int] = 1,
        padding: str = "valid", *, dilation_rate: int | tuple[int, int] = 1, activation: str | None = None,
        use_bias: bool = True, data_format: str = "channels_last", name: str | None = None, input_shape: Any = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.filters = check_units("Conv2D", "filters", filters)
        self.kernel_size = pair("Conv2D", "kernel_size", kernel_size)
        self.strides = pair("Conv2D", "strides", strides)
        self.padding = check_choice("Conv2D", "padding", padding, ("valid", "same"))
        self.dilation_rate = pair("Conv2D", "dilation_rate", dilation_rate)
        self.activation = activation
        self._activation = activations.get("Conv2D", activation)
        self.use_bias = bool(use_bias)
        self.data_format = channels_last_2d("Conv2D", data_format)
        if self.input_shape is not None:
            self.build_once(self.input_shape)

    @property
    def window(self) -> tuple[int, int]:
        """The kernel's effective size in input pixels, ``d (k - 1) + 1`` per axis."""
        return tuple(d * (k - 1) + 1 for d, k in zip(self.dilation_rate, self.kernel_size))

    def build(self, input_shape: Shape) -> None:
        C = input_shape[-1]
        if C is None:
            raise ValueError(f"{self.display_name}: the number of input channels (last axis) must be known; got None.")
        O, (ky, kx) = self.filters, self.kernel_size
        self.weight = nn.Parameter(torch.empty(O, C, ky, kx))                   # torch layout (O, C, k_y, k_x)
        self.bias = nn.Parameter(torch.zeros(O)) if self.use_bias else None
        limit = (6.0 / (ky * kx * C + ky * kx * O)) ** 0.5                     # Keras glorot on (k_y, k_x, C, O)
        with torch.no_grad():
            self.weight.uniform_(-limit, limit)

    def _rank_error(self, input_shape: Shape) -> str:
        return image_rank_error(self, input_shape)

    def check_input_shape(self, input_shape: Shape) -> None:
        super().check_input_shape(input_shape)
        Y, X, C = input_shape
        expected = self.built_input_shape[-1] if self.built else None
        if expected is not None and C != expected:
            raise ValueError(f"{self.display_name}: input must have shape (batch, rows, cols, channels={expected}); "
                             f"got {_fmt((None, *input_shape))}. Check the channel axis is last (channels_last).")
        for size, window, stride, axis in zip((Y, X), self.window, self.strides, ("rows", "cols")):
            if size is not None and output_steps(size, window, stride, self.padding) == 0:
                raise ValueError(f"{self.display_name}: the input has {size} {axis}, fewer than the kernel's {window}, "
                                 f"so padding='valid' leaves no output; use padding='same' or a smaller kernel_size. "
                                 f"Input shape {_fmt((None, *input_shape))}.")

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        B, Y, X, C = x.shape
        top, bottom = padding_amounts(Y, self.window[0], self.strides[0], self.padding)
        left, right = padding_amounts(X, self.window[1], self.strides[1], self.padding)
        x_pad = F.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom))           # (B, C, Y + pads, X + pads)
        y = F.conv2d(x_pad, self.weight, self.bias, stride=self.strides, dilation=self.dilation_rate)
        return self._activation(y.permute(0, 2, 3, 1))                              # (B, Y', X', O)

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return self(x), None  # single images: no time axis to carry lengths

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        Y, X, _ = input_shape
        out = tuple(None if n is None else output_steps(n, w, s, self.padding)
                    for n, w, s in zip((Y, X), self.window, self.strides))
        return (*out, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            "filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
            "padding": self.padding, "dilation_rate": list(self.dilation_rate), "activation": self.activation,
            "use_bias": self.use_bias, "data_format": self.data_format, **super().get_config(),
        }
