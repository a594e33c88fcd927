"""Keras-style ConvLSTM2D / ConvGRU2D: channels-last math against a per-step loop, return_state and lengths,
go_backwards, initial_state, Bidirectional, dropout, Keras' initial weights, errors, and save → load."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.cells.conv_steps import conv_gru_step, conv_lstm_step
from rnnkit.layers import Bidirectional, ConvGRU2D, ConvLSTM2D, Dense, GlobalAveragePooling2D, TimeDistributed
from rnnkit.layers._recurrent_state import reverse_within_lengths
from rnnkit.models import Sequential

B, T, Y, X, C, F = 3, 5, 4, 6, 2, 3
LENGTHS = torch.tensor([5, 2, 4])


def _clip(seed=0, dtype=torch.float64):
    return torch.randn(B, T, Y, X, C, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _layer(cls, *, seed=0, **kwargs):
    torch.manual_seed(seed)
    layer = cls(F, (3, 5), **kwargs)
    layer.build_once((T, Y, X, C))
    layer.double()
    with torch.no_grad():                       # Keras starts biases / peepholes at 0 and 1: make them matter
        for name, p in layer.named_parameters():
            if "weight" not in name:
                p.uniform_(-0.5, 0.5)
    return layer


def _loop(layer, x, lengths=None, direction=0):
    """The layer's math written out: per frame, channels last → (C, Y, X), a conv step, back; the state held
    (and the output zero) past each clip's length. Returns outputs (B, T, Y, X, H) and the final h."""
    core = layer.core
    step = conv_lstm_step if core.state_count == 2 else conv_gru_step
    weights = core.layer_weights(0, direction)
    state = tuple(x.new_zeros(B, F, Y, X) for _ in range(core.state_count))
    ys = []
    for t in range(T):
        new = step(x[:, t].permute(0, 3, 1, 2), state, weights)
        keep = torch.ones(B, dtype=x.dtype) if lengths is None else (t < lengths).to(x.dtype)
        m = keep.view(B, 1, 1, 1)
        state = tuple(m * n + (1 - m) * s for n, s in zip(new, state))
        ys.append((m * state[0]).permute(0, 2, 3, 1))
    return torch.stack(ys, dim=1), state[0].permute(0, 2, 3, 1)


