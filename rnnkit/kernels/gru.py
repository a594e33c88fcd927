r"""GRU over a whole sequence (one layer, one direction) with a hand-derived backward pass.

This is PyTorch's "reset after" GRU (Cho et al. 2014 apply r before the recurrent product; PyTorch and
cuDNN apply it after, which lets W_hh h_{t-1} be one matrix product per step). Gate order r, z, n;
d is the recurrent dropout mask (one draw per sequence, 1 when off):

    A_t = W_ih x_t + b_ih                     # (B, 3H), all steps at once
    R_t = W_hh (d ⊙ h_{t-1}) + b_hh           # (B, 3H), one product per step
    r = σ(A_r + R_r)    z = σ(A_z + R_z)    n = tanh(A_n + r ⊙ R_n)
    h̃_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    h_t = lerp(h_{t-1}, h̃_t, u_t)    y_t = m_t h_t      (u_t: lengths and zoneout, see ``_sequence``)

Backward through time (``dh`` arrives from step t+1):

    dh_t = dh + m_t dy_t;   dh̃ = u_t dh_t
    (dh_t is the total ∂L/∂h_t; while a recorder is active, ``_record`` keeps it)
    dn   = dh̃ ⊙ (1 - z)               dz = dh̃ ⊙ (h_{t-1} - n)
    dA_n = dn ⊙ (1 - n²)               dR_n = dA_n ⊙ r          dr = dA_n ⊙ R_n
    dA_r = dR_r = dr ⊙ r(1-r)          dA_z = dR_z = dz ⊙ z(1-z)
    dh   ← d ⊙ (dR_t W_hh) + dh̃ ⊙ z + (1 - u_t) dh_t

    dW_ih = Σ_t dA_tᵀ x_t   dW_hh = Σ_t dR_tᵀ (d ⊙ h_{t-1})   db_ih = Σ_t dA_t   db_hh = Σ_t dR_t   dx_t = dA_t W_ih

Shapes: x (T, B, I), h0 (B, H), W_ih (3H, I), W_hh (3H, H), b_ih/b_hh (3H,) or None, mask (T, B) or None,
recurrent_mask (B, H) or None, zoneout_h (T, B, H) or None. Returns y (T, B, H), h_n (B, H).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels._gates import gru_gate_gradients
from rnnkit.kernels._record import open_record, record_buffer
from rnnkit.kernels._sequence import (
    advance,
    input_projection,
    output_gradient,
    projection_gradients,
    recurrent_gradient,
    split_update,
    time_steps,
    update_weights,
    write_output,
)

__all__ = ["GRUSequence", "gru_sequence"]


class GRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, recurrent_mask, zoneout_h):
        T, B, _ = x.shape
        H = h0.shape[1]
        d = recurrent_mask
        u = update_weights(mask, zoneout_h)
        A = input_projection(x, W_ih, b_ih)                        # (T, B, 3H)
        W_hh_t = W_hh.t()
        gates = x.new_empty(T, B, 3 * H)                           # r, z, n after activation
        R_n_all = x.new_empty(T, B, H)                             # W_hn (d ⊙ h_{t-1}) + b_hn
        h_prev_all = x.new_empty(T, B, H)
        y = x.new_empty(T, B, H)
        h = h0
        for t in time_steps(T, reverse):
            h_prev_all[t] = h
            hd = h if d is None else h * d
            R = hd @ W_hh_t if b_hh is None else torch.addmm(b_hh, hd, W_hh_t)   # (B, 3H)
            a = gates[t]
            torch.sigmoid(A[t, :, :2 * H] + R[:, :2 * H], out=a[:, :2 * H])
            r, z, n = a.chunk(3, dim=1)
            R_n_all[t] = R[:, 2 * H:]
            torch.tanh(torch.addcmul(A[t, :, 2 * H:], r, R[:, 2 * H:]), out=n)
            h_new = torch.lerp(n, h, z)                            # (1 - z) n + z h_{t-1}
            h = advance(h, h_new, u, t)
            write_output(y, t, h, mask)
        ctx.save_for_backward(x, W_ih, W_hh, gates, R_n_all, h_prev_all, mask, d, u)
        ctx.reverse = reverse
        ctx.record = open_record(mask, reverse)           # None unless dh_t is being recorded
        ctx.has_bias = b_ih is not None
        return y, h

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        x, W_ih, W_hh, gates, R_n_all, h_prev_all, mask, d, u = ctx.saved_tensors
        T, B, _ = x.shape
        H = W_hh.shape[1]
        dA = x.new_empty(T, B, 3 * H)
        dR = x.new_empty(T, B, 3 * H)
        seen = record_buffer(ctx.record, dh_n, T)                  # (T, B, H) or None: dh_t, see _record
        dh = dh_n
        for t in time_steps(T, not ctx.reverse):
            r, z, n = gates[t].chunk(3, dim=1)
            dh_t = output_gradient(dh, dy, t, mask)
            if seen is not None:
                seen[t] = dh_t
            dh_cell, dh_carry = split_update(dh_t, None if u is None else u[t])
            gru_gate_gradients(dA[t], dR[t], dh_cell, r, z, n, h_prev_all[t], R_n_all[t])
            dh = recurrent_gradient(dR[t], W_hh, d, dh_carry)
            dh += dh_cell * z
        need = ctx.needs_input_grad
        dx, dW_ih, dW_hh = projection_gradients(dA, dR, x, W_ih, h_prev_all, d, (need[0], need[2], need[3]))
        db_ih = dA.sum(dim=(0, 1)) if ctx.has_bias else None
        db_hh = dR.sum(dim=(0, 1)) if ctx.has_bias else None
        return dx, dh, dW_ih, dW_hh, db_ih, db_hh, None, None, None, None


def gru_sequence(
    x: Tensor,
    h0: Tensor,
    W_ih: Tensor,
    W_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    mask: Tensor | None = None,
    reverse: bool = False,
    *,
    recurrent_mask: Tensor | None = None,
    zoneout_h: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Run a GRU over ``x`` (T, B, I); returns ``(y, h_n)``. See the module docstring."""
    return GRUSequence.apply(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, recurrent_mask, zoneout_h)
