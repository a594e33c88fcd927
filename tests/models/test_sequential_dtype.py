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


def test_first_float_parameter_is_the_first_of_parameters_order():
    from rnnkit.layers import Bidirectional, Embedding
    from rnnkit.layers._base import first_float_parameter

    shared = torch.nn.Linear(3, 3)
    nested = torch.nn.Sequential(torch.nn.Sequential(shared, torch.nn.ReLU()), shared, torch.nn.Linear(3, 1))
    models = [
        nested,
        rnnkit.models.Sequential([LSTM(4, input_shape=(5, 2)), Dense(1)]).double(),
        rnnkit.models.Sequential([Embedding(10, 4, input_shape=(5,)), Bidirectional(LSTM(3)), Dense(2)]),
        torch.nn.ReLU(),
    ]
    models[2].build((5,))
    for module in models:
        expected = next((p for p in module.parameters() if p.is_floating_point()), None)
        assert first_float_parameter(module) is expected
