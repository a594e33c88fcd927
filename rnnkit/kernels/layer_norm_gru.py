r"""Layer-normalised GRU ("reset after") over a whole sequence with a hand-derived backward.

Forward, one step (LN as in ``_layer_norm``; d the recurrent dropout mask, 1 when off):

    P_t = W_ih x_t                      A_t = LN(P_t; γ_ih, β_ih) + b_ih        # all steps at once
    Q_t = W_hh (d ⊙ h_{t-1})            R_t = LN(Q_t; γ_hh, β_hh) + b_hh        # (B, 3H)
    r = σ(A_r + R_r)    z = σ(A_z + R_z)    n = tanh(A_n + r ⊙ R_n)
    h̃_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    h_t = lerp(h_{t-1}, h̃_t, u_t)    y_t = m_t h_t

Backward: dA_t and dR_t exactly as the plain GRU (``gru.py``), then

    dQ_t = LN_backward(dR_t)       dh ← d ⊙ (dQ_t W_hh) + dh̃ ⊙ z + (1 - u_t) dh_t

and after the loop, over all steps at once:

    dP = LN_backward(dA)   dx_t = dP_t W_ih   dW_ih = Σ dP_tᵀ x_t   dW_hh = Σ dQ_tᵀ (d ⊙ h_{t-1})
    dγ_ih = Σ dA ⊙ P̂   dβ_ih = db_ih = Σ dA   dγ_hh = Σ dR ⊙ Q̂   dβ_hh = db_hh = Σ dR

Shapes: x (T, B, I), h0 (B, H), W_ih (3H, I), W_hh (3H, H), b_ih/b_hh (3H,) or None, γ/β (3H,).
Returns y (T, B, H), h_n (B, H).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels._gates import gru_gate_gradients
from rnnkit.kernels._layer_norm import layer_norm_backward, layer_norm_forward
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

__all__ = ["LayerNormGRUSequence", "layer_norm_gru_sequence"]


class LayerNormGRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh,
                mask, reverse, recurrent_mask, zoneout_h):
        T, B, _ = x.shape
        H = h0.shape[1]
        d = recurrent_mask
        u = update_weights(mask, zoneout_h)
        A, P_hat, P_rstd = layer_norm_forward(input_projection(x, W_ih, None), gamma_ih, beta_ih)   # (T, B, 3H)
        if b_ih is not None:
            A += b_ih
        W_hh_t = W_hh.t()
        gates = x.new_empty(T, B, 3 * H)
        Q_hat = x.new_empty(T, B, 3 * H)
        Q_rstd = x.new_empty(T, B, 1)
        R_n_all = x.new_empty(T, B, H)
        h_prev_all = x.new_empty(T, B, H)
        y = x.new_empty(T, B, H)
        h = h0
        for t in time_steps(T, reverse):
            h_prev_all[t] = h
            R, Q_hat[t], Q_rstd[t] = layer_norm_forward((h if d is None else h * d) @ W_hh_t, gamma_hh, beta_hh)
            if b_hh is not None:
                R += b_hh
            a = gates[t]
            torch.sigmoid(A[t, :, :2 * H] + R[:, :2 * H], out=a[:, :2 * H])
            r, z, n = a.chunk(3, dim=1)
            R_n_all[t] = R[:, 2 * H:]
            torch.tanh(torch.addcmul(A[t, :, 2 * H:], r, R[:, 2 * H:]), out=n)
            h_new = torch.lerp(n, h, z)
            h = advance(h, h_new, u, t)
            write_output(y, t, h, mask)
        ctx.save_for_backward(x, W_ih, W_hh, gamma_ih, gamma_hh, gates, P_hat, P_rstd, Q_hat, Q_rstd,
                              R_n_all, h_prev_all, mask, d, u)
        ctx.reverse = reverse
        ctx.record = open_record(mask, reverse)           # None unless dh_t is being recorded
        ctx.has_bias = b_ih is not None
        return y, h

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        (x, W_ih, W_hh, gamma_ih, gamma_hh, gates, P_hat, P_rstd, Q_hat, Q_rstd,
         R_n_all, h_prev_all, mask, d, u) = ctx.saved_tensors
        T, B, _ = x.shape
        H = W_hh.shape[1]
        dA = x.new_empty(T, B, 3 * H)
        dR = x.new_empty(T, B, 3 * H)
        dQ = x.new_empty(T, B, 3 * H)
        seen = record_buffer(ctx.record, dh_n, T)                  # (T, B, H) or None: dh_t, see _record
        dh = dh_n
        for t in time_steps(T, not ctx.reverse):
            r, z, n = gates[t].chunk(3, dim=1)
            dh_t = output_gradient(dh, dy, t, mask)
            if seen is not None:
                seen[t] = dh_t
            dh_cell, dh_carry = split_update(dh_t, None if u is None else u[t])
            gru_gate_gradients(dA[t], dR[t], dh_cell, r, z, n, h_prev_all[t], R_n_all[t])
            dQ[t] = layer_norm_backward(dR[t], Q_hat[t], Q_rstd[t], gamma_hh)
            dh = recurrent_gradient(dQ[t], W_hh, d, dh_carry)
            dh += dh_cell * z
        need = ctx.needs_input_grad
        dP = layer_norm_backward(dA, P_hat, P_rstd, gamma_ih)
        dx, dW_ih, dW_hh = projection_gradients(dP, dQ, x, W_ih, h_prev_all, d, (need[0], need[2], need[3]))
        dA_sum, dR_sum = dA.sum(dim=(0, 1)), dR.sum(dim=(0, 1))
        return (dx, dh, dW_ih, dW_hh,
                dA_sum.clone() if ctx.has_bias else None, dR_sum.clone() if ctx.has_bias else None,
                (dA * P_hat).sum(dim=(0, 1)), dA_sum, (dR * Q_hat).sum(dim=(0, 1)), dR_sum,
                None, None, None, None)


def layer_norm_gru_sequence(
    x: Tensor, h0: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
    gamma_ih: Tensor, beta_ih: Tensor, gamma_hh: Tensor, beta_hh: Tensor,
    mask: Tensor | None = None, reverse: bool = False, *, recurrent_mask: Tensor | None = None,
    zoneout_h: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Run a layer-normalised GRU over ``x`` (T, B, I); returns ``(y, h_n)``."""
    return LayerNormGRUSequence.apply(x, h0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh,
                                      mask, reverse, recurrent_mask, zoneout_h)
