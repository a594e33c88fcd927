r"""One step of the convolutional cells with plain autograd ops: the reference the ConvLSTM / ConvGRU kernels
must match (equations in ``rnnkit.kernels.conv_lstm`` and ``conv_gru``; ∗ is a "same" conv2d).

Each step takes ``x_t`` (B, C, Y, X), the state tuple and the weights and returns the candidate state tuple,
as the steps in ``steps.py`` do, so ``run_steps`` loops them over time with lengths and direction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.kernels.conv_lstm import same_padding

__all__ = ["conv_lstm_step", "conv_gru_step"]


def _conv(v: Tensor, W: Tensor, b: Tensor | None) -> Tensor:
    return F.conv2d(v, W, b, padding=same_padding(W))


def conv_lstm_step(x_t, state, weights):
    r"""Shi et al. 2015, eq. 3; weights (W_ih, W_hh, b_ih, b_hh, peephole or None):

    i = σ(W_xi ∗ x_t + W_hi ∗ h_{t-1} + w_ci ⊙ c_{t-1} + b_i)
    f = σ(W_xf ∗ x_t + W_hf ∗ h_{t-1} + w_cf ⊙ c_{t-1} + b_f)
    c_t = f ⊙ c_{t-1} + i ⊙ tanh(W_xc ∗ x_t + W_hc ∗ h_{t-1} + b_c)
    o = σ(W_xo ∗ x_t + W_ho ∗ h_{t-1} + w_co ⊙ c_t + b_o)
    h_t = o ⊙ tanh(c_t)
    """
    W_ih, W_hh, b_ih, b_hh, peephole = weights
    h_prev, c_prev = state
    G_i, G_f, G_g, G_o = (_conv(x_t, W_ih, b_ih) + _conv(h_prev, W_hh, b_hh)).chunk(4, dim=1)
    if peephole is not None:
        G_i, G_f = G_i + peephole[0] * c_prev, G_f + peephole[1] * c_prev
    i, f, g = torch.sigmoid(G_i), torch.sigmoid(G_f), torch.tanh(G_g)
    c = f * c_prev + i * g
    o = torch.sigmoid(G_o if peephole is None else G_o + peephole[2] * c)
    h = o * torch.tanh(c)
    return h, c


def conv_gru_step(x_t, state, weights):
    r"""Reset-after ConvGRU; weights (W_ih, W_hh, b_ih, b_hh):

    r = σ(W_ir ∗ x_t + b_ir + W_hr ∗ h_{t-1} + b_hr)
    z = σ(W_iz ∗ x_t + b_iz + W_hz ∗ h_{t-1} + b_hz)
    n = tanh(W_in ∗ x_t + b_in + r ⊙ (W_hn ∗ h_{t-1} + b_hn))
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    """
    W_ih, W_hh, b_ih, b_hh = weights
    (h_prev,) = state
    A_r, A_z, A_n = _conv(x_t, W_ih, b_ih).chunk(3, dim=1)
    R_r, R_z, R_n = _conv(h_prev, W_hh, b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(A_r + R_r), torch.sigmoid(A_z + R_z)
    n = torch.tanh(A_n + r * R_n)
    return ((1 - z) * n + z * h_prev,)
