"""The per-step loop as one traced scan (``torch._higher_order_ops.scan``), for graph export.

``run_steps`` unrolls a Python loop over T, so a traced graph would fix T; the hand-derived kernels are
opaque to tracing. This form traces to a single loop node with T, B symbolic — under
``torch.onnx.export(..., dynamo=True)`` an ONNX ``Scan`` — and computes what ``run_steps`` computes:
each state entry s_t = lerp(s_{t-1}, s̃_t, u_t), u_t = m_t (1 - k_t), output y_t = m_t h_t.
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor
from torch._higher_order_ops import scan

from rnnkit.cells.loop import Step

__all__ = ["scan_steps"]


def scan_steps(
    step: Step,
    x: Tensor,
    state: tuple[Tensor, ...],
    weights: Sequence,
    mask: Tensor | None = None,
    reverse: bool = False,
    *,
    zoneout: Sequence[Tensor | None] | None = None,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """``run_steps`` (same arguments and result: ``y`` (T, B, H) and the final state) as one scan over x (T, B, I).

    ``mask`` (T, B) None counts every step; ``zoneout`` keep probabilities k (T, B, H) per state entry.
    """
    T, B = x.shape[:2]
    if mask is None:
        mask = x.new_ones(T, B)
    keeps = tuple(zoneout) if zoneout is not None else (None,) * len(state)
    keep_xs = tuple(k for k in keeps if k is not None)
    weights = tuple(weights)

    def combine(carry: tuple[Tensor, ...], inputs: tuple[Tensor, ...]) -> tuple[tuple[Tensor, ...], Tensor]:
        x_t, m_t, *k_t = inputs
        candidate = step(x_t, carry, weights)
        m = m_t.unsqueeze(-1)                                                  # (B, 1)
        k_iter = iter(k_t)
        new_state = []
        for s_prev, s_new, k in zip(carry, candidate, keeps):
            u = m if k is None else m * (1 - next(k_iter))
            new_state.append(s_prev + u * (s_new - s_prev))
        return tuple(new_state), (new_state[0] * m).clone()   # scan forbids output aliasing

    init = tuple(s.clone() for s in state)   # scan forbids aliased inputs: zero states share one tensor
    final, y = scan(combine, init, (x, mask, *keep_xs), reverse=reverse)
    return y, tuple(final)
