"""Golden values: the seed's §4.3 sizes (input [1, 2, 3], hidden 10, output 3) with fixed weights.

The input vector [1, 2, 3] is fed for T = 3 steps to a cell with hidden size 10, and a linear readout
maps h_T to 3 outputs. The numbers below come from a plain NumPy forward pass written independently
of rnnkit and torch (float64); the weights are closed-form so the test needs no data file.
"""

from __future__ import annotations

import pytest
import torch

import rnnkit.nn as rnn

I, H, O, T = 3, 10, 3, 3

GOLDEN = {
    # kind: (y = W_hy h_T + b_y, first three entries of h_T)
    "rnn": ([0.35807079975, 0.173583205533, -0.0219495950668], [0.689079591119, 0.713272515431, 0.692684947054]),
    "lstm": ([0.0660471473399, 0.109014023835, 0.171303589021], [0.146735826882, 0.0962003289023, -0.00960083244076]),
    "gru": ([0.11993261982, 0.183086715611, 0.230725955733], [0.339174850451, 0.183092428926, -0.00432300903757]),
}


def _closed_form(rows, cols, a, b):
    j = torch.arange(rows, dtype=torch.float64).unsqueeze(1)
    k = torch.arange(cols, dtype=torch.float64).unsqueeze(0)
    return 0.1 * torch.sin(a * j + b * k + 1.0)


@pytest.mark.parametrize("backend", ["kernel", "reference"])
@pytest.mark.parametrize("kind", list(GOLDEN))
def test_golden_values(kind, backend):
    cls, G = {"rnn": (rnn.RNN, 1), "lstm": (rnn.LSTM, 4), "gru": (rnn.GRU, 3)}[kind]
    layer = cls(I, H, backend=backend, dtype=torch.float64)
    g = torch.arange(G * H, dtype=torch.float64)
    layer.load_state_dict({
        "weight_ih_l0": _closed_form(G * H, I, 0.37, 0.11),
        "weight_hh_l0": _closed_form(G * H, H, 0.23, 0.19),
        "bias_ih_l0": 0.05 * torch.cos(g * 0.5),
        "bias_hh_l0": -0.03 * torch.sin(g * 0.9),
    })
    W_hy = 0.1 * torch.cos(torch.arange(O, dtype=torch.float64).unsqueeze(1) * 0.7
                           + torch.arange(H, dtype=torch.float64).unsqueeze(0) * 0.3)
    b_y = torch.tensor([0.01, -0.02, 0.03], dtype=torch.float64)
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64).expand(T, 1, I)     # (T, B=1, I)
    out, _ = layer(x)
    h_T = out[-1, 0]
    y = W_hy @ h_T + b_y
    expected_y, expected_h = GOLDEN[kind]
    assert torch.allclose(y, torch.tensor(expected_y, dtype=torch.float64), rtol=0, atol=1e-10)
    assert torch.allclose(h_T[:3], torch.tensor(expected_h, dtype=torch.float64), rtol=0, atol=1e-10)
