"""rnnkit.compress.quantize: int8 weights within half a step of the float ones, the int8 GEMM within its
activation-quantisation bound of the float32 reference, int8 recurrent layers equal to the float recurrence on the
dequantized weights, and whole models that predict like the original."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
import rnnkit.nn as rn
from rnnkit import layers as L
from rnnkit.compress.quantize import (Int8Linear, Int8Recurrent, _int8_gemm_available, quantize_dynamic,
                                      quantize_weight, weight_bytes)


def test_weights_are_within_half_a_step():
    w = torch.randn(37, 11)
    w[3] = 0.0                                                         # an all-zero row
    q, s = quantize_weight(w)
    assert q.dtype == torch.int8 and int(q.abs().max()) <= 127
    assert torch.all((q.float() * s[:, None] - w).abs() <= s[:, None] / 2 + 1e-7)
    assert torch.all(q[3] == 0) and s[3] == 1


@pytest.mark.skipif(not _int8_gemm_available(), reason="no x86 int8 GEMM engine in this torch build")
def test_int8_gemm_within_its_activation_quantisation_bound():
    torch.manual_seed(0)
    linear = torch.nn.Linear(128, 256)                                 # above INT8_FROM
    fast, reference = Int8Linear.from_linear(linear), Int8Linear.from_linear(linear, reference=True)
    assert not fast.reference
    for x in (torch.randn(5, 128), torch.randn(2, 7, 128) * 3, torch.rand(4, 128)):
        y, y_ref = fast(x), reference(x)
        rows = x.reshape(-1, 128)
        step = (rows.max().clamp(min=0) - rows.min().clamp(max=0)) / 127          # 7-bit (reduce_range)
        bound = step / 2 * fast.dequantized().abs().sum(dim=1) + 1e-5 * (1 + y_ref.abs())   # broadcast over rows
        assert y.shape == y_ref.shape
        assert torch.all((y - y_ref).abs() <= bound)
        assert not torch.equal(y, y_ref)                                  # the int8 product did run


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled-recurrence", "step-loop"])
@pytest.mark.parametrize("cls", [rn.RNN, rn.LSTM, rn.GRU])
def test_int8_recurrence_equals_the_float_layer_on_the_dequantized_weights(cls, compiled):
    torch.manual_seed(0)
    layer = cls(3, 8, num_layers=2, bidirectional=True, batch_first=True, zoneout=0.2).eval()
    int8 = Int8Recurrent(layer, reference=True)
    int8.compiled = compiled
    assert not int8.training
    dequantized = cls(3, 8, num_layers=2, bidirectional=True, batch_first=True, zoneout=0.2).eval()
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("weight"):
                q, s = quantize_weight(p)
                p = q.float() * s[:, None]
            dict(dequantized.named_parameters())[name].copy_(p)
    x = torch.randn(4, 9, 3)
    lengths = torch.tensor([9, 3, 6, 1])
    y, state = int8(x, lengths=lengths)
    with torch.no_grad():
        y_ref, state_ref = dequantized(x, lengths=lengths)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-5)
    for a, b in zip(state if isinstance(state, tuple) else (state,),
                    state_ref if isinstance(state_ref, tuple) else (state_ref,)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_quantized_model_predicts_like_the_original_and_is_smaller():
    rnnkit.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 12, 4)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    model = rnnkit.Sequential([L.LSTM(64), L.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=0)
    int8 = quantize_dynamic(model)
    assert type(model.layers[0].core) is rn.LSTM                       # the original is not modified
    p, p8 = model.predict(x), int8.predict(x)
    assert np.abs(p - p8).max() < 0.02                                 # probabilities: weights to 1/254 of their range
    assert (p.argmax(1) == p8.argmax(1)).mean() >= 0.95
    assert weight_bytes(model) >= 3 * weight_bytes(int8)


def test_what_is_not_covered_says_so():
    with pytest.raises(TypeError, match="LayerNormLSTM"):
        Int8Recurrent(rn.LayerNormLSTM(2, 3))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        quantize_dynamic("model")
    with pytest.raises(TypeError, match="float32"):
        Int8Linear(torch.randn(3, 2))(torch.randn(1, 2, dtype=torch.float64))


@pytest.mark.skipif(not _int8_gemm_available(), reason="no x86 int8 GEMM engine in this torch build")
def test_wide_layer_steps_through_the_int8_product():
    """From RECURRENT_INT8_FROM recurrent weights the recurrence runs the int8 GEMM per step: its result stays
    within a few activation-quantisation steps of the float layer (a contracting recurrence does not amplify them)."""
    torch.manual_seed(0)
    layer = rn.LSTM(16, 128, batch_first=True).eval()
    int8 = Int8Recurrent(layer)
    assert not int8.recurrent_products[0].reference and int8.recurrent_products[0].weight_q.numel() >= 65536
    x = torch.randn(8, 20, 16)
    y, (h, c) = int8(x)
    with torch.no_grad():
        y_ref, _ = layer(x)
    error = float((y - y_ref).abs().max())
    assert 0 < error < 0.05


def test_int8_embedding_rows_are_within_half_a_step():
    from rnnkit.compress import Int8Embedding

    torch.manual_seed(0)
    table = torch.nn.Embedding(30, 32)                                   # a scale per row: (32 + 4) bytes vs 128
    int8 = Int8Embedding(table)
    ids = torch.tensor([[0, 5, 29], [7, 7, 1]])
    scale = int8.scale[ids].unsqueeze(-1)
    with torch.no_grad():
        assert torch.all((int8(ids) - table(ids)).abs() <= scale / 2 + 1e-7)
    assert weight_bytes(table) > 3 * weight_bytes(int8)
