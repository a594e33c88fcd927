r"""ConvLSTM over a whole sequence (one layer, one direction) with a hand-derived backward pass.

Shi et al. 2015, "Convolutional LSTM Network", eq. 3 (∗ convolution, "same" padding, ⊙ Hadamard product;
gate order i, f, g, o as in PyTorch's LSTM; the peepholes w_ci, w_cf, w_co are optional):

    G_t = W_ih ∗ x_t + b_ih + W_hh ∗ h_{t-1} + b_hh                       # (B, 4H, Y, X)
    i = σ(G_i + w_ci ⊙ c_{t-1})    f = σ(G_f + w_cf ⊙ c_{t-1})    g = tanh(G_g)
    c̃_t = f ⊙ c_{t-1} + i ⊙ g
    o = σ(G_o + w_co ⊙ c̃_t)
    h̃_t = o ⊙ tanh(c̃_t)
    c_t = lerp(c_{t-1}, c̃_t, m_t)    h_t = lerp(h_{t-1}, h̃_t, m_t)    y_t = m_t h_t

m_t (B,) is the length mask (see ``_sequence``): a finished sequence (or, in reverse, one not yet started)
keeps its state and outputs zero. The input convolution runs for all T·B frames at once, as one conv2d;
only W_hh ∗ h_{t-1} runs per step.

Backward through time (``dh``, ``dc`` arrive from step t+1, ``dy_t`` from the output; ⋆ is the adjoint of ∗,
a transposed convolution):

    dh_t = dh + m_t dy_t;     dh̃ = m_t dh_t;     dc̃ = m_t dc
    do   = dh̃ ⊙ tanh(c̃_t);   dG_o = do ⊙ o(1-o)
    dc̃  += dh̃ ⊙ o ⊙ (1 - tanh²(c̃_t)) + w_co ⊙ dG_o
    dG_i = dc̃ ⊙ g ⊙ i(1-i)    dG_f = dc̃ ⊙ c_{t-1} ⊙ f(1-f)    dG_g = dc̃ ⊙ i ⊙ (1-g²)
    dc   ← dc̃ ⊙ f + w_ci ⊙ dG_i + w_cf ⊙ dG_f + (1 - m_t) dc
    dh   ← W_hh ⋆ dG_t + (1 - m_t) dh_t

and, after the loop, each as one batched convolution over all T·B frames:

    dx_t = W_ih ⋆ dG_t    dW_ih = Σ_t dG_t ⋆ x_t    dW_hh = Σ_t dG_t ⋆ h_{t-1}    db_ih = db_hh = Σ_{t,y,x} dG_t
    dw_ci = Σ_t dG_i ⊙ c_{t-1}    dw_cf = Σ_t dG_f ⊙ c_{t-1}    dw_co = Σ_t dG_o ⊙ c̃_t   (summed to w's shape)

Shapes (Y, X the frame's height and width, k_y × k_x an odd kernel): x (T, B, C, Y, X), h0/c0 (B, H, Y, X),
W_ih (4H, C, k_y, k_x), W_hh (4H, H, k_y', k_x'), b_ih/b_hh (4H,) or None, peephole (3, H, Y, X) or any shape
broadcasting to it, such as (3, H, 1, 1) (one weight per channel), or None; mask (T, B) or None.
Returns y (T, B, H, Y, X), h_n (B, H, Y, X), c_n (B, H, Y, X).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels._gates import lstm_gate_gradients
from rnnkit.kernels._sequence import split_update, time_steps

__all__ = ["ConvLSTMSequence", "conv_lstm_sequence", "same_padding", "frame_mask",
           "conv_input_gradients"]


def same_padding(W: Tensor) -> tuple[int, int]:
    """The padding that keeps a frame's size for an odd kernel: (k_y // 2, k_x // 2)."""
    return W.shape[2] // 2, W.shape[3] // 2


def frame_mask(mask: Tensor | None) -> Tensor | None:
    """m (T, B) -> (T, B, 1, 1, 1), broadcasting over a step's (B, H, Y, X) state."""
    return None if mask is None else mask[:, :, None, None, None]


def conv_input_gradients(dA: Tensor, x: Tensor, W_ih: Tensor, h_prev_all: Tensor, dR: Tensor, W_hh: Tensor,
                         need: tuple[bool, bool, bool]) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
    """After the backward loop, over all T·B frames at once (each one batched convolution):

        dx_t = W_ih ⋆ dA_t      dW_ih = Σ_t dA_t ⋆ x_t      dW_hh = Σ_t dR_t ⋆ h_{t-1}

    dA: gradient of the input convolution (T, B, G, Y, X); dR: of the recurrent one (the same tensor for
    ConvLSTM); need: which of (dx, dW_ih, dW_hh) autograd asked for.
    """
    T, B = dA.shape[:2]
    dA2 = dA.reshape(T * B, *dA.shape[2:])                        # (T·B, G, Y, X)
    dx = dW_ih = dW_hh = None
    if need[0]:
        dx = F.conv_transpose2d(dA2, W_ih, padding=same_padding(W_ih)).view(x.shape)
    if need[1]:
        dW_ih = torch.nn.grad.conv2d_weight(x.reshape(T * B, *x.shape[2:]), W_ih.shape, dA2,
                                            padding=same_padding(W_ih))
    if need[2]:
        dW_hh = torch.nn.grad.conv2d_weight(h_prev_all.reshape(T * B, *h_prev_all.shape[2:]), W_hh.shape,
                                            dR.reshape(T * B, *dR.shape[2:]), padding=same_padding(W_hh))
    return dx, dW_ih, dW_hh


class ConvLSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, peephole, mask, reverse):
        T, B, C, Y, X = x.shape
        H = h0.shape[1]
        m = frame_mask(mask)                                       # (T, B, 1, 1, 1) or None
        bias = None if b_ih is None else b_ih + b_hh
        Gx = F.conv2d(x.reshape(T * B, C, Y, X), W_ih, bias, padding=same_padding(W_ih))
        Gx = Gx.view(T, B, 4 * H, Y, X)                            # W_ih ∗ x_t + b for every t at once
        pad_hh = same_padding(W_hh)
        gates = x.new_empty(T, B, 4 * H, Y, X)                     # i, f, g, o after activation
        tanh_c = x.new_empty(T, B, H, Y, X)                        # tanh(c̃_t)
        c_tilde_all = x.new_empty(T, B, H, Y, X) if peephole is not None else None   # c̃_t, for dw_co
        h_prev_all = x.new_empty(T, B, H, Y, X)                    # h_{t-1} as seen by step t
        c_prev_all = x.new_empty(T, B, H, Y, X)
        y = x.new_empty(T, B, H, Y, X)
        h, c = h0, c0
        for t in time_steps(T, reverse):
            h_prev_all[t] = h
            c_prev_all[t] = c
            G = Gx[t] + F.conv2d(h, W_hh, padding=pad_hh)         # (B, 4H, Y, X)
            a = gates[t]
            if peephole is None:
                torch.sigmoid(G, out=a)
            else:
                torch.sigmoid(G[:, :2 * H] + (peephole[:2] * c.unsqueeze(1)).flatten(1, 2), out=a[:, :2 * H])
            torch.tanh(G[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
            i, f, g, o = a.chunk(4, dim=1)
            c_new = f * c + i * g
            if peephole is not None:
                c_tilde_all[t] = c_new
                torch.sigmoid(G[:, 3 * H:] + peephole[2] * c_new, out=o)
            torch.tanh(c_new, out=tanh_c[t])
            h_new = o * tanh_c[t]
            if m is None:
                h, c = h_new, c_new
                y[t] = h
            else:
                h, c = torch.lerp(h, h_new, m[t]), torch.lerp(c, c_new, m[t])
                torch.mul(h, m[t], out=y[t])
        ctx.save_for_backward(x, W_ih, W_hh, peephole, gates, tanh_c, c_tilde_all, h_prev_all, c_prev_all, mask)
        ctx.reverse = reverse
        ctx.has_bias = b_ih is not None
        return y, h, c

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n):
        x, W_ih, W_hh, peephole, gates, tanh_c, c_tilde_all, h_prev_all, c_prev_all, mask = ctx.saved_tensors
        T, B, C, Y, X = x.shape
        H = W_hh.shape[1]
        m = frame_mask(mask)
        pad_hh = same_padding(W_hh)
        dG = x.new_empty(T, B, 4 * H, Y, X)
        dh, dc = dh_n, dc_n
        for t in time_steps(T, not ctx.reverse):
            i, f, g, o = gates[t].chunk(4, dim=1)
            tc = tanh_c[t]
            dh_t = dh + (dy[t] if m is None else m[t] * dy[t])
            dh_cell, dh_carry = split_update(dh_t, None if m is None else m[t])
            dc_cell, dc_carry = split_update(dc, None if m is None else m[t])
            do = dh_cell * tc
            dc_tilde = dc_cell + dh_cell * o * (1 - tc * tc)
            if peephole is not None:
                dG_o = do * o * (1 - o)
                dc_tilde = dc_tilde + peephole[2] * dG_o
            lstm_gate_gradients(dG[t], dc_tilde, do, i, f, g, o, c_prev_all[t])
            dc = dc_tilde * f
            if peephole is not None:
                dc = dc + peephole[0] * dG[t, :, :H] + peephole[1] * dG[t, :, H:2 * H]
            if dc_carry is not None:
                dc = dc + dc_carry
            dh = F.conv_transpose2d(dG[t], W_hh, padding=pad_hh)  # W_hh ⋆ dG_t
            if dh_carry is not None:
                dh = dh + dh_carry
        need = ctx.needs_input_grad
        dx, dW_ih, dW_hh = conv_input_gradients(dG, x, W_ih, h_prev_all, dG, W_hh, (need[0], need[3], need[4]))
        db = dG.sum(dim=(0, 1, 3, 4)) if ctx.has_bias else None
        dpeephole = None
        if peephole is not None and need[7]:
            dpeephole = torch.stack([
                (dG[:, :, :H] * c_prev_all).sum(dim=(0, 1)),       # dw_ci = Σ_t dG_i ⊙ c_{t-1}
                (dG[:, :, H:2 * H] * c_prev_all).sum(dim=(0, 1)),  # dw_cf = Σ_t dG_f ⊙ c_{t-1}
                (dG[:, :, 3 * H:] * c_tilde_all).sum(dim=(0, 1)),  # dw_co = Σ_t dG_o ⊙ c̃_t
            ]).sum_to_size(peephole.shape)
        return (dx, dh, dc, dW_ih, dW_hh, db, None if db is None else db.clone(), dpeephole, None, None)


def conv_lstm_sequence(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    W_ih: Tensor,
    W_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    peephole: Tensor | None = None,
    mask: Tensor | None = None,
    reverse: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run a ConvLSTM over ``x`` (T, B, C, Y, X); returns ``(y, h_n, c_n)``. See the module docstring."""
    return ConvLSTMSequence.apply(x, h0, c0, W_ih, W_hh, b_ih, b_hh, peephole, mask, reverse)

