r"""One time step of each cell, written with plain autograd ops: the reference the kernels must match.

Each step takes ``x_t`` (B, I), the state tuple and the weights ``(W_ih, W_hh, b_ih, b_hh)`` (biases may
be None) and returns the new state tuple. The first state entry is always the output ``h_t`` (B, H).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["elman_step", "lstm_step", "gru_step", "Weights"]

Weights = tuple[Tensor, Tensor, "Tensor | None", "Tensor | None"]


def elman_step(x_t: Tensor, state: tuple[Tensor], weights: Weights, nonlinearity: str = "tanh") -> tuple[Tensor]:
    r"""h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act ∈ {tanh, relu}."""
    W_ih, W_hh, b_ih, b_hh = weights
    (h_prev,) = state
    a = F.linear(x_t, W_ih, b_ih) + F.linear(h_prev, W_hh, b_hh)
    h = torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)
    return (h,)


def lstm_step(x_t: Tensor, state: tuple[Tensor, Tensor], weights: Weights) -> tuple[Tensor, Tensor]:
    r"""
    i = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
    f = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
    g = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    o = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)
    """
    W_ih, W_hh, b_ih, b_hh = weights
    h_prev, c_prev = state
    G_i, G_f, G_g, G_o = (F.linear(x_t, W_ih, b_ih) + F.linear(h_prev, W_hh, b_hh)).chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(G_i), torch.sigmoid(G_f), torch.tanh(G_g), torch.sigmoid(G_o)
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    return h, c


def gru_step(x_t: Tensor, state: tuple[Tensor], weights: Weights) -> tuple[Tensor]:
    r"""PyTorch's "reset after" GRU:

    r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    """
    W_ih, W_hh, b_ih, b_hh = weights
    (h_prev,) = state
    A_r, A_z, A_n = F.linear(x_t, W_ih, b_ih).chunk(3, dim=-1)
    R_r, R_z, R_n = F.linear(h_prev, W_hh, b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(A_r + R_r)
    z = torch.sigmoid(A_z + R_z)
    n = torch.tanh(A_n + r * R_n)
    h = (1 - z) * n + z * h_prev
    return (h,)
