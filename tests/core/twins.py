"""Shared helpers for the core tests: build an rnnkit layer and its torch.nn twin with equal weights."""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit.nn as rnn

KINDS = {
    "rnn_tanh": (rnn.RNN, torch.nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (rnn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (rnn.LSTM, torch.nn.LSTM, {}),
    "gru": (rnn.GRU, torch.nn.GRU, {}),
}


def make_pair(kind, I, H, *, dtype, backend="kernel", **kwargs):
    ours_cls, torch_cls, extra = KINDS[kind]
    theirs = torch_cls(I, H, **extra, **kwargs).to(dtype)
    ours = ours_cls(I, H, **extra, **kwargs, backend=backend).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def initial_state(kind, L, B, H, dtype, generator):
    shape = (L, B, H)
    h0 = torch.randn(shape, dtype=dtype, generator=generator)
    if kind == "lstm":
        return (h0, torch.randn(shape, dtype=dtype, generator=generator))
    return h0


def state_tensors(state):
    return list(state) if isinstance(state, tuple) else [state]


def run_torch(layer, x, hx, lengths, batch_first):
    """torch.nn's answer for a padded batch with lengths: pack, run, unpack."""
    if lengths is None:
        return layer(x, hx)
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    out, h_n = layer(packed, hx)
    out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=x.shape[1 if batch_first else 0])
    return out, h_n
