r"""``Conv1D``: a convolution over time, channels last, with Keras' arguments and semantics.

For input ``x`` (B, T, I), ``filters`` O, kernel size k, stride S, dilation d, ``groups`` g (each
group maps I/g input channels to O/g filters):

    y[b, j, o] = activation( bias[o] + sum_{i in group(o)} sum_{m=0}^{k-1} W[o, i, m] x_pad[b, j S + m d, i] )

a cross-correlation, like Keras and ``torch.nn.functional.conv1d``, where ``x_pad`` is ``x`` padded
in time per ``padding`` ("valid", "same", "causal"; see ``_windows`` for the amounts, output steps and
lengths). Shapes: (B, T, I) → (B, T', O).

Weights: torch's layout, ``weight`` (O, I/g, k) and ``bias`` (O,), so a ``torch.nn.Conv1d`` state
dict loads as is. Keras stores ``kernel`` (k, I/g, O): importing a Keras Conv1D is
``weight = kernel.permute(2, 1, 0)`` (and ``bias`` as is); the reverse for export. The initial
weights follow Keras: ``kernel`` Glorot-uniform with fan_in = k I/g, fan_out = k O, bias zeros.
One departure: Keras refuses ``strides > 1`` together with ``dilation_rate > 1``; rnnkit allows it.

Padded batches: with ``lengths``, steps past each length are zeroed before the convolution (so they
never reach an output within the new lengths), and outputs past the new lengths are zero, as the
recurrent layers leave them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit._checks import check_choice
from rnnkit.layers import activations
from rnnkit.layers._base import Layer, Shape, _fmt, check_units
from rnnkit.layers._masks import mask_from_lengths
from rnnkit.layers._windows import PADDINGS, lengths_after, output_steps, padding_amounts

__all__ = ["Conv1D", "window_size"]


def window_size(owner: str, arg: str, value: Any) -> int:
    """An int >= 1, or a tuple / list of one (Keras accepts both for 1-D layers)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return check_units(owner, arg, value)


class Conv1D(Layer):
    """``Conv1D(filters, kernel_size, strides=1, padding="valid", dilation_rate=1, groups=1, activation=None)``."""

    input_ndim = 3

    def __init__(
        self, filters: int, kernel_size: int, strides: int = 1, padding: str = "valid", *,
        dilation_rate: int = 1, groups: int = 1, activation: str | None = None, use_bias: bool = True,
        data_format: str = "channels_last", name: str | None = None, input_shape: Any = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.filters = check_units("Conv1D", "filters", filters)
        self.kernel_size = window_size("Conv1D", "kernel_size", kernel_size)
        self.strides = window_size("Conv1D", "strides", strides)
        self.padding = check_choice("Conv1D", "padding", padding, PADDINGS)
        self.dilation_rate = window_size("Conv1D", "dilation_rate", dilation_rate)
        self.groups = check_units("Conv1D", "groups", groups)
        if self.filters % self.groups:
            raise ValueError(f"Conv1D: filters must be divisible by groups; got filters={filters}, groups={groups}.")
        self.activation = activation
        self._activation = activations.get("Conv1D", activation)
        self.use_bias = bool(use_bias)
        if data_format != "channels_last":
            raise ValueError(f"Conv1D: data_format must be 'channels_last' (B, T, I); got {data_format!r}. For "
                             "(B, I, T) inputs use x.transpose(1, 2).")
        self.data_format = data_format
        if self.input_shape is not None:
            self.build_once(self.input_shape)

    @property
    def window(self) -> int:
        """The effective width of the kernel in input steps, ``d (k - 1) + 1``."""
        return self.dilation_rate * (self.kernel_size - 1) + 1

    def build(self, input_shape: Shape) -> None:
        T, I = input_shape
        if I is None:
            raise ValueError(f"{self.display_name}: the number of input channels (last axis) must be known; got None.")
        if I % self.groups:
            raise ValueError(f"{self.display_name}: input channels ({I}) must be divisible by groups={self.groups}.")
        O, k = self.filters, self.kernel_size
        self.weight = nn.Parameter(torch.empty(O, I // self.groups, k))     # torch layout (O, I/g, k)
        self.bias = nn.Parameter(torch.zeros(O)) if self.use_bias else None
        limit = (6.0 / (k * I // self.groups + k * O)) ** 0.5              # Keras glorot_uniform on (k, I/g, O)
        with torch.no_grad():
            self.weight.uniform_(-limit, limit)

    def check_input_shape(self, input_shape: Shape) -> None:
        super().check_input_shape(input_shape)
        T, I = input_shape
        expected = self.built_input_shape[-1] if self.built else None
        if expected is not None and I != expected:
            raise ValueError(f"{self.display_name}: input must have shape (batch, timesteps, channels={expected}); got "
                             f"{_fmt((None, *input_shape))}.")
        if T is not None and output_steps(T, self.window, self.strides, self.padding) == 0:
            raise ValueError(f"{self.display_name}: {T} time steps are fewer than the kernel's width of {self.window} "
                             f"steps, so padding='valid' leaves no output; use padding='same' or longer sequences.")

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        B, T, I = x.shape
        if lengths is not None and int(lengths.min()) < T:
            x = x.masked_fill(~mask_from_lengths(lengths, T, x.device).unsqueeze(-1), 0.0)  # padding reads as 0
        left, right = padding_amounts(T, self.window, self.strides, self.padding)
        x_pad = F.pad(x.transpose(1, 2), (left, right))                                # (B, I, left + T + right)
        y = F.conv1d(x_pad, self.weight, self.bias, stride=self.strides, dilation=self.dilation_rate,
                     groups=self.groups).transpose(1, 2)                               # (B, T', O)
        y = self._activation(y)
        if lengths is not None:
            new = lengths_after(self.display_name, lengths, self.window, self.strides, self.padding)
            y = y.masked_fill(~mask_from_lengths(new, y.shape[1], y.device).unsqueeze(-1), 0.0)
        return y

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        y = self(x, lengths=lengths)
        if lengths is None:
            return y, None
        return y, lengths_after(self.display_name, lengths, self.window, self.strides, self.padding)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        T = input_shape[0]
        return (None if T is None else output_steps(T, self.window, self.strides, self.padding), self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "dilation_rate": self.dilation_rate, "groups": self.groups,
            "activation": self.activation, "use_bias": self.use_bias, "data_format": self.data_format,
            **super().get_config(),
        }
