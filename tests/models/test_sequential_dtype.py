"""Sequential casts float inputs to the dtype of its weights: float32, or float64 after .double()."""

from __future__ import annotations

import torch

import rnnkit
from rnnkit.layers import LSTM, Dense


def _model():
    torch.manual_seed(0)
    model = rnnkit.Sequential([LSTM(3), Dense(1)])
    model.build((5, 2))
    return model


def test_a_float64_model_runs_in_float64_and_a_float32_one_in_float32():
    x = torch.randn(4, 5, 2, dtype=torch.float64)
    single = _model()
    double = _model().double()
    assert single(x).dtype == torch.float32 and double(x).dtype == torch.float64
    assert double(x.float()).dtype == torch.float64
    torch.testing.assert_close(double(x).float(), single(x), rtol=1e-5, atol=1e-6)   # float32 rounding of ~50 ops
