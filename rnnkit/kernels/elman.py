r"""Elman RNN over a whole sequence (one layer, one direction) with a hand-derived backward pass.

Forward, one step (act = tanh or relu):

    a_t = W_ih x_t + b_ih + W_hh (d ⊙ h_{t-1}) + b_hh        # (B, H); d: recurrent dropout mask
    h̃_t = act(a_t)
    h_t = lerp(h_{t-1}, h̃_t, u_t)    y_t = m_t h_t            (u_t: lengths and zoneout, see ``_sequence``)

Backward through time (``dh`` arrives from step t+1):

    dh_t = dh + m_t dy_t
    (dh_t is the total ∂L/∂h_t; while a recorder is active, ``_record`` keeps it)
    da_t = u_t dh_t ⊙ act'(a_t)          tanh' = 1 - h̃_t²,  relu' = [h̃_t > 0]
    dh   ← d ⊙ (da_t W_hh) + (1 - u_t) dh_t

    dW_ih = Σ_t da_tᵀ x_t    dW_hh = Σ_t da_tᵀ (d ⊙ h_{t-1})    db_ih = db_hh = Σ_t da_t    dx_t = da_t W_ih

Shapes: x (T, B, I), h0 (B, H), W_ih (H, I), W_hh (H, H), b_ih/b_hh (H,) or None, mask (T, B) or None,
recurrent_mask (B, H) or None, zoneout_h (T, B, H) or None. Returns y (T, B, H), h_n (B, H).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

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

__all__ = ["ElmanSequence", "elman_sequence", "NONLINEARITIES"]

NONLINEARITIES = ("tanh", "relu")


class ElmanSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, nonlinearity, recurrent_mask, zoneout_h):
        T, B, _ = x.shape
        H = h0.shape[1]
        bias = None if b_ih is None else b_ih + b_hh
        Ax = input_projection(x, W_ih, bias)                      # (T, B, H)
        W_hh_t = W_hh.t()
        h_new_all = x.new_empty(T, B, H)                           # act(a_t) before masking
        h_prev_all = x.new_empty(T, B, H)
        y = x.new_empty(T, B, H)
        d = recurrent_mask
        u = update_weights(mask, zoneout_h)
        h = h0
        for t in time_steps(T, reverse):
            h_prev_all[t] = h
            h_new = h_new_all[t]
            torch.addmm(Ax[t], h if d is None else h * d, W_hh_t, out=h_new)
            if nonlinearity == "tanh":
                torch.tanh(h_new, out=h_new)
            else:
                h_new.clamp_(min=0)
            h = advance(h, h_new, u, t)
            write_output(y, t, h, mask)
        ctx.save_for_backward(x, W_ih, W_hh, h_new_all, h_prev_all, mask, d, u)
        ctx.reverse = reverse
        ctx.record = open_record(mask, reverse)           # None unless dh_t is being recorded
        ctx.nonlinearity = nonlinearity
        ctx.has_bias = b_ih is not None
        return y, h

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        x, W_ih, W_hh, h_new_all, h_prev_all, mask, d, u = ctx.saved_tensors
        T, B, _ = x.shape
        H = W_hh.shape[1]
        if ctx.nonlinearity == "tanh":
            dact = 1 - h_new_all * h_new_all                       # (T, B, H)
        else:
            dact = (h_new_all > 0).to(x.dtype)
        da = x.new_empty(T, B, H)
        seen = record_buffer(ctx.record, dh_n, T)                  # (T, B, H) or None: dh_t, see _record
        dh = dh_n
        for t in time_steps(T, not ctx.reverse):
            dh_t = output_gradient(dh, dy, t, mask)
            if seen is not None:
                seen[t] = dh_t
            dh_cell, dh_carry = split_update(dh_t, None if u is None else u[t])
            torch.mul(dh_cell, dact[t], out=da[t])
            dh = recurrent_gradient(da[t], W_hh, d, dh_carry)
        need = ctx.needs_input_grad
        dx, dW_ih, dW_hh = projection_gradients(da, da, x, W_ih, h_prev_all, d, (need[0], need[2], need[3]))
        db = da.sum(dim=(0, 1)) if ctx.has_bias else None
        return dx, dh, dW_ih, dW_hh, db, None if db is None else db.clone(), None, None, None, None, None


def elman_sequence(
    x: Tensor,
    h0: Tensor,
    W_ih: Tensor,
    W_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    mask: Tensor | None = None,
    reverse: bool = False,
    nonlinearity: str = "tanh",
    *,
    recurrent_mask: Tensor | None = None,
    zoneout_h: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Run an Elman RNN over ``x`` (T, B, I); returns ``(y, h_n)``. See the module docstring."""
    return ElmanSequence.apply(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, nonlinearity, recurrent_mask, zoneout_h)
