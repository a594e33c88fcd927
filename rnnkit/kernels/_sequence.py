"""Pieces every sequence kernel shares: time order, input projection, state updates, weight gradients.

Shape legend: T time, B batch, I input features, H hidden units, G = gates × H.
All kernels are time-major: x is (T, B, I).

State updates. A step computes a candidate state s̃_t; the state it keeps is

    s_t = s_{t-1} + u_t ⊙ (s̃_t - s_{t-1})          (torch.lerp, exact when u_t is 0 or 1)

with u_t = m_t (1 - k_t): m_t (B,) the length mask (0 once a sequence has ended, or in reverse before
it has started) and k_t (B, H) the zoneout keep probabilities (Krueger et al. 2017: a Bernoulli(z) draw
per unit and step in training, the constant z at inference). The output is y_t = m_t s_t. In backward,
dx̃ = u_t ⊙ ds_t reaches the cell and (1 - u_t) ⊙ ds_t goes straight to s_{t-1}.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "time_steps",
    "input_projection",
    "weight_gradients",
    "projection_gradients",
    "update_weights",
    "split_update",
    "advance",
    "write_output",
    "output_gradient",
    "recurrent_gradient",
]


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


def projection_gradients(
    dA: Tensor, dR: Tensor, x: Tensor, W_ih: Tensor, h_prev_all: Tensor, recurrent_mask: Tensor | None,
    need: tuple[bool, bool, bool],
) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
    """After the backward loop, over all steps at once (each one matrix product):

        dx_t = dA_t W_ih      dW_ih = Σ_t dA_tᵀ x_t      dW_hh = Σ_t dR_tᵀ (d ⊙ h_{t-1})

    dA: gradient of the input projection (T, B, G); dR: of the recurrent one (the same tensor for LSTM
    and Elman); need: which of (dx, dW_ih, dW_hh) autograd asked for.
    """
    T, B, G = dA.shape
    dx = (dA.reshape(T * B, G) @ W_ih).view(T, B, -1) if need[0] else None
    dW_ih = weight_gradients(dA, x) if need[1] else None
    h_in = h_prev_all if recurrent_mask is None else h_prev_all * recurrent_mask
    dW_hh = weight_gradients(dR, h_in) if need[2] else None
    return dx, dW_ih, dW_hh


def update_weights(mask: Tensor | None, keep: Tensor | None) -> Tensor | None:
    """u = m (1 - k): (T, B, 1) from the length mask, (T, B, H) with zoneout, None when every step updates."""
    u = None if mask is None else mask.unsqueeze(2)
    if keep is not None:
        u = 1 - keep if u is None else u * (1 - keep)
    return u


def split_update(ds: Tensor, u: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """Backward of s_t = lerp(s_{t-1}, s̃_t, u): returns (ds̃, ds_{t-1} carried past the cell)."""
    if u is None:
        return ds, None
    ds_cell = u * ds
    return ds_cell, ds - ds_cell


def advance(s_prev: Tensor, s_new: Tensor, u: Tensor | None, t: int) -> Tensor:
    """s_t = lerp(s_{t-1}, s̃_t, u_t): the state a step keeps."""
    return s_new if u is None else torch.lerp(s_prev, s_new, u[t])


def write_output(y: Tensor, t: int, h: Tensor, mask: Tensor | None) -> None:
    """y_t = m_t h_t, written into the preallocated output."""
    if mask is None:
        y[t] = h
    else:
        torch.mul(h, mask[t].unsqueeze(1), out=y[t])


def output_gradient(dh: Tensor, dy: Tensor, t: int, mask: Tensor | None) -> Tensor:
    """dh_t = dh + m_t dy_t: the gradient reaching h_t from step t+1 and from the output."""
    return dh + (dy[t] if mask is None else mask[t].unsqueeze(1) * dy[t])


def recurrent_gradient(dR_t: Tensor, W_hh: Tensor, recurrent_mask: Tensor | None, carry: Tensor | None) -> Tensor:
    """dh_{t-1} through the recurrent product, d ⊙ (dR_t W_hh), plus what skipped the cell, (1 - u_t) dh_t."""
    dh = dR_t @ W_hh
    if recurrent_mask is not None:
        dh = dh * recurrent_mask
    if carry is not None:
        dh += carry
    return dh
