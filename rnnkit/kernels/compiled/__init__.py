"""Compiled (C++) step loops for the LSTM, GRU, Elman and layer-normalised LSTM/GRU sequence kernels.

Drop-in replacements for ``rnnkit.kernels.lstm_sequence``, ``gru_sequence``, ``elman_sequence``,
``layer_norm_lstm_sequence`` and ``layer_norm_gru_sequence`` (zoneout in the last two runs the Python kernel):
same arguments, same outputs, same gradients (the math and the gradient formulas are the ones documented in
those modules; only the loop over time runs in C++, see ``rnn_kernels.cpp``). The input projection is one
GEMM (in C++), the weight gradients the same single matrix products as in the Python kernels. Large outputs
and saved tensors come from a buffer pool that keeps freed blocks for the next call (``pool.h``: it spares
the page faults of fresh memory; ``empty_cache()`` frees what it holds, ``$RNNKIT_POOL_MB`` caps it).

The C++ is built on first use into a user cache directory (see ``_loader``). Where it cannot be built
(no compiler, no ninja, ...), each function silently runs the pure-PyTorch kernel instead, after one
logged note. ``is_available()`` says which one you get.

Shapes: x (T, B, I), h0/c0 (B, H), W_ih (G, I), W_hh (G, H), b_ih/b_hh (G,) or None, mask (T, B) or None,
recurrent_mask (B, H) or None, zoneout_h/zoneout_c (T, B, H) keep probabilities or None.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels import elman as _py_elman
from rnnkit.kernels import gru as _py_gru
from rnnkit.kernels import lstm as _py_lstm
from rnnkit.kernels._sequence import projection_gradients
from rnnkit.kernels.compiled._common import as_mask, full_update, needs_graph
from rnnkit.kernels.compiled._loader import build_error, is_available, load, module, ops
from rnnkit.kernels.compiled.layer_norm import (
    layer_norm_gru_sequence,
    layer_norm_lstm_sequence,
)

__all__ = ["lstm_sequence", "gru_sequence", "elman_sequence", "layer_norm_lstm_sequence", "layer_norm_gru_sequence",
           "is_available", "build_error", "load", "empty_cache", "pool_stats"]


# ---------------------------------------------------------------------------------------------------
# LSTM


def _lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask, reverse, d, u_h, u_c):
    Gx = ops().project(x, W_ih, b_ih, b_hh)                      # (T, B, 4H), becomes i, f, g, o
    y, h_n, c_n, tanh_c, h_prev_all, c_prev_all = ops().lstm_forward(
        Gx, h0.contiguous(), c0.contiguous(), W_hh.contiguous(), mask, d, u_h, u_c, bool(reverse))
    return y, h_n, c_n, (Gx, tanh_c, h_prev_all, c_prev_all)


class LSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask, reverse, recurrent_mask, zoneout_h, zoneout_c):
        H = h0.shape[1]
        mask = as_mask(mask, x)
        d = None if recurrent_mask is None else recurrent_mask.contiguous()
        u_h, u_c = full_update(mask, zoneout_h, x, H), full_update(mask, zoneout_c, x, H)
        y, h_n, c_n, (gates, tanh_c, h_prev_all, c_prev_all) = _lstm_forward(
            x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask, reverse, d, u_h, u_c)
        ctx.save_for_backward(x, W_ih, W_hh, gates, tanh_c, h_prev_all, c_prev_all, mask, d, u_h, u_c)
        ctx.reverse = bool(reverse)
        ctx.has_bias = b_ih is not None
        return y, h_n, c_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n):
        x, W_ih, W_hh, gates, tanh_c, h_prev_all, c_prev_all, mask, d, u_h, u_c = ctx.saved_tensors
        dG, dh0, dc0 = ops().lstm_backward(dy, dh_n, dc_n, gates, tanh_c, c_prev_all, W_hh.contiguous(),
                                           mask, d, u_h, u_c, ctx.reverse)
        need = ctx.needs_input_grad
        dx, dW_ih, dW_hh = projection_gradients(dG, dG, x, W_ih, h_prev_all, d, (need[0], need[3], need[4]))
        db = dG.sum(dim=(0, 1)) if ctx.has_bias else None
        return (dx, dh0, dc0, dW_ih, dW_hh, db, None if db is None else db.clone(),
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
    """``rnnkit.kernels.lstm_sequence`` with the loop over time compiled; returns ``(y, h_n, c_n)``."""
    if not load() or x.device.type != "cpu":
        return _py_lstm.lstm_sequence(x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask, reverse, recurrent_mask=recurrent_mask,
                                      zoneout_h=zoneout_h, zoneout_c=zoneout_c)
    if not needs_graph(x, h0, c0, W_ih, W_hh, b_ih, b_hh, recurrent_mask):
        # inference: no autograd node, nothing kept for backward
        if recurrent_mask is None and zoneout_h is None and zoneout_c is None:   # one C++ call (streaming)
            y, h_n, c_n = ops().lstm_infer(x, h0, c0, W_ih, W_hh, b_ih, b_hh, as_mask(mask, x), bool(reverse))
            return y, h_n, c_n
        H = h0.shape[1]
        m = as_mask(mask, x)
        d = None if recurrent_mask is None else recurrent_mask.contiguous()
        y, h_n, c_n, _ = _lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, m, reverse, d,
                                       full_update(m, zoneout_h, x, H), full_update(m, zoneout_c, x, H))
        return y, h_n, c_n
    return LSTMSequence.apply(x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask, reverse, recurrent_mask, zoneout_h, zoneout_c)


# ---------------------------------------------------------------------------------------------------
# GRU


def _gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, d, u_h):
    A = ops().project(x, W_ih, b_ih, None)                       # (T, B, 3H), becomes r, z, n
    y, h_n, R_n, h_prev_all = ops().gru_forward(A, h0.contiguous(), W_hh.contiguous(), b_hh, mask, d, u_h,
                                                bool(reverse))
    return y, h_n, (A, R_n, h_prev_all)


class GRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, recurrent_mask, zoneout_h):
        mask = as_mask(mask, x)
        d = None if recurrent_mask is None else recurrent_mask.contiguous()
        u_h = full_update(mask, zoneout_h, x, h0.shape[1])
        y, h_n, (gates, R_n, h_prev_all) = _gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, d, u_h)
        ctx.save_for_backward(x, W_ih, W_hh, gates, R_n, h_prev_all, mask, d, u_h)
        ctx.reverse = bool(reverse)
        ctx.has_bias = b_ih is not None
        return y, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        x, W_ih, W_hh, gates, R_n, h_prev_all, mask, d, u_h = ctx.saved_tensors
        dA, dR, dh0 = ops().gru_backward(dy, dh_n, gates, R_n, h_prev_all, W_hh.contiguous(), mask, d, u_h,
                                         ctx.reverse)
        need = ctx.needs_input_grad
        dx, dW_ih, dW_hh = projection_gradients(dA, dR, x, W_ih, h_prev_all, d, (need[0], need[2], need[3]))
        db_ih = dA.sum(dim=(0, 1)) if ctx.has_bias else None
        db_hh = dR.sum(dim=(0, 1)) if ctx.has_bias else None
        return dx, dh0, dW_ih, dW_hh, db_ih, db_hh, None, None, None, None


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
    """``rnnkit.kernels.gru_sequence`` with the loop over time compiled; returns ``(y, h_n)``."""
    if not load() or x.device.type != "cpu":
        return _py_gru.gru_sequence(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, recurrent_mask=recurrent_mask,
                                    zoneout_h=zoneout_h)
    if not needs_graph(x, h0, W_ih, W_hh, b_ih, b_hh, recurrent_mask):
        if recurrent_mask is None and zoneout_h is None:
            y, h_n = ops().gru_infer(x, h0, W_ih, W_hh, b_ih, b_hh, as_mask(mask, x), bool(reverse))
            return y, h_n
        m = as_mask(mask, x)
        d = None if recurrent_mask is None else recurrent_mask.contiguous()
        y, h_n, _ = _gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, m, reverse, d,
                                 full_update(m, zoneout_h, x, h0.shape[1]))
        return y, h_n
    return GRUSequence.apply(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, recurrent_mask, zoneout_h)


# ---------------------------------------------------------------------------------------------------
# Elman


def _elman_forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, nonlinearity, d, u_h):
    Ax = ops().project(x, W_ih, b_ih, b_hh)                      # (T, B, H), becomes act(a_t)
    y, h_n, h_prev_all = ops().elman_forward(Ax, h0.contiguous(), W_hh.contiguous(), mask, d, u_h, bool(reverse),
                                             nonlinearity == "relu")
    return y, h_n, (Ax, h_prev_all)


class ElmanSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, nonlinearity, recurrent_mask, zoneout_h):
        mask = as_mask(mask, x)
        d = None if recurrent_mask is None else recurrent_mask.contiguous()
        u_h = full_update(mask, zoneout_h, x, h0.shape[1])
        y, h_n, (hs, h_prev_all) = _elman_forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, nonlinearity, d, u_h)
        ctx.save_for_backward(x, W_ih, W_hh, hs, h_prev_all, mask, d, u_h)
        ctx.reverse = bool(reverse)
        ctx.relu = nonlinearity == "relu"
        ctx.has_bias = b_ih is not None
        return y, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n):
        x, W_ih, W_hh, hs, h_prev_all, mask, d, u_h = ctx.saved_tensors
        da, dh0 = ops().elman_backward(dy, dh_n, hs, W_hh.contiguous(), mask, d, u_h, ctx.reverse, ctx.relu)
        need = ctx.needs_input_grad
        dx, dW_ih, dW_hh = projection_gradients(da, da, x, W_ih, h_prev_all, d, (need[0], need[2], need[3]))
        db = da.sum(dim=(0, 1)) if ctx.has_bias else None
        return dx, dh0, dW_ih, dW_hh, db, None if db is None else db.clone(), None, None, None, None, None


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
    """``rnnkit.kernels.elman_sequence`` with the loop over time compiled; returns ``(y, h_n)``."""
    if nonlinearity not in ("tanh", "relu") or not load() or x.device.type != "cpu":
        return _py_elman.elman_sequence(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, nonlinearity,
                                        recurrent_mask=recurrent_mask, zoneout_h=zoneout_h)
    if not needs_graph(x, h0, W_ih, W_hh, b_ih, b_hh, recurrent_mask):
        if recurrent_mask is None and zoneout_h is None:
            y, h_n = ops().elman_infer(x, h0, W_ih, W_hh, b_ih, b_hh, as_mask(mask, x), bool(reverse),
                                       nonlinearity == "relu")
            return y, h_n
        m = as_mask(mask, x)
        d = None if recurrent_mask is None else recurrent_mask.contiguous()
        y, h_n, _ = _elman_forward(x, h0, W_ih, W_hh, b_ih, b_hh, m, reverse, nonlinearity, d,
                                   full_update(m, zoneout_h, x, h0.shape[1]))
        return y, h_n
    return ElmanSequence.apply(x, h0, W_ih, W_hh, b_ih, b_hh, mask, reverse, nonlinearity, recurrent_mask, zoneout_h)


# ---------------------------------------------------------------------------------------------------
# The buffer pool


def empty_cache() -> int:
    """Free the large buffers the compiled kernels keep for reuse; returns the bytes freed (0 without them)."""
    return module().pool_release() if load() else 0


def pool_stats() -> dict[str, int]:
    """``{"cached_bytes", "reused", "allocated"}``: what the buffer pool holds now, and how many buffers it
    has handed out again and allocated fresh since the process started (zeros without compiled kernels)."""
    cached, reused, allocated = module().pool_stats() if load() else (0, 0, 0)
    return {"cached_bytes": cached, "reused": reused, "allocated": allocated}
