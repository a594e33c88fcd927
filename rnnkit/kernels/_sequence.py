"""Pieces every sequence kernel shares: time order, input projection, masking, weight gradients.

Shape legend: T time, B batch, I input features, H hidden units, G = gates × H.
All kernels are time-major: x is (T, B, I).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["time_steps", "input_projection", "weight_gradients"]


def time_steps(T: int, reverse: bool) -> range:
    """The order a direction visits time: 0..T-1 forward, T-1..0 reverse."""
    return range(T - 1, -1, -1) if reverse else range(T)


def input_projection(x: Tensor, W_ih: Tensor, bias: Tensor | None) -> Tensor:
    """W_ih x_t + bias for every t at once, as one matrix product.

    x: (T, B, I), W_ih: (G, I), bias: (G,) or None  ->  (T, B, G)
    """
    T, B, I = x.shape
    x2 = x.reshape(T * B, I)
    if bias is None:
        Gx = x2 @ W_ih.t()
    else:
        Gx = torch.addmm(bias, x2, W_ih.t())
    return Gx.view(T, B, -1)


def weight_gradients(dG: Tensor, inputs: Tensor) -> Tensor:
    """dW = Σ_t dG_tᵀ v_t as a single matrix product over all steps and the batch.

    dG: (T, B, G), inputs: (T, B, K)  ->  (G, K)
    """
    T, B, G = dG.shape
    return dG.reshape(T * B, G).t() @ inputs.reshape(T * B, -1)
