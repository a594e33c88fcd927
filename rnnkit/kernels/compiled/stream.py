"""Streaming: one time step of a whole stack of layers in one compiled call, without autograd.

The path behind ``layer.step()`` under ``torch.no_grad()`` (see ``stream_kernels.cpp``): the input
projection, the recurrent product, the gate math and every layer of the stack in one C++ call, the
matrix-vector products single-row and our own (AVX2), split across the intra-op threads by hidden units
when the layer is large. Same math as one step of the sequence kernels, so ``step()`` after ``step()``
gives the numbers ``forward`` gives on the whole sequence (to float rounding: the sums run in another order).

Shapes: x (B, I); state as a layer's ``hx``: None (zeros), h (L, B, H), or (h, c) for the LSTM;
weights: per layer ``W_ih, W_hh[, b_ih, b_hh]`` in torch.nn's layout.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rnnkit.kernels.compiled._loader import load, module

__all__ = ["LSTM", "GRU", "ELMAN", "stream_step", "compiled_step"]

LSTM, GRU, ELMAN = 0, 1, 2   # the cell argument


def stream_step(
    cell: int,
    x: Tensor,
    state: Any,
    weights: list[Tensor],
    num_layers: int,
    update: float = 1.0,
    relu: bool = False,
) -> tuple[Tensor, Any] | None:
    """One step of ``num_layers`` stacked layers of ``cell`` (LSTM, GRU or ELMAN); returns ``(y (B, H),
    new_state)``, new_state as ``forward`` returns it (h_n, or the tuple (h_n, c_n) for the LSTM), or None where the compiled kernels are unavailable or the call
    does not fit them (not a CPU float32/float64 tensor, shapes or dtypes that disagree, ...): the caller
    then runs its general path, which checks the arguments and says what is wrong.

    ``update`` is each state's update weight: 1, or 1 - z for zoneout at inference (s = lerp(s_prev, s̃, 1 - z));
    ``relu`` picks relu over tanh for the Elman cell. Never records autograd history: call it under
    ``torch.no_grad()``.
    """
    step = compiled_step()
    return None if step is None else step(cell, x, state, weights, num_layers, update, relu)


def compiled_step():
    """``stream_step`` without the Python wrapper (for callers that count microseconds), or None where
    the compiled kernels are unavailable."""
    return module().step if load() else None
