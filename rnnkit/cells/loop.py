"""The generic per-step loop: any step function over a sequence, with lengths, zoneout and direction.

It is the reference the hand-derived kernels are tested against, and the path for cells without one.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

__all__ = ["run_steps"]

Step = Callable[[Tensor, tuple[Tensor, ...], Sequence], tuple[Tensor, ...]]


def run_steps(
    step: Step,
    x: Tensor,
    state: tuple[Tensor, ...],
    weights: Sequence,
    mask: Tensor | None = None,
    reverse: bool = False,
    *,
    zoneout: Sequence[Tensor | None] | None = None,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Apply ``step`` at every time step of ``x`` (T, B, I).

    Each state entry s follows s_t = lerp(s_{t-1}, s̃_t, u_t) with u_t = m_t (1 - k_t): ``mask`` m (T, B)
    holds a finished (or, in reverse, not yet started) sequence's state and zeroes its output, and
    ``zoneout`` gives per entry the keep probabilities k (T, B, H) or None. Returns ``y`` (T, B, H),
    y_t = m_t h_t, and the final state tuple.
    """
    T = x.shape[0]
    keeps = tuple(zoneout) if zoneout is not None else (None,) * len(state)
    outputs: list[Tensor] = [x.new_empty(0)] * T
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        candidate = step(x[t], state, weights)
        m = None if mask is None else mask[t].view(-1, *(1,) * (state[0].dim() - 1))   # (B, 1) or (B, 1, 1, 1)
        new_state = []
        for s_prev, s_new, k in zip(state, candidate, keeps):
            u = None if k is None else 1 - k[t]
            u = m if u is None else (u if m is None else m * u)
            new_state.append(s_new if u is None else s_prev + u * (s_new - s_prev))
        state = tuple(new_state)
        outputs[t] = state[0] if m is None else state[0] * m
    return torch.stack(outputs), state
