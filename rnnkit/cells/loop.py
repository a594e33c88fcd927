"""The generic per-step loop: any step function over a sequence, with lengths and direction.

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
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Apply ``step`` at every time step of ``x`` (T, B, I).

    A masked step (``mask[t, b] == 0``) keeps the previous state and outputs zero, so a finished
    sequence's final state is the one at its own last step and a reverse pass starts at its own end.
    Returns ``y`` (T, B, H) and the final state tuple.
    """
    T = x.shape[0]
    outputs: list[Tensor] = [x.new_empty(0)] * T
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        new_state = step(x[t], state, weights)
        if mask is None:
            state = new_state
            outputs[t] = new_state[0]
        else:
            m = mask[t].unsqueeze(1)                                   # (B, 1)
            state = tuple(torch.where(m > 0, new, old) for new, old in zip(new_state, state))
            outputs[t] = new_state[0] * m
    return torch.stack(outputs), state
