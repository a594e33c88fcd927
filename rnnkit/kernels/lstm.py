r"""LSTM over a whole sequence (one layer, one direction) with a hand-derived backward pass.

Forward, one step (PyTorch's gate order i, f, g, o):

    G_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh              # (B, 4H)
    i = σ(G_i)   f = σ(G_f)   g = tanh(G_g)   o = σ(G_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)

With a length mask m_t ∈ {0, 1} (B,), a finished (or, in reverse, not yet started) sequence keeps its
state and outputs zero:

    h_t ← m_t h_t + (1 - m_t) h_{t-1}     c_t ← m_t c_t + (1 - m_t) c_{t-1}     y_t = m_t h_t

Backward through time (``dh``, ``dc`` arrive from step t+1; ``dy_t`` from the output):

    dh_t  = dh + m_t dy_t
    do    = m_t dh_t ⊙ tanh(c_t)
    dc_t  = m_t dc + m_t dh_t ⊙ o ⊙ (1 - tanh²(c_t))
    di = dc_t ⊙ g    df = dc_t ⊙ c_{t-1}    dg = dc_t ⊙ i
    dG_t  = [di ⊙ i(1-i), df ⊙ f(1-f), dg ⊙ (1-g²), do ⊙ o(1-o)]
    dc    ← dc_t ⊙ f + (1 - m_t) dc
    dh    ← dG_t W_hh + (1 - m_t) dh_t

and, after the loop, as single matrix products over all steps:

    dW_ih = Σ_t dG_tᵀ x_t    dW_hh = Σ_t dG_tᵀ h_{t-1}    db_ih = db_hh = Σ_t dG_t    dx_t = dG_t W_ih

Shapes: x (T, B, I), h0/c0 (B, H), W_ih (4H, I), W_hh (4H, H), b_ih/b_hh (4H,) or None,
mask (T, B) in x's dtype or None.  Returns y (T, B, H), h_n (B, H), c_n (B, H).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels._sequence import input_projection, time_steps, weight_gradients

__all__ = ["LSTMSequence", "lstm_sequence"]


class LSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask, reverse):
        T, B, _ = x.shape
        H = h0.shape[1]
        bias = None if b_ih is None else b_ih + b_hh
        Gx = input_projection(x, W_ih, bias)                      # (T, B, 4H)
        W_hh_t = W_hh.t()
        gates = x.new_empty(T, B, 4 * H)                           # i, f, g, o after activation
        tanh_c = x.new_empty(T, B, H)
        h_prev_all = x.new_empty(T, B, H)                          # h_{t-1} as seen by step t
        c_prev_all = x.new_empty(T, B, H)
        y = x.new_empty(T, B, H)
        active = None if mask is None else mask.unsqueeze(2) > 0     # (T, B, 1)
        h, c = h0, c0
        for t in time_steps(T, reverse):
            h_prev_all[t] = h
            c_prev_all[t] = c
            G = torch.addmm(Gx[t], h, W_hh_t)                      # (B, 4H)
            a = gates[t]
            torch.sigmoid(G, out=a)
            torch.tanh(G[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
            i, f, g, o = a.chunk(4, dim=1)
            c_new = f * c + i * g
            torch.tanh(c_new, out=tanh_c[t])
            h_new = o * tanh_c[t]
            if mask is None:
                h, c = h_new, c_new
                y[t] = h_new
            else:
                h = torch.where(active[t], h_new, h)
                c = torch.where(active[t], c_new, c)
                torch.mul(h_new, mask[t].unsqueeze(1), out=y[t])
        ctx.save_for_backward(x, W_ih, W_hh, gates, tanh_c, h_prev_all, c_prev_all, mask)
        ctx.reverse = reverse
        ctx.has_bias = b_ih is not None
        return y, h, c

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n):
        x, W_ih, W_hh, gates, tanh_c, h_prev_all, c_prev_all, mask = ctx.saved_tensors
        T, B, _ = x.shape
        H = W_hh.shape[1]
        dG = x.new_empty(T, B, 4 * H)
        dh, dc = dh_n, dc_n
        for t in time_steps(T, not ctx.reverse):
            i, f, g, o = gates[t].chunk(4, dim=1)
            tc = tanh_c[t]
            if mask is None:
                dh_t = dh + dy[t]
                dc_t = dc + dh_t * o * (1 - tc * tc)
                do = dh_t * tc
            else:
                m = mask[t].unsqueeze(1)
                dh_t = dh + m * dy[t]
                dh_cell = m * dh_t
                dc_t = m * dc + dh_cell * o * (1 - tc * tc)
                do = dh_cell * tc
            di = dc_t * g
            df = dc_t * c_prev_all[t]
            dg = dc_t * i
            dG_t = dG[t]
            torch.mul(di, i * (1 - i), out=dG_t[:, 0:H])
            torch.mul(df, f * (1 - f), out=dG_t[:, H:2 * H])
            torch.mul(dg, 1 - g * g, out=dG_t[:, 2 * H:3 * H])
            torch.mul(do, o * (1 - o), out=dG_t[:, 3 * H:4 * H])
            if mask is None:
                dc = dc_t * f
                dh = dG_t @ W_hh
            else:
                dc = dc_t * f + (1 - m) * dc
                dh = torch.addmm((1 - m) * dh_t, dG_t, W_hh)
        need = ctx.needs_input_grad
        dx = (dG.reshape(T * B, 4 * H) @ W_ih).view(T, B, -1) if need[0] else None
        dW_ih = weight_gradients(dG, x) if need[3] else None
        dW_hh = weight_gradients(dG, h_prev_all) if need[4] else None
        db = dG.sum(dim=(0, 1)) if ctx.has_bias else None
        return dx, dh, dc, dW_ih, dW_hh, db, None if db is None else db.clone(), None, None


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
) -> tuple[Tensor, Tensor, Tensor]:
    """Run an LSTM over ``x`` (T, B, I); returns ``(y, h_n, c_n)``. See the module docstring."""
    return LSTMSequence.apply(x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask, reverse)
