"""Keras' recurrent options on rnnkit's layers: initial_state, go_backwards, stateful with reset_states,
Bidirectional return_state and merge_mode=None, LayerNormLSTM/GRU, zoneout; and mask= / training=."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Dropout, LayerNormGRU, LayerNormLSTM, SimpleRNN
from rnnkit.models import Sequential

X = torch.randn(3, 6, 2, generator=torch.Generator().manual_seed(0))
LENGTHS = torch.tensor([6, 2, 4])


def _twin(layer, **changes):
    """The same layer (same weights) with some config changed."""
    config = {**layer.get_config(), **changes}
    twin = type(layer).from_config(config)
    twin.build_once(layer.built_input_shape)
    twin.load_state_dict(layer.state_dict())
    return twin


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU, LayerNormLSTM, LayerNormGRU])
def test_initial_state_is_the_cores_hx(cls):
    torch.manual_seed(0)
    layer = cls(4, return_sequences=True, input_shape=(6, 2))
    states = [torch.randn(3, 4) for _ in range(layer.state_count)]
    hx = states[0][None] if len(states) == 1 else tuple(s[None] for s in states)
    expected, _ = layer.core(X, hx, lengths=LENGTHS)
    torch.testing.assert_close(layer(X, lengths=LENGTHS, initial_state=states), expected)
    with pytest.raises(ValueError, match=r"initial_state must be a list of \d tensors"):
        layer(X, initial_state=states * 2)
    with pytest.raises(ValueError, match=r"initial_state\[0\] \(h\) must have shape \(B, H\) = \(3, 4\)"):
        layer(X, initial_state=[torch.zeros(2, 4)] * len(states))
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        layer(X, initial_states=states)


def test_bidirectional_initial_state_and_return_state_follow_keras_order():
    torch.manual_seed(0)
    layer = Bidirectional(LSTM(3, return_state=True), input_shape=(6, 2))
    h_f, c_f, h_b, c_b = (torch.randn(3, 3) for _ in range(4))
    y, *states = layer(X, lengths=LENGTHS, initial_state=[h_f, c_f, h_b, c_b])
    _, (h_n, c_n) = layer.layer.core(X, (torch.stack([h_f, h_b]), torch.stack([c_f, c_b])), lengths=LENGTHS)
    for got, want in zip(states, (h_n[0], c_n[0], h_n[1], c_n[1])):
        torch.testing.assert_close(got, want)
    torch.testing.assert_close(y, torch.cat([h_n[0], h_n[1]], dim=-1))
    with pytest.raises(ValueError, match="return_state=True must be the last|returns a tuple"):
        Sequential([layer])


def test_bidirectional_merge_mode_none_returns_both_directions():
    torch.manual_seed(0)
    layer = Bidirectional(GRU(3, return_sequences=True, return_state=True), merge_mode=None, input_shape=(6, 2))
    forward, backward, h_f, h_b = layer(X, lengths=LENGTHS)
    concat = _twin(layer, merge_mode="concat")
    torch.testing.assert_close(torch.cat([forward, backward], dim=-1), concat(X, lengths=LENGTHS)[0])
    torch.testing.assert_close(forward[0, -1], h_f[0])
    torch.testing.assert_close(backward[0, 0], h_b[0])  # the backward direction ends at step 0
    with pytest.raises(ValueError, match="go_backwards=False"):
        Bidirectional(GRU(3, go_backwards=True))


def test_go_backwards_reads_each_sequence_from_its_end():
    torch.manual_seed(0)
    forward = GRU(4, return_sequences=True, return_state=True, input_shape=(6, 2))
    backward = _twin(forward, go_backwards=True)
    y, h = backward(X)                                   # no padding: Keras exactly, x reversed in time
    y_ref, h_ref = forward(X.flip(1))
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(h, h_ref)
    y, h = backward(X, lengths=LENGTHS)                  # padding: each sequence reversed within its length
    for b, L in enumerate(LENGTHS.tolist()):
        y_alone, h_alone = forward(X[b : b + 1, :L].flip(1))
        torch.testing.assert_close(y[b, :L], y_alone[0])
        torch.testing.assert_close(h[b], h_alone[0])
        assert torch.equal(y[b, L:], torch.zeros_like(y[b, L:]))


def test_stateful_chunks_equal_one_long_sequence_and_reset_states_starts_again():
    torch.manual_seed(0)
    whole = LSTM(4, return_sequences=True, input_shape=(6, 2))
    chunked = _twin(whole, stateful=True)
    expected = whole(X)
    parts = [chunked(X[:, :2]), chunked(X[:, 2:5]), chunked(X[:, 5:])]
    torch.testing.assert_close(torch.cat(parts, dim=1), expected)
    assert all(not s.requires_grad for s in chunked.states)      # detached: truncated BPTT
    assert [s.shape for s in chunked.states] == [(3, 4), (3, 4)]
    with pytest.raises(ValueError, match="batch size 3 from the last call; got a batch of 2"):
        chunked(X[:2])
    chunked.reset_states()
    assert chunked.states is None
    torch.testing.assert_close(chunked(X[:, :2]), expected[:, :2])
    chunked.reset_states([torch.zeros(3, 4), torch.zeros(3, 4)])
    torch.testing.assert_close(chunked(X[:, :2]), expected[:, :2])
    assert not any("carried" in k for k in chunked.state_dict())   # states are not weights
    with pytest.raises(ValueError, match="stateful=False"):
        whole.reset_states()


def test_stateful_bidirectional_carries_both_directions():
    torch.manual_seed(0)
    layer = Bidirectional(GRU(3, stateful=True), input_shape=(6, 2))
    assert layer.stateful
    layer(X)
    assert len(layer.layer.states) == 2
    layer.reset_states()
    assert layer.layer.states is None


def test_truncated_bptt_fit_over_a_long_series_with_a_stateful_model(tmp_path):
    rnnkit.set_seed(0)
    series = np.sin(np.linspace(0, 12, 4 * 20)).astype(np.float32).reshape(4, 20)   # 4 series of 20 steps
    chunks = series.reshape(4, 4, 5).transpose(1, 0, 2)[..., None]                  # 4 chunks of (4, 5, 1)
    x = chunks.reshape(-1, 5, 1)                  # chunk-major: batch k holds chunk k of every series
    y = np.roll(series, -1, axis=1).reshape(4, 4, 5).transpose(1, 0, 2).reshape(-1, 5, 1)
    model = Sequential([LSTM(8, return_sequences=True, stateful=True, input_shape=(5, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    for _ in range(2):
        model.layers[0].reset_states()
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "stateful.safetensors")
    loaded = rnnkit.load_model(tmp_path / "stateful.safetensors")
    assert loaded.layers[0].stateful and loaded.layers[0].states is None    # a loaded model starts from zeros
    model.layers[0].reset_states()
    np.testing.assert_array_equal(loaded.predict(x, batch_size=4), model.predict(x, batch_size=4))


@pytest.mark.parametrize("cls,core", [(LayerNormLSTM, rnnkit.nn.LayerNormLSTM), (LayerNormGRU, rnnkit.nn.LayerNormGRU)])
def test_layer_norm_layers_wrap_the_core_with_keras_initialisation(cls, core):
    layer = cls(4, input_shape=(6, 2))
    assert type(layer.core) is core
    params = dict(layer.core.named_parameters())
    for name, p in params.items():
        if "_ln_" in name:
            assert torch.equal(p, torch.ones_like(p) if name.startswith("weight") else torch.zeros_like(p)), name
    _, state = layer.core(X, lengths=LENGTHS)
    h_n = state[0] if isinstance(state, tuple) else state
    torch.testing.assert_close(layer(X, lengths=LENGTHS), h_n[-1])
    if cls is LayerNormLSTM:
        assert torch.equal(params["bias_ih_l0"][4:8], torch.ones(4))  # Keras unit_forget_bias


def test_zoneout_reaches_the_core_and_round_trips(tmp_path):
    rnnkit.set_seed(0)
    layer = GRU(4, zoneout=0.3, input_shape=(6, 2))
    assert layer.core.zoneout == 0.3
    model = Sequential([layer, Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X.numpy(), np.zeros((3, 1)), epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = rnnkit.load_model(tmp_path / "m.safetensors")
    assert loaded.layers[0].zoneout == 0.3 and loaded.layers[0].core.zoneout == 0.3
    np.testing.assert_array_equal(loaded.predict(X.numpy()), model.predict(X.numpy()))
    with pytest.raises(ValueError, match="zoneout must be a float in"):
        LSTM(3, zoneout=1.0)


def test_a_prefix_mask_is_lengths_and_a_mask_with_holes_is_a_clear_error():
    torch.manual_seed(0)
    layer = LSTM(3, input_shape=(6, 2))
    mask = torch.arange(6)[None] < LENGTHS[:, None]
    torch.testing.assert_close(layer(X, mask=mask), layer(X, lengths=LENGTHS))
    holes = mask.clone()
    holes[0, 2] = False
    with pytest.raises(ValueError, match="row 0 has a False step before a True one"):
        layer(X, mask=holes)
    with pytest.raises(ValueError, match="lengths= or mask=, not both"):
        layer(X, mask=mask, lengths=LENGTHS)


def test_the_training_argument_switches_the_mode_for_one_call():
    drop = Dropout(0.5)
    drop.eval()
    x = torch.ones(4, 100)
    assert (drop(x, training=True) == 0).any() and not drop.training
    drop.train()
    assert torch.equal(drop(x, training=False), x) and drop.training
