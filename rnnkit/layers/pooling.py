r"""Pooling over time, channels last: ``MaxPooling1D``, ``AveragePooling1D`` (windows) and
``GlobalMaxPooling1D``, ``GlobalAveragePooling1D``, ``GlobalConcatPooling1D`` (the whole sequence), all aware
of lengths.

Windowed, for input x (B, T, I), window ``pool_size`` W and ``strides`` S (default W):

    max:      y[b, j, i] = max_{t in window j, t valid} x[b, t, i]
    average:  y[b, j, i] = sum_{t in window j, t valid} x[b, t, i] / |{t in window j, t valid}|

where window j is input steps ``j S - left .. j S - left + W - 1`` (``_windows`` gives ``left``, the
output steps T' and the new lengths) and "valid" means inside the input (not "same" padding) and, for a
padded batch, before the sequence's length. Without lengths this is Keras / TensorFlow exactly: "same"
padding never wins a max and is left out of an average's count. Outputs past the new lengths are 0.

Global, over the steps before each sequence's length L_b:

    GlobalMaxPooling1D:      y[b, i] = max_{t < L_b} x[b, t, i]
    GlobalAveragePooling1D:  y[b, i] = (1 / L_b) sum_{t < L_b} x[b, t, i]
    GlobalConcatPooling1D:   y[b] = [x[b, L_b - 1], max_{t < L_b} x[b, t], (1 / L_b) sum_{t < L_b} x[b, t]]   (3 I)

The concatenation of the last real step, the maximum and the mean is ULMFiT's "concat pooling"
(Howard & Ruder 2018, section 3.3): the last state alone forgets the start of a long text.

Keras' ``GlobalAveragePooling1D`` uses its mask the same way. Keras' ``GlobalMaxPooling1D`` and the
windowed pooling layers ignore masks (padding can win a max there); rnnkit leaves padding out on
purpose. Without lengths all are identical to Keras.
"""

from __future__ import annotations

import abc
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit._checks import check_choice
from rnnkit.layers._base import Layer, Shape, _fmt
from rnnkit.layers._masks import mask_from_lengths
from rnnkit.layers._windows import lengths_after, output_steps, padding_amounts
from rnnkit.layers.conv import window_size

__all__ = ["MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D", "GlobalConcatPooling1D"]


def _channels_last(owner: str, data_format: str) -> str:
    if data_format != "channels_last":
        raise ValueError(f"{owner}: data_format must be 'channels_last' (B, T, I); got {data_format!r}. For "
                         "(B, I, T) inputs use x.transpose(1, 2).")
    return data_format


def _valid_steps(x: Tensor, lengths: Tensor | None) -> Tensor:
    """``(B, T, 1)`` bool: the steps before each length (all True without lengths)."""
    B, T = x.shape[:2]
    if lengths is None:
        return torch.ones(B, T, 1, dtype=torch.bool, device=x.device)
    return mask_from_lengths(lengths, T, x.device).unsqueeze(-1)


