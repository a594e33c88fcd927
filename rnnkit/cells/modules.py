"""One-step modules with torch.nn's signatures: ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Parameters ``weight_ih`` (G, I), ``weight_hh`` (G, H), ``bias_ih``, ``bias_hh`` (G,), as in torch.nn, so
``load_state_dict`` moves weights either way. ``input`` is (B, I) or an unbatched (I,).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit._checks import check_choice, check_float_tensor, check_positive_int, check_same_dtype, check_state_shape, shape_str
from rnnkit.cells.steps import elman_step, gru_step, lstm_step

__all__ = ["RNNCell", "LSTMCell", "GRUCell"]


class _Cell(nn.Module):
    gate_count = 1
    state_count = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, device: Any = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        owner = type(self).__name__
        self.input_size = check_positive_int(owner, "input_size", input_size)
        self.hidden_size = check_positive_int(owner, "hidden_size", hidden_size)
        self.bias = bool(bias)
        G, factory = self.gate_count * self.hidden_size, {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(G, self.input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(G, self.hidden_size, **factory))
        if self.bias:
            self.bias_ih = nn.Parameter(torch.empty(G, **factory))
            self.bias_hh = nn.Parameter(torch.empty(G, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _prepare(self, input: Any, hx: Any) -> tuple[Tensor, tuple[Tensor, ...], bool]:
        owner = type(self).__name__
        x = check_float_tensor(owner, "input", input)
        check_same_dtype(owner, "input", x, self.weight_ih.dtype)
        if x.dim() not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{owner}: input must have shape (B, input_size={self.input_size}) or ({self.input_size},); "
                f"got {shape_str(x.shape)}."
            )
        unbatched = x.dim() == 1
        if unbatched:
            x = x.unsqueeze(0)
        B, H = x.shape[0], self.hidden_size
        if hx is None:
            return x, (x.new_zeros(B, H),) * self.state_count, unbatched
        parts = (hx,) if self.state_count == 1 else hx
        if self.state_count > 1 and (not isinstance(hx, (tuple, list)) or len(hx) != self.state_count):
            raise TypeError(f"{owner}: hx must be a tuple (h, c) of tensors; got {type(hx).__name__}.")
        expected = (H,) if unbatched else (B, H)
        state = []
        for part in parts:
            part = check_state_shape(owner, "hx", part, expected, "(H,)" if unbatched else "(B, hidden_size)")
            check_same_dtype(owner, "hx", part, x.dtype)
            state.append(part.unsqueeze(0) if unbatched else part)
        return x, tuple(state), unbatched


class RNNCell(_Cell):
    r"""h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", *, device: Any = None, dtype: torch.dtype | None = None) -> None:
        self.nonlinearity = check_choice("RNNCell", "nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, state, unbatched = self._prepare(input, hx)
        (h,) = elman_step(x, state, self._weights(), self.nonlinearity)
        return h.squeeze(0) if unbatched else h


class LSTMCell(_Cell):
    r"""One LSTM step (gates i, f, g, o): returns ``(h', c')``; see ``rnnkit.cells.steps.lstm_step``."""

    gate_count = 4
    state_count = 2

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, state, unbatched = self._prepare(input, hx)
        h, c = lstm_step(x, state, self._weights())
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_Cell):
    r"""One GRU step (gates r, z, n; "reset after"); see ``rnnkit.cells.steps.gru_step``."""

    gate_count = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, state, unbatched = self._prepare(input, hx)
        (h,) = gru_step(x, state, self._weights())
        return h.squeeze(0) if unbatched else h
