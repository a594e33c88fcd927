"""rnnkit.nn.GRUResetBefore (Keras' GRU(reset_after=False)): the step against its equations written out, gradients
by gradcheck in float64, lengths and directions through the shared loop, and the Keras-style layer's save/load."""

from __future__ import annotations

import numpy as np
import torch

import rnnkit
import rnnkit.nn as rn
from rnnkit import layers as L


def test_step_follows_the_equations():
    torch.manual_seed(0)
    layer = rn.GRUResetBefore(3, 4, dtype=torch.float64)
    W_ih, W_hh, b_ih, b_hh = layer.layer_weights(0)
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    (W_ir, W_iz, W_in), (W_hr, W_hz, W_hn) = W_ih.chunk(3), W_hh.chunk(3)
    (b_ir, b_iz, b_in), (b_hr, b_hz, b_hn) = b_ih.chunk(3), b_hh.chunk(3)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    y, h_n = layer(x.unsqueeze(0), h.unsqueeze(0))
    torch.testing.assert_close(h_n[0], (1 - z) * n + z * h, rtol=0, atol=1e-12)
    torch.testing.assert_close(y[0], h_n[0], rtol=0, atol=0)


def test_gradcheck_with_lengths_and_both_directions():
    torch.manual_seed(0)
    layer = rn.GRUResetBefore(2, 3, num_layers=2, bidirectional=True, dtype=torch.float64)
    x = torch.randn(5, 3, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 3, 3, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 2, 4])
    assert torch.autograd.gradcheck(lambda x, h0: layer(x, h0, lengths=lengths)[0], (x, h0))
    y, _ = layer(x, h0, lengths=lengths)
    assert torch.all(y[2:, 1] == 0) and torch.all(y[4:, 2] == 0)        # zero past each length


def test_keras_layer_saves_and_loads(tmp_path):
    rnnkit.set_seed(0)
    model = rnnkit.Sequential([L.GRU(4, reset_after=False, input_shape=(6, 3)), L.Dense(1)])
    x = np.random.default_rng(0).normal(size=(5, 6, 3)).astype("float32")
    model.save(tmp_path / "m.rnnkit")
    loaded = rnnkit.load_model(tmp_path / "m.rnnkit")
    assert type(loaded.layers[0].core) is rn.GRUResetBefore
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
