"""Keras / TensorFlow semantics written out in NumPy (Keras is not installed): the references that the
parity tests compare rnnkit's layers with. Each follows the Keras 3 source and TensorFlow's padding rule.

Shapes channels last: x (B, T, I). Keras kernels in Keras' layouts.
"""

from __future__ import annotations

import math

import numpy as np


def tf_same_padding(T: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "SAME": T' = ceil(T / S), total = max((T' - 1) S + W - T, 0), the extra step on the right."""
    out = math.ceil(T / stride)
    total = max((out - 1) * stride + window - T, 0)
    return total // 2, total - total // 2


def conv1d(x, kernel, bias, *, strides=1, padding="valid", dilation_rate=1):
    """keras.layers.Conv1D: kernel (k, I, O), bias (O,)."""
    k, I, O = kernel.shape
    W = dilation_rate * (k - 1) + 1
    left, right = {"valid": (0, 0), "causal": (W - 1, 0)}.get(padding) or tf_same_padding(x.shape[1], W, strides)
    x = np.pad(x, ((0, 0), (left, right), (0, 0)))
    steps = (x.shape[1] - W) // strides + 1
    y = np.zeros((x.shape[0], steps, O))
    for j in range(steps):
        for m in range(k):
            y[:, j] += x[:, j * strides + m * dilation_rate] @ kernel[m]
    return y + bias


def pool1d(x, pool_size, strides, padding, kind):
    """keras.layers.MaxPooling1D / AveragePooling1D ("same" padding never counts: TF semantics)."""
    left, right = (0, 0) if padding == "valid" else tf_same_padding(x.shape[1], pool_size, strides)
    fill = -np.inf if kind == "max" else np.nan
    x = np.pad(x, ((0, 0), (left, right), (0, 0)), constant_values=fill)
    steps = (x.shape[1] - pool_size) // strides + 1
    windows = np.stack([x[:, j * strides : j * strides + pool_size] for j in range(steps)], axis=1)
    return windows.max(axis=2) if kind == "max" else np.nanmean(windows, axis=2)


def softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def attention(q, v, k=None, *, scale=None, score_mode="dot", concat_score_weight=1.0, q_mask=None, v_mask=None,
              causal=False):
    """keras.layers.Attention (Keras 3 ``_calculate_scores`` / ``_apply_scores``)."""
    k = v if k is None else k
    if score_mode == "dot":
        scores = q @ k.transpose(0, 2, 1)
        if scale is not None:
            scores = scores * scale
    else:
        s = 1.0 if scale is None else scale
        scores = concat_score_weight * np.tanh(s * (q[:, :, None] + k[:, None])).sum(-1)
    return _apply(scores, v, q_mask, v_mask, causal)


def additive_attention(q, v, k=None, *, scale=None, q_mask=None, v_mask=None, causal=False):
    """keras.layers.AdditiveAttention: scores = sum(scale * tanh(q + k), -1), no projections."""
    k = v if k is None else k
    e = np.tanh(q[:, :, None] + k[:, None])
    scores = (e * (1.0 if scale is None else scale)).sum(-1)
    return _apply(scores, v, q_mask, v_mask, causal)


def _apply(scores, v, q_mask, v_mask, causal):
    mask = None
    if v_mask is not None:
        mask = v_mask[:, None, :]
    if causal:
        Tq, Tv = scores.shape[1:]
        tri = np.arange(Tq)[:, None] >= np.arange(Tv)[None, :]
        mask = tri[None] if mask is None else mask & tri[None]
    if mask is not None:
        scores = scores - 1e9 * (~mask)
    weights = softmax(scores)
    y = weights @ v
    if q_mask is not None:
        y = y * q_mask[..., None]
    return y, weights


def multi_head_attention(q, v, k, kernels, biases, *, mask=None):
    """keras.layers.MultiHeadAttention with EinsumDense kernels: query/key (D, N, K), value (D, N, V),
    output (N, V, Do); biases (N, K), (N, K), (N, V), (Do,)."""
    kq, kk, kv, ko = kernels
    bq, bk, bv, bo = biases
    Q = np.einsum("btd,dnk->btnk", q, kq) + bq
    K = np.einsum("bsd,dnk->bsnk", k, kk) + bk
    V = np.einsum("bsd,dnv->bsnv", v, kv) + bv
    Q = Q / math.sqrt(kq.shape[-1])
    scores = np.einsum("bsnk,btnk->bnts", K, Q)
    if mask is not None:
        scores = scores + (1.0 - mask[:, None].astype(float)) * -1e9
    weights = softmax(scores)
    heads = np.einsum("bnts,bsnv->btnv", weights, V)
    return np.einsum("btnv,nvo->bto", heads, ko) + bo, weights
