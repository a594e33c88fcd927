r"""ConvGRU over a whole sequence (one layer, one direction) with a hand-derived backward pass.

The convolutional GRU of Ballas et al. 2016 (the GRU of Cho et al. 2014 with every matrix product a "same"
convolution, as Shi et al. 2015 do for the LSTM), in PyTorch's "reset after" form: r multiplies W_hn ∗ h_{t-1}
instead of h_{t-1} inside the convolution. This differs from Ballas et al. on purpose: it keeps one recurrent
convolution per step (W_hh ∗ h_{t-1} for all three gates) and PyTorch's GRU parameter layout. Gate order r, z, n:

    A_t = W_ih ∗ x_t + b_ih                   # (B, 3H, Y, X), all steps at once
    R_t = W_hh ∗ h_{t-1} + b_hh               # (B, 3H, Y, X), one convolution per step
    r = σ(A_r + R_r)    z = σ(A_z + R_z)    n = tanh(A_n + r ⊙ R_n)
    h̃_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    h_t = lerp(h_{t-1}, h̃_t, m_t)    y_t = m_t h_t      (m_t: the length mask, see ``_sequence``)

Backward through time (``dh`` arrives from step t+1; ⋆ the adjoint of ∗, a transposed convolution):

    dh_t = dh + m_t dy_t;   dh̃ = m_t dh_t
    dA_n = dh̃ ⊙ (1 - z) ⊙ (1 - n²)     dR_n = dA_n ⊙ r
    dA_r = dR_r = dA_n ⊙ R_n ⊙ r(1-r)   dA_z = dR_z = dh̃ ⊙ (h_{t-1} - n) ⊙ z(1-z)
    dh   ← W_hh ⋆ dR_t + dh̃ ⊙ z + (1 - m_t) dh_t

    dx_t = W_ih ⋆ dA_t   dW_ih = Σ_t dA_t ⋆ x_t   dW_hh = Σ_t dR_t ⋆ h_{t-1}   db_ih = Σ dA_t   db_hh = Σ dR_t

(the sums after the loop, each one batched convolution over all T·B frames).

Shapes: x (T, B, C, Y, X), h0 (B, H, Y, X), W_ih (3H, C, k_y, k_x), W_hh (3H, H, k_y', k_x') with odd kernels,
b_ih/b_hh (3H,) or None, mask (T, B) or None. Returns y (T, B, H, Y, X), h_n (B, H, Y, X).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels._gates import gru_gate_gradients
from rnnkit.kernels._sequence import split_update, time_steps
from rnnkit.kernels.conv_lstm import conv_input_gradients, frame_mask, same_padding

__all__ = ["ConvGRUSequence", "conv_gru_sequence"]


class ConvGRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse):
        T, B, C, Y, X = x.shape
        H = h0.shape[1]
        m = frame_mask(mask)                                       # (T, B, 1, 1, 1) or None
        A = F.conv2d(x.reshape(T * B, C, Y, X), W_ih, b_ih, padding=same_padding(W_ih))
        A = A.view(T, B, 3 * H, Y, X)                              # W_ih ∗ x_t + b_ih for every t at once
        pad_hh = same_padding(W_hh)
        gates = x.new_empty(T, B, 3 * H, Y, X)                     # r, z, n after activation
        R_n_all = x.new_empty(T, B, H, Y, X)                       # W_hn ∗ h_{t-1} + b_hn
        h_prev_all = x.new_empty(T, B, H, Y, X)
        y = x.new_empty(T, B, H, Y, X)
        h = h0
        for t in time_steps(T, reverse):
            h_prev_all[t] = h
            R = F.conv2d(h, W_hh, b_hh, padding=pad_hh)           # (B, 3H, Y, X)
            a = gates[t]
            torch.sigmoid(A[t, :, :2 * H] + R[:, :2 * H], out=a[:, :2 * H])
            r, z, n = a.chunk(3, dim=1)
            R_n_all[t] = R[:, 2 * H:]
            torch.tanh(torch.addcmul(A[t, :, 2 * H:], r, R[:, 2 * H:]), out=n)
            h_new = torch.lerp(n, h, z)                            # (1 - z) n + z h_{t-1}
            if m is None:
                h = h_new
                y[t] = h
            else:
                h = torch.lerp(h, h_new, m[t])
                torch.mul(h, m[t], out=y[t])
        ctx.save_for_backward(x, W_ih, W_hh, gates, R_n_all, h_prev_all, mask)
        ctx.reverse = reverse
        ctx.has_bias = b_ih is not None
        return y, h

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        x, W_ih, W_hh, gates, R_n_all, h_prev_all, mask = ctx.saved_tensors
        T, B, C, Y, X = x.shape
        H = W_hh.shape[1]
        m = frame_mask(mask)
        pad_hh = same_padding(W_hh)
        dA = x.new_empty(T, B, 3 * H, Y, X)
        dR = x.new_empty(T, B, 3 * H, Y, X)
        dh = dh_n
        for t in time_steps(T, not ctx.reverse):
            r, z, n = gates[t].chunk(3, dim=1)
            dh_t = dh + (dy[t] if m is None else m[t] * dy[t])
            dh_cell, dh_carry = split_update(dh_t, None if m is None else m[t])
            gru_gate_gradients(dA[t], dR[t], dh_cell, r, z, n, h_prev_all[t], R_n_all[t])
            dh = F.conv_transpose2d(dR[t], W_hh, padding=pad_hh)  # W_hh ⋆ dR_t
            dh += dh_cell * z
            if dh_carry is not None:
                dh += dh_carry
        need = ctx.needs_input_grad
        dx, dW_ih, dW_hh = conv_input_gradients(dA, x, W_ih, h_prev_all, dR, W_hh, (need[0], need[2], need[3]))
        db_ih = dA.sum(dim=(0, 1, 3, 4)) if ctx.has_bias else None
        db_hh = dR.sum(dim=(0, 1, 3, 4)) if ctx.has_bias else None
        return dx, dh, dW_ih, dW_hh, db_ih, db_hh, None, None


def conv_gru_sequence(
    x: Tensor,
    h0: Tensor,
    W_ih: Tensor,
    W_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    mask: Tensor | None = None,
    reverse: bool = False,
) -> tuple[Tensor, Tensor]:
    """Run a ConvGRU over ``x`` (T, B, C, Y, X); returns ``(y, h_n)``. See the module docstring."""
    return ConvGRUSequence.apply(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse)
