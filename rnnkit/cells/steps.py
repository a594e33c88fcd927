r"""One time step of each cell, written with plain autograd ops: the reference the kernels must match.

Each step takes ``x_t`` (B, I), the state tuple and the weights ``(W_ih, W_hh, b_ih, b_hh, ...)``
(biases may be None) and returns the candidate state tuple; the first entry is always ``h̃_t`` (B, H).
``recurrent_mask`` d (B, H) is recurrent dropout (Gal & Ghahramani 2016): it multiplies h_{t-1} where it
enters the recurrent product only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["elman_step", "lstm_step", "gru_step", "gru_reset_before_step", "layer_norm_lstm_step", "layer_norm_gru_step", "LAYER_NORM_EPS"]

LAYER_NORM_EPS = 1e-5


def _recurrent_input(h_prev: Tensor, recurrent_mask: Tensor | None) -> Tensor:
    return h_prev if recurrent_mask is None else h_prev * recurrent_mask


def _layer_norm(a: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
    return F.layer_norm(a, a.shape[-1:], gamma, beta, LAYER_NORM_EPS)


def elman_step(x_t, state, weights, nonlinearity: str = "tanh", recurrent_mask=None):
    r"""h̃_t = act(W_ih x_t + b_ih + W_hh (d ⊙ h_{t-1}) + b_hh),  act ∈ {tanh, relu}."""
    W_ih, W_hh, b_ih, b_hh = weights
    (h_prev,) = state
    a = F.linear(x_t, W_ih, b_ih) + F.linear(_recurrent_input(h_prev, recurrent_mask), W_hh, b_hh)
    h = torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)
    return (h,)


def _lstm_gates(G: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    G_i, G_f, G_g, G_o = G.chunk(4, dim=-1)
    return torch.sigmoid(G_i), torch.sigmoid(G_f), torch.tanh(G_g), torch.sigmoid(G_o)


def lstm_step(x_t, state, weights, recurrent_mask=None):
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
    i, f, g, o = _lstm_gates(F.linear(x_t, W_ih, b_ih) + F.linear(_recurrent_input(h_prev, recurrent_mask), W_hh, b_hh))
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    return h, c


def layer_norm_lstm_step(x_t, state, weights, recurrent_mask=None):
    r"""Layer-normalised LSTM (Ba, Kiros & Hinton 2016, eqs. 20–22):

    G_t = LN(W_ih x_t; γ_ih, β_ih) + LN(W_hh h_{t-1}; γ_hh, β_hh) + b_ih + b_hh
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(LN(c_t; γ_c, β_c))
    """
    W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh, gamma_c, beta_c = weights
    h_prev, c_prev = state
    G = _layer_norm(F.linear(x_t, W_ih), gamma_ih, beta_ih) + _layer_norm(
        F.linear(_recurrent_input(h_prev, recurrent_mask), W_hh), gamma_hh, beta_hh)
    if b_ih is not None:
        G = G + b_ih + b_hh
    i, f, g, o = _lstm_gates(G)
    c = f * c_prev + i * g
    h = o * torch.tanh(_layer_norm(c, gamma_c, beta_c))
    return h, c


def _gru_combine(A: Tensor, R: Tensor, h_prev: Tensor) -> Tensor:
    A_r, A_z, A_n = A.chunk(3, dim=-1)
    R_r, R_z, R_n = R.chunk(3, dim=-1)
    r = torch.sigmoid(A_r + R_r)
    z = torch.sigmoid(A_z + R_z)
    n = torch.tanh(A_n + r * R_n)
    return (1 - z) * n + z * h_prev


def gru_step(x_t, state, weights, recurrent_mask=None):
    r"""PyTorch's "reset after" GRU:

    r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    """
    W_ih, W_hh, b_ih, b_hh = weights
    (h_prev,) = state
    A = F.linear(x_t, W_ih, b_ih)
    R = F.linear(_recurrent_input(h_prev, recurrent_mask), W_hh, b_hh)
    return (_gru_combine(A, R, h_prev),)


def layer_norm_gru_step(x_t, state, weights, recurrent_mask=None):
    r"""Layer-normalised GRU ("reset after"):

    A_t = LN(W_ih x_t; γ_ih, β_ih) + b_ih        R_t = LN(W_hh h_{t-1}; γ_hh, β_hh) + b_hh
    then r, z, n and h_t as in ``gru_step``.
    """
    W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh = weights
    (h_prev,) = state
    A = _layer_norm(F.linear(x_t, W_ih), gamma_ih, beta_ih)
    R = _layer_norm(F.linear(_recurrent_input(h_prev, recurrent_mask), W_hh), gamma_hh, beta_hh)
    if b_ih is not None:
        A, R = A + b_ih, R + b_hh
    return (_gru_combine(A, R, h_prev),)


def gru_reset_before_step(x_t, state, weights, recurrent_mask=None):
    r"""The "reset before" GRU (Cho et al. 2014; Keras' ``reset_after=False``): r multiplies h_{t-1} before W_hn:

    r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n = tanh(W_in x_t + b_in + W_hn (r ⊙ h_{t-1}) + b_hn)
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    """
    W_ih, W_hh, b_ih, b_hh = weights
    (h_prev,) = state
    H = h_prev.shape[-1]
    h_in = _recurrent_input(h_prev, recurrent_mask)
    A_r, A_z, A_n = F.linear(x_t, W_ih, b_ih).chunk(3, dim=-1)
    R_r, R_z = F.linear(h_in, W_hh[: 2 * H], None if b_hh is None else b_hh[: 2 * H]).chunk(2, dim=-1)
    r = torch.sigmoid(A_r + R_r)
    z = torch.sigmoid(A_z + R_z)
    n = torch.tanh(A_n + F.linear(r * h_in, W_hh[2 * H:], None if b_hh is None else b_hh[2 * H:]))
    return ((1 - z) * n + z * h_prev,)