class _Pooling1D(Layer):
    """Shared by the windowed pooling layers: arguments, padding, output steps, lengths."""

    input_ndim = 3

    def __init__(
        self, pool_size: int = 2, strides: int | None = None, padding: str = "valid", *,
        data_format: str = "channels_last", name: str | None = None, input_shape: Any = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        owner = type(self).__name__
        self.pool_size = window_size(owner, "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else window_size(owner, "strides", strides)
        self.padding = check_choice(owner, "padding", padding, ("valid", "same"))
        self.data_format = _channels_last(owner, data_format)

    def check_input_shape(self, input_shape: Shape) -> None:
        super().check_input_shape(input_shape)
        T = input_shape[0]
        if T is not None and output_steps(T, self.pool_size, self.strides, self.padding) == 0:
            raise ValueError(f"{self.display_name}: {T} time steps are fewer than pool_size={self.pool_size}, so "
                             f"padding='valid' leaves no output; use padding='same'. Input shape {_fmt((None, *input_shape))}.")

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        T = x.shape[1]
        left, right = padding_amounts(T, self.pool_size, self.strides, self.padding)
        valid = _valid_steps(x, lengths)                                             # (B, T, 1)
        y = self.pool(x.transpose(1, 2), valid.transpose(1, 2), (left, right))      # (B, I, T')
        y = y.transpose(1, 2)                                                        # (B, T', I)
        if lengths is not None:
            new = lengths_after(self.display_name, lengths, self.pool_size, self.strides, self.padding)
            y = y.masked_fill(~mask_from_lengths(new, y.shape[1], y.device).unsqueeze(-1), 0.0)
        return y

    @abc.abstractmethod
    def pool(self, x: Tensor, valid: Tensor, pad: tuple[int, int]) -> Tensor:
        """``x`` (B, I, T), ``valid`` (B, 1, T) → (B, I, T')."""

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        y = self(x, lengths=lengths)
        if lengths is None:
            return y, None
        return y, lengths_after(self.display_name, lengths, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        T, I = input_shape
        return (None if T is None else output_steps(T, self.pool_size, self.strides, self.padding), I)

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, **super().get_config()}


class MaxPooling1D(_Pooling1D):
    """``MaxPooling1D(pool_size=2, strides=None, padding="valid")``: (B, T, I) → (B, T', I)."""

    def pool(self, x: Tensor, valid: Tensor, pad: tuple[int, int]) -> Tensor:
        x = x.masked_fill(~valid, float("-inf"))                    # padding past a length never wins
        x = F.pad(x, pad, value=float("-inf"))                      # nor does "same" padding
        return F.max_pool1d(x, self.pool_size, self.strides)


class AveragePooling1D(_Pooling1D):
    """``AveragePooling1D(pool_size=2, strides=None, padding="valid")``: (B, T, I) → (B, T', I)."""

    def pool(self, x: Tensor, valid: Tensor, pad: tuple[int, int]) -> Tensor:
        weight = valid.to(x.dtype)                                   # (B, 1, T)
        x = x.masked_fill(~valid, 0.0)
        sums = F.avg_pool1d(F.pad(x, pad), self.pool_size, self.strides)             # sum / W, padding 0
        counts = F.avg_pool1d(F.pad(weight, pad), self.pool_size, self.strides)      # valid share of W
        return sums / counts.clamp_min(1.0 / self.pool_size)        # sum / |valid|; empty windows give 0


class _GlobalPooling1D(Layer):
    input_ndim = 3

    def __init__(
        self, *, keepdims: bool = False, data_format: str = "channels_last",
        name: str | None = None, input_shape: Any = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.keepdims = bool(keepdims)
        self.data_format = _channels_last(type(self).__name__, data_format)

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        y = self.reduce(x, _valid_steps(x, lengths))                 # (B, I)
        return y.unsqueeze(1) if self.keepdims else y

    @abc.abstractmethod
    def reduce(self, x: Tensor, valid: Tensor) -> Tensor:
        """``x`` (B, T, I), ``valid`` (B, T, 1) → (B, I)."""

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return self(x, lengths=lengths), None  # time is reduced away (with keepdims, to one step)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (1, input_shape[-1]) if self.keepdims else (input_shape[-1],)

    def get_config(self) -> dict[str, Any]:
        return {"keepdims": self.keepdims, "data_format": self.data_format, **super().get_config()}


class GlobalMaxPooling1D(_GlobalPooling1D):
    """(B, T, I) → (B, I) (``keepdims``: (B, 1, I)): the maximum over each sequence's own steps."""

    def reduce(self, x: Tensor, valid: Tensor) -> Tensor:
        return x.masked_fill(~valid, float("-inf")).amax(dim=1)     # (B, I)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """(B, T, I) → (B, I) (``keepdims``: (B, 1, I)): the mean over each sequence's own steps."""

    def reduce(self, x: Tensor, valid: Tensor) -> Tensor:
        return x.masked_fill(~valid, 0.0).sum(dim=1) / valid.sum(dim=1).to(x.dtype)   # (B, I)


class GlobalConcatPooling1D(_GlobalPooling1D):
    """(B, T, I) → (B, 3 I) (``keepdims``: (B, 1, 3 I)): [the last real step, the max, the mean] of each sequence.

    The last real step of row b is ``x[b, L_b - 1]`` (``x[b, T - 1]`` without lengths), so for a forward
    recurrence it is the state after the sequence's own last token, never one after padding.
    """

    def reduce(self, x: Tensor, valid: Tensor) -> Tensor:
        B, T, I = x.shape
        steps = valid.sum(dim=1)                                                  # (B, 1): L_b
        last = x.gather(1, (steps - 1).clamp_min(0).view(B, 1, 1).expand(B, 1, I)).squeeze(1)   # (B, I)
        top = x.masked_fill(~valid, float("-inf")).amax(dim=1)                    # (B, I)
        mean = x.masked_fill(~valid, 0.0).sum(dim=1) / steps.to(x.dtype)          # (B, I)
        return torch.cat([last, top, mean], dim=-1)                               # (B, 3 I)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (1, 3 * input_shape[-1]) if self.keepdims else (3 * input_shape[-1],)
