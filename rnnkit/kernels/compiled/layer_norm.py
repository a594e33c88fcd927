"""Compiled layer-normalised LSTM and GRU kernels: drop-ins for ``rnnkit.kernels.layer_norm_lstm_sequence``
and ``layer_norm_gru_sequence`` (same arguments, outputs and gradients), with the loop over time in C++."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels import layer_norm_gru as _py_layer_norm_gru
from rnnkit.kernels import layer_norm_lstm as _py_layer_norm_lstm
from rnnkit.kernels._sequence import projection_gradients
from rnnkit.kernels.compiled._common import as_mask, needs_graph
from rnnkit.kernels.compiled._loader import load, ops

__all__ = ["layer_norm_lstm_sequence", "layer_norm_gru_sequence"]


# ---------------------------------------------------------------------------------------------------
# Layer-normalised LSTM (equations in rnnkit/kernels/layer_norm_lstm.py). The C++ step normalises P_t, Q_t
# and c̃_t row by row inside the loop; only the input projection and the weight gradients are GEMMs here.


def _ln_lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh, gamma_c, beta_c,
                     mask, reverse, d):
    shift = beta_ih + beta_hh if b_ih is None else beta_ih + beta_hh + (b_ih + b_hh)   # every constant of G_t
    P = ops().project(x, W_ih, None, None)                        # (T, B, 4H), becomes P̂ in place
    (y, h_n, c_n, gates, P_rstd, Q_hat, Q_rstd, n_hat, n_rstd, tanh_n, h_prev_all,
     c_prev_all) = ops().ln_lstm_forward(P, h0.contiguous(), c0.contiguous(), W_hh.contiguous(), shift, gamma_ih,
                                         gamma_hh, gamma_c, beta_c, mask, d, bool(reverse))
    return y, h_n, c_n, (gates, P, P_rstd, Q_hat, Q_rstd, n_hat, n_rstd, tanh_n, h_prev_all, c_prev_all)


class LayerNormLSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh, gamma_c, beta_c,
                mask, reverse, recurrent_mask):
        mask = as_mask(mask, x)
        d = None if recurrent_mask is None else recurrent_mask.contiguous()
        y, h_n, c_n, saved = _ln_lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh,
                                              beta_hh, gamma_c, beta_c, mask, reverse, d)
        ctx.save_for_backward(x, W_ih, W_hh, gamma_ih, gamma_hh, gamma_c, *saved, mask, d)
        ctx.reverse = bool(reverse)
        ctx.has_bias = b_ih is not None
        return y, h_n, c_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n):
        (x, W_ih, W_hh, gamma_ih, gamma_hh, gamma_c, gates, P_hat, P_rstd, Q_hat, Q_rstd, n_hat, n_rstd, tanh_n,
         h_prev_all, c_prev_all, mask, d) = ctx.saved_tensors
        dP, dQ, dh0, dc0, dgamma_ih, dgamma_hh, dG_sum, dgamma_c, dbeta_c = ops().ln_lstm_backward(
            dy, dh_n, dc_n, gates, P_hat, P_rstd, Q_hat, Q_rstd, n_hat, n_rstd, tanh_n, c_prev_all,
            W_hh.contiguous(), gamma_ih, gamma_hh, gamma_c, mask, d, ctx.reverse)
        need = ctx.needs_input_grad
        dx, dW_ih, dW_hh = projection_gradients(dP, dQ, x, W_ih, h_prev_all, d, (need[0], need[3], need[4]))
        db = dG_sum if ctx.has_bias else None
        return (dx, dh0, dc0, dW_ih, dW_hh, db, None if db is None else db.clone(),
                dgamma_ih, dG_sum.clone(), dgamma_hh, dG_sum.clone(), dgamma_c, dbeta_c, None, None, None)


def layer_norm_lstm_sequence(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    W_ih: Tensor,
    W_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    gamma_ih: Tensor,
    beta_ih: Tensor,
    gamma_hh: Tensor,
    beta_hh: Tensor,
    gamma_c: Tensor,
    beta_c: Tensor,
    mask: Tensor | None = None,
    reverse: bool = False,
    *,
    recurrent_mask: Tensor | None = None,
    zoneout_h: Tensor | None = None,
    zoneout_c: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """``rnnkit.kernels.layer_norm_lstm_sequence`` with the loop over time compiled; returns ``(y, h_n, c_n)``.

    Zoneout is not compiled: with ``zoneout_h`` or ``zoneout_c`` this runs the Python kernel.
    """
    args = (x, h0, c0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh, gamma_c, beta_c)
    if zoneout_h is not None or zoneout_c is not None or not load() or x.device.type != "cpu":
        return _py_layer_norm_lstm.layer_norm_lstm_sequence(*args, mask, reverse, recurrent_mask=recurrent_mask,
                                                            zoneout_h=zoneout_h, zoneout_c=zoneout_c)
    if not needs_graph(*args, recurrent_mask):   # inference: no autograd node, nothing kept for backward
        m = as_mask(mask, x)
        d = None if recurrent_mask is None else recurrent_mask.contiguous()
        y, h_n, c_n, _ = _ln_lstm_forward(*args, m, reverse, d)
        return y, h_n, c_n
    return LayerNormLSTMSequence.apply(*args, mask, reverse, recurrent_mask)


# ---------------------------------------------------------------------------------------------------
# Layer-normalised GRU (equations in rnnkit/kernels/layer_norm_gru.py), built like the LN-LSTM above.


def _ln_gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh, mask, reverse, d):
    shift_A = beta_ih if b_ih is None else beta_ih + b_ih       # A_t = γ_ih P̂_t + β_ih + b_ih
    shift_R = beta_hh if b_hh is None else beta_hh + b_hh       # R_t = γ_hh Q̂_t + β_hh + b_hh
    P = ops().project(x, W_ih, None, None)                        # (T, B, 3H), becomes P̂ in place
    y, h_n, gates, P_rstd, Q_hat, Q_rstd, R_n, h_prev_all = ops().ln_gru_forward(
        P, h0.contiguous(), W_hh.contiguous(), shift_A, shift_R, gamma_ih, gamma_hh, mask, d, bool(reverse))
    return y, h_n, (gates, P, P_rstd, Q_hat, Q_rstd, R_n, h_prev_all)


class LayerNormGRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh, mask, reverse,
                recurrent_mask):
        mask = as_mask(mask, x)
        d = None if recurrent_mask is None else recurrent_mask.contiguous()
        y, h_n, saved = _ln_gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh, mask,
                                        reverse, d)
        ctx.save_for_backward(x, W_ih, W_hh, gamma_ih, gamma_hh, *saved, mask, d)
        ctx.reverse = bool(reverse)
        ctx.has_bias = b_ih is not None
        return y, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        (x, W_ih, W_hh, gamma_ih, gamma_hh, gates, P_hat, P_rstd, Q_hat, Q_rstd, R_n, h_prev_all, mask,
         d) = ctx.saved_tensors
        dP, dQ, dh0, dgamma_ih, dA_sum, dgamma_hh, dR_sum = ops().ln_gru_backward(
            dy, dh_n, gates, P_hat, P_rstd, Q_hat, Q_rstd, R_n, h_prev_all, W_hh.contiguous(), gamma_ih, gamma_hh,
            mask, d, ctx.reverse)
        need = ctx.needs_input_grad
        dx, dW_ih, dW_hh = projection_gradients(dP, dQ, x, W_ih, h_prev_all, d, (need[0], need[2], need[3]))
        return (dx, dh0, dW_ih, dW_hh, dA_sum.clone() if ctx.has_bias else None,
                dR_sum.clone() if ctx.has_bias else None, dgamma_ih, dA_sum, dgamma_hh, dR_sum, None, None, None)


def layer_norm_gru_sequence(
    x: Tensor,
    h0: Tensor,
    W_ih: Tensor,
    W_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    gamma_ih: Tensor,
    beta_ih: Tensor,
    gamma_hh: Tensor,
    beta_hh: Tensor,
    mask: Tensor | None = None,
    reverse: bool = False,
    *,
    recurrent_mask: Tensor | None = None,
    zoneout_h: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """``rnnkit.kernels.layer_norm_gru_sequence`` with the loop over time compiled; returns ``(y, h_n)``.

    Zoneout is not compiled: with ``zoneout_h`` this runs the Python kernel.
    """
    args = (x, h0, W_ih, W_hh, b_ih, b_hh, gamma_ih, beta_ih, gamma_hh, beta_hh)
    if zoneout_h is not None or not load() or x.device.type != "cpu":
        return _py_layer_norm_gru.layer_norm_gru_sequence(*args, mask, reverse, recurrent_mask=recurrent_mask,
                                                          zoneout_h=zoneout_h)
    if not needs_graph(*args, recurrent_mask):   # inference: no autograd node, nothing kept for backward
        m = as_mask(mask, x)
        d = None if recurrent_mask is None else recurrent_mask.contiguous()
        y, h_n, _ = _ln_gru_forward(*args, m, reverse, d)
        return y, h_n
    return LayerNormGRUSequence.apply(*args, mask, reverse, recurrent_mask)
