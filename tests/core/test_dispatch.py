"""backend="auto" picks a correct path per call; every path gives the same numbers."""

from __future__ import annotations

import torch

import rnnkit.nn as rnn


def test_auto_path_choices():
    x = torch.randn(3, 2, 4)
    assert rnn.LSTM(4, 128).path_for(x) == "kernel"
    assert rnn.LSTM(4, 512).path_for(x) == "kernel"                      # measured faster than native too
    assert rnn.LSTM(4, 512, recurrent_dropout=0.1).path_for(x) == "kernel"  # torch.nn has no such option
    assert rnn.LSTM(4, 512, zoneout=0.1).path_for(x) == "kernel"
    assert rnn.GRU(4, 512).path_for(x) == "kernel"
    assert rnn.LayerNormLSTM(4, 512).path_for(x) == "kernel"
    assert rnn.LSTM(4, 512, backend="kernel").path_for(x) == "kernel"


def test_auto_wide_lstm_equals_our_kernel():
    auto = rnn.LSTM(3, 512, dtype=torch.float64)
    auto.native_from_hidden_size = 512          # the auto -> native hand-off, as a cell measured faster there sets it
    assert auto.path_for(torch.randn(1, 1, 3)) == "native"
    ours = rnn.LSTM(3, 512, backend="kernel", dtype=torch.float64)
    ours.load_state_dict(auto.state_dict())
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    (a, (ha, ca)), (b, (hb, cb)) = auto(x, lengths=[4, 2]), ours(x, lengths=[4, 2])
    assert torch.allclose(a, b, atol=1e-12) and torch.allclose(ha, hb, atol=1e-12) and torch.allclose(ca, cb, atol=1e-12)

