"""State plumbing of the Keras-style recurrent layers: Keras' ``initial_state`` list ↔ the core's ``hx``,
the states returned by ``return_state``, and the time reversal of ``go_backwards``.

Keras lists states per direction, each ``(B, H)``: ``[h]`` (SimpleRNN, GRU), ``[h, c]`` (LSTM), and
for ``Bidirectional`` the forward states then the backward ones, ``[h_fwd, c_fwd, h_bwd, c_bwd]``.
The core (``rnnkit.nn``) takes ``hx`` as one ``(D, B, H)`` tensor per state entry (``h`` or ``(h, c)``).

Shape legend: B batch, T time, H hidden units, D directions.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit._checks import shape_str

__all__ = ["core_state", "keras_states", "reverse_within_lengths", "state_names"]


def state_names(state_count: int, directions: int) -> list[str]:
    """Keras' order of the states, e.g. ``["h_fwd", "c_fwd", "h_bwd", "c_bwd"]``."""
    entries = ["h", "c"][:state_count]
    if directions == 1:
        return entries
    return [f"{e}_{d}" for d in ("fwd", "bwd") for e in entries]


def core_state(owner: str, initial_state: Any, state_count: int, directions: int, B: int, H: int,
               x: Tensor) -> Any:
    """Keras' ``initial_state`` (a list of ``D · state_count`` tensors ``(B, H)``) → the core's ``hx``."""
    names = state_names(state_count, directions)
    if isinstance(initial_state, Tensor) and len(names) == 1:
        initial_state = [initial_state]
    if not isinstance(initial_state, (list, tuple)) or len(initial_state) != len(names):
        got = f"a {type(initial_state).__name__} of {len(initial_state)}" if isinstance(
            initial_state, (list, tuple)) else type(initial_state).__name__
        raise ValueError(f"{owner}: initial_state must be a list of {len(names)} tensors {names}, each (B, H) = "
                         f"({B}, {H}); got {got}.")
    for i, (state, name) in enumerate(zip(initial_state, names)):
        if not isinstance(state, Tensor) or not state.is_floating_point():
            raise TypeError(f"{owner}: initial_state[{i}] ({name}) must be a floating-point tensor (B, H) = ({B}, {H}); "
                            f"got {type(state).__name__}" + (f" of dtype {state.dtype}." if isinstance(state, Tensor) else "."))
        if tuple(state.shape) != (B, H):
            raise ValueError(f"{owner}: initial_state[{i}] ({name}) must have shape (B, H) = ({B}, {H}); got "
                             f"{shape_str(state.shape)}. The batch size must match x's.")
        if state.dtype != x.dtype:
            raise TypeError(f"{owner}: initial_state[{i}] ({name}) has dtype {state.dtype} but x has {x.dtype}; use "
                            f"initial_state[{i}].to({x.dtype}).")
    # entry j of direction d is initial_state[d * state_count + j]; the core stacks directions per entry
    stacked = tuple(torch.stack([initial_state[d * state_count + j] for d in range(directions)]).to(x.device)
                    for j in range(state_count))                       # each (D, B, H)
    return stacked[0] if state_count == 1 else stacked


def keras_states(state: Any) -> list[Tensor]:
    """The core's final ``h_n`` or ``(h_n, c_n)`` (each (D, B, H)) → Keras' list of (B, H), per direction."""
    entries = state if isinstance(state, tuple) else (state,)
    return [entry[d] for d in range(entries[0].shape[0]) for entry in entries]


def reverse_within_lengths(x: Tensor, lengths: Tensor | None) -> Tensor:
    """``x[b, t] → x[b, L_b - 1 - t]`` for ``t < L_b``; padding stays at the end. Its own inverse.

    Without lengths it is ``x.flip(1)``. x: (B, T, ...).
    """
    if lengths is None or int(lengths.min()) == x.shape[1]:
        return x.flip(1)
    B, T = x.shape[:2]
    t = torch.arange(T).unsqueeze(0)                                    # (1, T)
    L = lengths.to(torch.int64).unsqueeze(1)                            # (B, 1)
    index = torch.where(t < L, L - 1 - t, t).to(x.device)               # (B, T)
    return x.gather(1, index.reshape(B, T, *([1] * (x.dim() - 2))).expand_as(x))
