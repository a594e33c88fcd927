r"""LSTM over a whole sequence (one layer, one direction) with a hand-derived backward pass.

Forward, one step (PyTorch's gate order i, f, g, o; d the recurrent dropout mask, Gal & Ghahramani 2016,
one draw per sequence, 1 when off):

    G_t = W_ih x_t + b_ih + W_hh (d ⊙ h_{t-1}) + b_hh         # (B, 4H)
    i = σ(G_i)   f = σ(G_f)   g = tanh(G_g)   o = σ(G_o)
    c̃_t = f ⊙ c_{t-1} + i ⊙ g
    h̃_t = o ⊙ tanh(c̃_t)
    c_t = lerp(c_{t-1}, c̃_t, u^c_t)    h_t = lerp(h_{t-1}, h̃_t, u^h_t)    y_t = m_t h_t

where u_t = m_t (1 - k_t) combines the length mask and zoneout (see ``_sequence``); without either,
c_t = c̃_t and h_t = h̃_t.

Backward through time (``dh``, ``dc`` arrive from step t+1; ``dy_t`` from the output):

    dh_t = dh + m_t dy_t;     dh̃ = u^h_t dh_t;     dc̃ = u^c_t dc
    (dh_t is the total ∂L/∂h_t; while a recorder is active, ``_record`` keeps it)
    do   = dh̃ ⊙ tanh(c̃_t)
    dc̃  += dh̃ ⊙ o ⊙ (1 - tanh²(c̃_t))
    di = dc̃ ⊙ g    df = dc̃ ⊙ c_{t-1}    dg = dc̃ ⊙ i
    dG_t = [di ⊙ i(1-i), df ⊙ f(1-f), dg ⊙ (1-g²), do ⊙ o(1-o)]
    dc   ← dc̃ ⊙ f + (1 - u^c_t) dc
    dh   ← d ⊙ (dG_t W_hh) + (1 - u^h_t) dh_t

and, after the loop, as single matrix products over all steps:

    dW_ih = Σ_t dG_tᵀ x_t    dW_hh = Σ_t dG_tᵀ (d ⊙ h_{t-1})    db_ih = db_hh = Σ_t dG_t    dx_t = dG_t W_ih

Shapes: x (T, B, I), h0/c0 (B, H), W_ih (4H, I), W_hh (4H, H), b_ih/b_hh (4H,) or None,
mask (T, B) or None, recurrent_mask (B, H) or None, zoneout_h/zoneout_c (T, B, H) keep
probabilities or None. Returns y (T, B, H), h_n (B, H), c_n (B, H).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels._gates import lstm_gate_gradients
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

__all__ = ["LSTMSequence", "lstm_sequence"]


class LSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask, reverse, recurrent_mask, zoneout_h, zoneout_c):
        T, B, _ = x.shape
        H = h0.shape[1]
        d = recurrent_mask
        u_h, u_c = update_weights(mask, zoneout_h), update_weights(mask, zoneout_c)
        bias = None if b_ih is None else b_ih + b_hh
        Gx = input_projection(x, W_ih, bias)                      # (T, B, 4H)
        W_hh_t = W_hh.t()
        gates = x.new_empty(T, B, 4 * H)                           # i, f, g, o after activation
        tanh_c = x.new_empty(T, B, H)                              # tanh(c̃_t)
        h_prev_all = x.new_empty(T, B, H)                          # h_{t-1} as seen by step t
        c_prev_all = x.new_empty(T, B, H)
        y = x.new_empty(T, B, H)
        h, c = h0, c0
        for t in time_steps(T, reverse):
            h_prev_all[t] = h
            c_prev_all[t] = c
            G = torch.addmm(Gx[t], h if d is None else h * d, W_hh_t)   # (B, 4H)
            a = gates[t]
            torch.sigmoid(G, out=a)
            torch.tanh(G[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
            i, f, g, o = a.chunk(4, dim=1)
            c_new = f * c + i * g
            torch.tanh(c_new, out=tanh_c[t])
            h_new = o * tanh_c[t]
            h, c = advance(h, h_new, u_h, t), advance(c, c_new, u_c, t)
            write_output(y, t, h, mask)
        ctx.save_for_backward(x, W_ih, W_hh, gates, tanh_c, h_prev_all, c_prev_all, mask, d, u_h, u_c)
        ctx.reverse = reverse
        ctx.record = open_record(mask, reverse)           # None unless dh_t is being recorded
        ctx.has_bias = b_ih is not None
        return y, h, c

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n):
        x, W_ih, W_hh, gates, tanh_c, h_prev_all, c_prev_all, mask, d, u_h, u_c = ctx.saved_tensors
        T, B, _ = x.shape
        H = W_hh.shape[1]
        dG = x.new_empty(T, B, 4 * H)
        seen = record_buffer(ctx.record, dh_n, T)                  # (T, B, H) or None: dh_t, see _record
        dh, dc = dh_n, dc_n
        for t in time_steps(T, not ctx.reverse):
            i, f, g, o = gates[t].chunk(4, dim=1)
            tc = tanh_c[t]
            dh_t = output_gradient(dh, dy, t, mask)
            if seen is not None:
                seen[t] = dh_t
            dh_cell, dh_carry = split_update(dh_t, None if u_h is None else u_h[t])
            dc_cell, dc_carry = split_update(dc, None if u_c is None else u_c[t])
            do = dh_cell * tc
            dc_tilde = dc_cell + dh_cell * o * (1 - tc * tc)
            lstm_gate_gradients(dG[t], dc_tilde, do, i, f, g, o, c_prev_all[t])
            dc = dc_tilde * f if dc_carry is None else dc_tilde * f + dc_carry
            dh = recurrent_gradient(dG[t], W_hh, d, dh_carry)
        need = ctx.needs_input_grad
        dx, dW_ih, dW_hh = projection_gradients(dG, dG, x, W_ih, h_prev_all, d, (need[0], need[3], need[4]))
        db = dG.sum(dim=(0, 1)) if ctx.has_bias else None
        return (dx, dh, dc, dW_ih, dW_hh, db, None if db is None else db.clone(),
                None, None, None, None, None)


def lstm_sequence(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    W_ih: Tensor,
    W_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    mask: Tensor | None = None,
    reverse: bool = False,
    *,
    recurrent_mask: Tensor | None = None,
    zoneout_h: Tensor | None = None,
    zoneout_c: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run an LSTM over ``x`` (T, B, I); returns ``(y, h_n, c_n)``. See the module docstring."""
    return LSTMSequence.apply(x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask, reverse, recurrent_mask, zoneout_h, zoneout_c)
