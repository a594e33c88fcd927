r"""Elman RNN over a whole sequence (one layer, one direction) with a hand-derived backward pass.

Forward, one step (act = tanh or relu):

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        # (B, H)
    h_t = act(a_t)

With a length mask m_t: h_t ← m_t h_t + (1 - m_t) h_{t-1} and y_t = m_t h_t.

Backward through time (``dh`` arrives from step t+1):

    dh_t = dh + m_t dy_t
    da_t = m_t dh_t ⊙ act'(a_t)          tanh' = 1 - h_t²,  relu' = [h_t > 0]
    dh   ← da_t W_hh + (1 - m_t) dh_t

    dW_ih = Σ_t da_tᵀ x_t    dW_hh = Σ_t da_tᵀ h_{t-1}    db_ih = db_hh = Σ_t da_t    dx_t = da_t W_ih

Shapes: x (T, B, I), h0 (B, H), W_ih (H, I), W_hh (H, H), b_ih/b_hh (H,) or None, mask (T, B) or None.
Returns y (T, B, H), h_n (B, H).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels._sequence import input_projection, time_steps, weight_gradients

__all__ = ["ElmanSequence", "elman_sequence", "NONLINEARITIES"]

NONLINEARITIES = ("tanh", "relu")


class ElmanSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, nonlinearity):
        T, B, _ = x.shape
        H = h0.shape[1]
        bias = None if b_ih is None else b_ih + b_hh
        Ax = input_projection(x, W_ih, bias)                      # (T, B, H)
        W_hh_t = W_hh.t()
        h_new_all = x.new_empty(T, B, H)                           # act(a_t) before masking
        h_prev_all = x.new_empty(T, B, H)
        y = x.new_empty(T, B, H)
        active = None if mask is None else mask.unsqueeze(2) > 0
        h = h0
        for t in time_steps(T, reverse):
            h_prev_all[t] = h
            h_new = h_new_all[t]
            torch.addmm(Ax[t], h, W_hh_t, out=h_new)
            if nonlinearity == "tanh":
                torch.tanh(h_new, out=h_new)
            else:
                h_new.clamp_(min=0)
            if mask is None:
                h = h_new
                y[t] = h_new
            else:
                h = torch.where(active[t], h_new, h)
                torch.mul(h_new, mask[t].unsqueeze(1), out=y[t])
        ctx.save_for_backward(x, W_ih, W_hh, h_new_all, h_prev_all, mask)
        ctx.reverse = reverse
        ctx.nonlinearity = nonlinearity
        ctx.has_bias = b_ih is not None
        return y, h

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        x, W_ih, W_hh, h_new_all, h_prev_all, mask = ctx.saved_tensors
        T, B, _ = x.shape
        H = W_hh.shape[1]
        if ctx.nonlinearity == "tanh":
            dact = 1 - h_new_all * h_new_all                       # (T, B, H)
        else:
            dact = (h_new_all > 0).to(x.dtype)
        da = x.new_empty(T, B, H)
        dh = dh_n
        for t in time_steps(T, not ctx.reverse):
            if mask is None:
                torch.mul(dh + dy[t], dact[t], out=da[t])
                dh = da[t] @ W_hh
            else:
                m = mask[t].unsqueeze(1)
                dh_t = dh + m * dy[t]
                torch.mul(m * dh_t, dact[t], out=da[t])
                dh = torch.addmm((1 - m) * dh_t, da[t], W_hh)
        need = ctx.needs_input_grad
        dx = (da.reshape(T * B, H) @ W_ih).view(T, B, -1) if need[0] else None
        dW_ih = weight_gradients(da, x) if need[2] else None
        dW_hh = weight_gradients(da, h_prev_all) if need[3] else None
        db = da.sum(dim=(0, 1)) if ctx.has_bias else None
        return dx, dh, dW_ih, dW_hh, db, None if db is None else db.clone(), None, None, None


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
) -> tuple[Tensor, Tensor]:
    """Run an Elman RNN over ``x`` (T, B, I); returns ``(y, h_n)``. See the module docstring."""
    return ElmanSequence.apply(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, nonlinearity)
