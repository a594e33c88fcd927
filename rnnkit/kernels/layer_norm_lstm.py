r"""Layer-normalised LSTM over a whole sequence with a hand-derived backward (Ba, Kiros & Hinton 2016).

Forward, one step (LN as in ``_layer_norm``; d the recurrent dropout mask, 1 when off):

    P_t = W_ih x_t                                   # (T, B, 4H), all steps at once
    Q_t = W_hh (d ⊙ h_{t-1})                         # (B, 4H)
    G_t = LN(P_t; γ_ih, β_ih) + LN(Q_t; γ_hh, β_hh) + b_ih + b_hh
    i = σ(G_i)   f = σ(G_f)   g = tanh(G_g)   o = σ(G_o)
    c̃_t = f ⊙ c_{t-1} + i ⊙ g
    h̃_t = o ⊙ tanh(LN(c̃_t; γ_c, β_c))
    c_t = lerp(c_{t-1}, c̃_t, u^c_t)    h_t = lerp(h_{t-1}, h̃_t, u^h_t)    y_t = m_t h_t

Backward through time: as the plain LSTM (``lstm.py``) with two more links per step,

    dn   = dh̃ ⊙ o ⊙ (1 - tanh²(n_t)),  n_t = LN(c̃_t)      do = dh̃ ⊙ tanh(n_t)
    dc̃  = u^c_t dc + LN_backward(dn)
    dQ_t = LN_backward(dG_t)                              dh ← d ⊙ (dQ_t W_hh) + (1 - u^h_t) dh_t

and after the loop, over all steps at once:

    dP = LN_backward(dG)   dx_t = dP_t W_ih   dW_ih = Σ dP_tᵀ x_t   dW_hh = Σ dQ_tᵀ (d ⊙ h_{t-1})
    dγ_ih = Σ dG ⊙ P̂   dβ_ih = db_ih = db_hh = dβ_hh = Σ dG   dγ_hh = Σ dG ⊙ Q̂   dγ_c = Σ dn ⊙ n̂   dβ_c = Σ dn

The input-side layer norm runs over (T·B, 4H) in one pass outside the loop, in forward and backward.
Shapes: x (T, B, I), h0/c0 (B, H), W_ih (4H, I), W_hh (4H, H), b_ih/b_hh (4H,) or None,
γ/β_ih and γ/β_hh (4H,), γ/β_c (H,). Returns y (T, B, H), h_n (B, H), c_n (B, H).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels._gates import lstm_gate_gradients
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

__all__ = ["LayerNormLSTMSequence", "layer_norm_lstm_sequence"]


class LayerNormLSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh, gamma_c, beta_c,
                mask, reverse, recurrent_mask, zoneout_h, zoneout_c):
        T, B, _ = x.shape
        H = h0.shape[1]
        d = recurrent_mask
        u_h, u_c = update_weights(mask, zoneout_h), update_weights(mask, zoneout_c)
        Gx, P_hat, P_rstd = layer_norm_forward(input_projection(x, W_ih, None), gamma_ih, beta_ih)   # (T, B, 4H)
        if b_ih is not None:
            Gx += b_ih + b_hh
        W_hh_t = W_hh.t()
        gates = x.new_empty(T, B, 4 * H)
        Q_hat = x.new_empty(T, B, 4 * H)
        Q_rstd = x.new_empty(T, B, 1)
        n_hat = x.new_empty(T, B, H)                               # normalised c̃_t before γ_c, β_c
        n_rstd = x.new_empty(T, B, 1)
        tanh_n = x.new_empty(T, B, H)
        h_prev_all = x.new_empty(T, B, H)
        c_prev_all = x.new_empty(T, B, H)
        y = x.new_empty(T, B, H)
        h, c = h0, c0
        for t in time_steps(T, reverse):
            h_prev_all[t] = h
            c_prev_all[t] = c
            Q_norm, Q_hat[t], Q_rstd[t] = layer_norm_forward((h if d is None else h * d) @ W_hh_t, gamma_hh, beta_hh)
            G = Gx[t] + Q_norm                                     # (B, 4H)
            a = gates[t]
            torch.sigmoid(G, out=a)
            torch.tanh(G[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
            i, f, g, o = a.chunk(4, dim=1)
            c_new = f * c + i * g
            n, n_hat[t], n_rstd[t] = layer_norm_forward(c_new, gamma_c, beta_c)
            torch.tanh(n, out=tanh_n[t])
            h_new = o * tanh_n[t]
            h, c = advance(h, h_new, u_h, t), advance(c, c_new, u_c, t)
            write_output(y, t, h, mask)
        ctx.save_for_backward(x, W_ih, W_hh, gamma_ih, gamma_hh, gamma_c, gates, P_hat, P_rstd, Q_hat, Q_rstd,
                              n_hat, n_rstd, tanh_n, h_prev_all, c_prev_all, mask, d, u_h, u_c)
        ctx.reverse = reverse
        ctx.record = open_record(mask, reverse)           # None unless dh_t is being recorded
        ctx.has_bias = b_ih is not None
        return y, h, c

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n):
        (x, W_ih, W_hh, gamma_ih, gamma_hh, gamma_c, gates, P_hat, P_rstd, Q_hat, Q_rstd,
         n_hat, n_rstd, tanh_n, h_prev_all, c_prev_all, mask, d, u_h, u_c) = ctx.saved_tensors
        T, B, _ = x.shape
        H = W_hh.shape[1]
        dG = x.new_empty(T, B, 4 * H)
        dQ = x.new_empty(T, B, 4 * H)
        dn_all = x.new_empty(T, B, H)
        dh, dc = dh_n, dc_n
        seen = record_buffer(ctx.record, dh_n, T)                  # (T, B, H) or None: dh_t, see _record
        for t in time_steps(T, not ctx.reverse):
            i, f, g, o = gates[t].chunk(4, dim=1)
            tn = tanh_n[t]
            dh_t = output_gradient(dh, dy, t, mask)
            if seen is not None:
                seen[t] = dh_t
            dh_cell, dh_carry = split_update(dh_t, None if u_h is None else u_h[t])
            dc_cell, dc_carry = split_update(dc, None if u_c is None else u_c[t])
            do = dh_cell * tn
            dn = dn_all[t]
            torch.mul(dh_cell * o, 1 - tn * tn, out=dn)
            dc_tilde = dc_cell + layer_norm_backward(dn, n_hat[t], n_rstd[t], gamma_c)
            lstm_gate_gradients(dG[t], dc_tilde, do, i, f, g, o, c_prev_all[t])
            dQ[t] = layer_norm_backward(dG[t], Q_hat[t], Q_rstd[t], gamma_hh)
            dc = dc_tilde * f if dc_carry is None else dc_tilde * f + dc_carry
            dh = recurrent_gradient(dQ[t], W_hh, d, dh_carry)
        need = ctx.needs_input_grad
        dP = layer_norm_backward(dG, P_hat, P_rstd, gamma_ih)     # (T, B, 4H), one pass
        dx, dW_ih, dW_hh = projection_gradients(dP, dQ, x, W_ih, h_prev_all, d, (need[0], need[3], need[4]))
        dG_sum = dG.sum(dim=(0, 1))
        db = dG_sum if ctx.has_bias else None
        return (dx, dh, dc, dW_ih, dW_hh, db, None if db is None else db.clone(),
                (dG * P_hat).sum(dim=(0, 1)), dG_sum.clone(),
                (dG * Q_hat).sum(dim=(0, 1)), dG_sum.clone(),
                (dn_all * n_hat).sum(dim=(0, 1)), dn_all.sum(dim=(0, 1)),
                None, None, None, None, None)


def layer_norm_lstm_sequence(
    x: Tensor, h0: Tensor, c0: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
    gamma_ih: Tensor, beta_ih: Tensor, gamma_hh: Tensor, beta_hh: Tensor, gamma_c: Tensor, beta_c: Tensor,
    mask: Tensor | None = None, reverse: bool = False, *, recurrent_mask: Tensor | None = None,
    zoneout_h: Tensor | None = None, zoneout_c: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run a layer-normalised LSTM over ``x`` (T, B, I); returns ``(y, h_n, c_n)``."""
    return LayerNormLSTMSequence.apply(x, h0, c0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh,
                                       gamma_c, beta_c, mask, reverse, recurrent_mask, zoneout_h, zoneout_c)