@pytest.mark.parametrize("cls,kwargs", [(ConvLSTM2D, {}), (ConvLSTM2D, {"peephole": True}), (ConvGRU2D, {})])
def test_sequences_and_final_state_equal_a_channels_last_loop_on_a_padded_batch(cls, kwargs):
    layer = _layer(cls, return_sequences=True, return_state=True, **kwargs)
    x = _clip()
    out = layer(x, lengths=LENGTHS)
    y, h = out[0], out[1]
    ys, h_ref = _loop(layer, x, LENGTHS)
    torch.testing.assert_close(y, ys, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(h, h_ref, rtol=1e-10, atol=1e-10)
    assert len(out) == (3 if cls is ConvLSTM2D else 2) and out[-1].shape == (B, Y, X, F)
    last = _layer(cls, **kwargs)(x, lengths=LENGTHS)                          # return_sequences=False: h
    torch.testing.assert_close(last, h_ref, rtol=1e-10, atol=1e-10)
    assert layer.compute_output_shape((T, Y, X, C)) == (T, Y, X, F)


def test_go_backwards_reads_each_clip_from_its_end():
    layer = _layer(ConvLSTM2D, return_sequences=True, go_backwards=True)
    x = _clip()
    ys, _ = _loop(layer, reverse_within_lengths(x, LENGTHS), LENGTHS)
    torch.testing.assert_close(layer(x, lengths=LENGTHS), ys, rtol=1e-10, atol=1e-10)


def test_initial_state_is_keras_list_channels_last():
    layer = _layer(ConvLSTM2D, return_state=True)
    x = _clip()
    g = torch.Generator().manual_seed(5)
    h0, c0 = (torch.randn(B, Y, X, F, generator=g, dtype=torch.float64) for _ in range(2))
    y, h, c = layer(x, initial_state=[h0, c0])
    _, (h_core, c_core) = layer.core(x.permute(0, 1, 4, 2, 3), (h0.permute(0, 3, 1, 2)[None], c0.permute(0, 3, 1, 2)[None]))
    torch.testing.assert_close(h, h_core[0].permute(0, 2, 3, 1), rtol=0, atol=0)
    torch.testing.assert_close(c, c_core[0].permute(0, 2, 3, 1), rtol=0, atol=0)
    assert not torch.allclose(y, layer(x)[0])
    with pytest.raises(ValueError, match=r"initial_state\[1\] \(c\) must have shape \(B, Y, X, filters\) = \(3, 4, 6, 3\)"):
        layer(x, initial_state=[h0, c0[..., :2]])
    with pytest.raises(ValueError, match=r"list of 2 tensors \['h', 'c'\]"):
        layer(x, initial_state=[h0])


@pytest.mark.parametrize("cls", [ConvLSTM2D, ConvGRU2D])
def test_bidirectional_concat_is_forward_then_backward_along_channels(cls):
    torch.manual_seed(0)
    wrapped = Bidirectional(cls(F, 3, return_sequences=True))
    x = _clip()
    wrapped.build_once((T, Y, X, C))
    wrapped.double()
    y = wrapped(x, lengths=LENGTHS)
    assert y.shape == (B, T, Y, X, 2 * F) and wrapped.compute_output_shape((T, Y, X, C)) == (T, Y, X, 2 * F)
    forward, _ = _loop(wrapped.layer, x, LENGTHS, direction=0)
    backward, _ = _loop(wrapped.layer, reverse_within_lengths(x, LENGTHS), LENGTHS, direction=1)
    torch.testing.assert_close(y[..., :F], forward, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(y[..., F:], reverse_within_lengths(backward, LENGTHS), rtol=1e-10, atol=1e-10)
    summed = Bidirectional(cls(F, 3), merge_mode="sum", input_shape=(T, Y, X, C))
    assert summed(x.float()).shape == (B, Y, X, F)


def test_dropout_is_one_mask_per_clip_in_training_only():
    layer = _layer(ConvLSTM2D, return_sequences=True, dropout=0.5)
    x = _clip()
    torch.testing.assert_close(layer(x, training=False), layer(x, training=False), rtol=0, atol=0)
    torch.manual_seed(1)
    noisy = layer(x, training=True)
    assert not torch.allclose(noisy, layer(x, training=False))
    torch.manual_seed(1)
    mask = x.new_empty(B, 1, Y, X, C).bernoulli_(0.5) / 0.5                  # what the layer drew
    torch.testing.assert_close(noisy, layer(x * mask, training=False), rtol=1e-12, atol=1e-12)


def test_keras_initial_weights():
    layer = ConvLSTM2D(4, 3, input_shape=(T, Y, X, 2), peephole=True)
    core = layer.core
    assert torch.equal(core.bias_ih_l0[4:8], torch.ones(4)) and torch.equal(core.bias_ih_l0[:4], torch.zeros(4))
    assert torch.equal(core.bias_hh_l0, torch.zeros(16)) and torch.equal(core.peephole_l0, torch.zeros(3, 4, 1, 1))
    limit = (6 / (9 * 2 + 9 * 16)) ** 0.5
    assert 0.8 * limit < core.weight_ih_l0.abs().max() <= limit
    W = core.weight_hh_l0.reshape(16, -1)                                     # (G, H k_y k_x) = (16, 36)
    torch.testing.assert_close(W @ W.T, torch.eye(16), atol=1e-5, rtol=0)


def test_in_a_sequential_trains_saves_and_loads_with_identical_predictions(tmp_path):
    rnnkit.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, T, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, size=6)
    model = Sequential([
        TimeDistributed(rnnkit.layers.Conv2D(3, 3, padding="same", activation="relu"), input_shape=(T, 8, 8, 1)),
        Bidirectional(ConvLSTM2D(4, 3, return_sequences=True, peephole=True)),
        ConvGRU2D(4, (3, 1), go_backwards=True),
        GlobalAveragePooling2D(),
        Dense(3),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    model.save(tmp_path / "clips.safetensors")
    loaded = rnnkit.load_model(tmp_path / "clips.safetensors")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_config() == model.get_config()
    assert model.predict(x).shape == (6, 3)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="padding must be 'same'.*got 'valid'"):
        ConvLSTM2D(4, 3, padding="valid")
    with pytest.raises(ValueError, match="strides must be 1"):
        ConvGRU2D(4, 3, strides=2)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        ConvLSTM2D(4, 2)
    with pytest.raises(TypeError, match="filters must be a positive int"):
        ConvLSTM2D("4")
    with pytest.raises(ValueError, match="data_format.*permute"):
        ConvLSTM2D(4, data_format="channels_first")
    with pytest.raises(ValueError, match="dropout must be a float in"):
        ConvLSTM2D(4, dropout=1.0)
    layer = ConvLSTM2D(4, input_shape=(T, Y, X, C))
    with pytest.raises(ValueError, match=r"must be 5-D.*x\[\.\.\., None\]"):
        layer(torch.zeros(B, T, Y, X))
    with pytest.raises(ValueError, match="channels=2.*channels are last"):
        layer(torch.zeros(B, T, C, Y, X))
    with pytest.raises(TypeError, match="dtype"):
        layer(torch.zeros(B, T, Y, X, C, dtype=torch.float64))
