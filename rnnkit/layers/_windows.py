r"""Sliding windows over time, shared by ``Conv1D`` and the 1-D pooling layers: how much padding each
``padding`` mode adds, how many output steps there are, and the lengths of a padded batch after them.

With a window of ``W`` input steps (a convolution's effective width ``W = dilation · (k - 1) + 1``,
a pooling's ``pool_size``) moved by ``stride`` ``S`` over ``T`` steps, as Keras / TensorFlow do:

    valid:   no padding;                         T' = floor((T - W) / S) + 1
    same:    P = max((T' - 1) S + W - T, 0),     T' = ceil(T / S);  left floor(P / 2), right the rest
    causal:  left W - 1 (convolution only),      T' = ceil(T / S)

Output step ``j`` reads input steps ``j S - left .. j S - left + W - 1``. A sequence of length ``L``
in a padded batch keeps the output steps given by the same formula with ``T = L``:

    valid: L' = floor((L - W) / S) + 1  (an error when L < W);   same, causal: L' = ceil(L / S)

For "valid" and "causal" those outputs read input steps ``< L`` only. For "same" the last of them may
reach past ``L``: the layers fill the steps past each length with the padding value first (0 for a
convolution, -inf for max pooling, left out of an average), so the outputs within ``L'`` never depend on
the padding. With stride 1 (and for "valid" and "causal" at any stride) they equal the outputs of the
sequence run alone; with "same" and stride > 1 the windows keep the batch's alignment (``left`` is
computed from T, as TensorFlow does for the padded array).
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["PADDINGS", "padding_amounts", "output_steps", "lengths_after"]

PADDINGS = ("valid", "same", "causal")


def output_steps(T: int, window: int, stride: int, padding: str) -> int:
    """``T'``, the number of output steps (0 for "valid" when ``T < window``)."""
    if padding == "valid":
        return max((T - window) // stride + 1, 0)
    return -(-T // stride)  # ceil(T / S)


def padding_amounts(T: int, window: int, stride: int, padding: str) -> tuple[int, int]:
    """``(left, right)`` padding steps."""
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return window - 1, 0
    total = max((output_steps(T, window, stride, "same") - 1) * stride + window - T, 0)
    return total // 2, total - total // 2


def lengths_after(owner: str, lengths: Tensor, window: int, stride: int, padding: str) -> Tensor:
    """``(B,)`` lengths after the window: ``L'`` of the module docstring, per sequence."""
    if padding == "valid":
        short = (lengths < window).nonzero().flatten()
        if len(short):
            b = int(short[0])
            raise ValueError(
                f"{owner}: sequence {b} has length {int(lengths[b])}, shorter than the window of {window} steps, so "
                "padding='valid' leaves it no output step. Use padding='same' (or 'causal'), or drop sequences "
                f"shorter than {window} steps."
            )
        return (lengths - window) // stride + 1
    return -(-lengths // stride)
