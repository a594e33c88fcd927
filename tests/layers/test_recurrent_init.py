"""The initialisation options of the Keras-style recurrent layers: recurrent_initializer ("orthogonal" |
"identity"), unit_forget_bias (LSTM), chrono_max (LSTM, GRU): parameters, defaults unchanged, the config
through rnnkit's saving, and bad values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.layers import (GRU, LSTM, Bidirectional, Dense, LayerNormGRU, LayerNormLSTM, SimpleRNN, deserialize,
                           serialize)
from rnnkit.models import Sequential

X = torch.randn(3, 6, 2, generator=torch.Generator().manual_seed(0))


def gate(b, k, H):
    return b[k * H : (k + 1) * H]


def assert_chrono(core, H, t_max, lstm):
    top = torch.tensor(math.log(t_max - 1), dtype=torch.float32)    # float32 rounding is monotone
    for name, b_ih in core.named_parameters():
        if not name.startswith("bias_ih"):
            continue
        b = gate(b_ih, 1, H)                                            # f (i, f, g, o) or z (r, z, n)
        assert b.min() >= 0 and b.max() <= top, name
        assert torch.equal(gate(getattr(core, name.replace("bias_ih", "bias_hh")), 1, H), torch.zeros(H))
        if lstm:
            assert torch.equal(gate(b_ih, 0, H), -b)                    # b_i = -b_f
        assert not torch.equal(b, torch.ones(H))


def test_defaults_are_unchanged():
    layer = LSTM(4, input_shape=(6, 2))
    config = layer.get_config()
    options = (config["recurrent_initializer"], config["unit_forget_bias"], config["chrono_max"])
    assert options == ("orthogonal", True, None)
    assert torch.equal(gate(layer.core.bias_ih_l0, 1, 4), torch.ones(4))          # Keras' unit forget bias
    assert torch.equal(layer.core.bias_hh_l0, torch.zeros(16))
    W = layer.core.weight_hh_l0.detach().double()                                   # (G, H): orthonormal columns
    torch.testing.assert_close(W.T @ W, torch.eye(4, dtype=torch.float64), atol=4 * 16 * 2.0 ** -24, rtol=0)
    assert GRU(3).get_config()["chrono_max"] is None
    assert "unit_forget_bias" not in GRU(3).get_config() and "chrono_max" not in SimpleRNN(3).get_config()


def test_the_same_draws_as_before_the_options():
    """The options add no random draws: a default layer equals the old initialisation bit for bit
    (Glorot kernel, torch's orthogonal recurrent kernel, zero biases, b_f = 1 for the LSTM)."""
    torch.manual_seed(3)
    layer = LSTM(5, input_shape=(6, 2))
    torch.manual_seed(3)
    core = rnnkit.nn.LSTM(2, 5, batch_first=True)
    with torch.no_grad():
        limit = math.sqrt(6.0 / (2 + 20))
        core.weight_ih_l0.uniform_(-limit, limit)
        torch.nn.init.orthogonal_(core.weight_hh_l0)
        core.bias_ih_l0.zero_()
        core.bias_hh_l0.zero_()
        core.bias_ih_l0[5:10] = 1.0
    for name, p in core.named_parameters():
        assert torch.equal(p, getattr(layer.core, name)), name


def test_old_configs_without_the_new_keys_still_load():
    config = LSTM(4, input_shape=(6, 2)).get_config()
    for key in ("recurrent_initializer", "unit_forget_bias", "chrono_max"):
        del config[key]
    layer = LSTM.from_config(config)
    assert layer.unit_forget_bias and layer.chrono_max is None and layer.recurrent_initializer == "orthogonal"


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_simple_rnn_identity_recurrent_initializer(activation):
    layer = SimpleRNN(5, activation=activation, recurrent_initializer="identity", input_shape=(6, 2))
    assert torch.equal(layer.core.weight_hh_l0, torch.eye(5))
    assert torch.equal(layer.core.bias_ih_l0, torch.zeros(5)) and torch.equal(layer.core.bias_hh_l0, torch.zeros(5))
    limit = math.sqrt(6.0 / (2 + 5))                                                # the kernel stays Glorot
    assert layer.core.weight_ih_l0.abs().max() <= limit and layer.core.weight_ih_l0.abs().max() > 1e-2
    both = Bidirectional(SimpleRNN(5, activation="relu", recurrent_initializer="identity"), input_shape=(6, 2))
    assert torch.equal(both.layer.core.weight_hh_l0_reverse, torch.eye(5))


@pytest.mark.parametrize("cls,lstm", [(LSTM, True), (GRU, False), (LayerNormLSTM, True), (LayerNormGRU, False)])
def test_chrono_max(cls, lstm):
    layer = cls(16, chrono_max=40, input_shape=(6, 2))
    assert_chrono(layer.core, 16, 40, lstm)
    assert layer.get_config()["chrono_max"] == 40
    both = Bidirectional(cls(16, chrono_max=40), input_shape=(6, 2))
    assert_chrono(both.layer.core, 16, 40, lstm)
    assert "bias_ih_l0_reverse" in dict(both.layer.core.named_parameters())


def test_unit_forget_bias_false():
    layer = LSTM(4, unit_forget_bias=False, input_shape=(6, 2))
    assert torch.equal(layer.core.bias_ih_l0, torch.zeros(16))
    LSTM(4, use_bias=False, input_shape=(6, 2))                      # no biases: unit_forget_bias has nothing to set


@pytest.mark.parametrize("make", [
    lambda: LSTM(8, chrono_max=25, unit_forget_bias=False, input_shape=(6, 2)),
    lambda: GRU(8, chrono_max=25, input_shape=(6, 2)),
    lambda: SimpleRNN(8, activation="relu", recurrent_initializer="identity", input_shape=(6, 2)),
    lambda: Bidirectional(LayerNormLSTM(8, chrono_max=25), input_shape=(6, 2)),
], ids=["lstm", "gru", "irnn", "bidirectional"])
def test_the_options_round_trip_through_a_saved_model(make, tmp_path):
    rnnkit.set_seed(0)
    model = Sequential([make(), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X.numpy(), np.zeros((3, 1)), epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = rnnkit.load_model(tmp_path / "m.safetensors")
    assert loaded.get_config() == model.get_config()
    first = loaded.layers[0].layer if isinstance(loaded.layers[0], Bidirectional) else loaded.layers[0]
    original = model.layers[0].layer if isinstance(model.layers[0], Bidirectional) else model.layers[0]
    for key in ("recurrent_initializer", "chrono_max", "unit_forget_bias"):
        assert getattr(first, key, None) == getattr(original, key, None)
    np.testing.assert_array_equal(loaded.predict(X.numpy()), model.predict(X.numpy()))
    twin = deserialize(serialize(original))                       # the layer's own spec: same arguments
    assert twin.get_config() == original.get_config()


def test_bad_values_are_errors_naming_the_argument():
    with pytest.raises(ValueError, match=r"LSTM: recurrent_initializer='identity' \(IRNN\) applies to SimpleRNN; .*"
                                         r"chrono_max=T_max or unit_forget_bias=True"):
        LSTM(3, recurrent_initializer="identity")
    with pytest.raises(ValueError, match=r"GRU: recurrent_initializer='identity' \(IRNN\) applies to SimpleRNN"):
        GRU(3, recurrent_initializer="identity")
    with pytest.raises(ValueError, match=r"SimpleRNN: recurrent_initializer must be one of \['orthogonal', "
                                         r"'identity'\]; got 'glorot_uniform'"):
        SimpleRNN(3, recurrent_initializer="glorot_uniform")
    with pytest.raises(ValueError, match=r"LSTM: chrono_max \(T_max.*\) must be >= 2; got 1"):
        LSTM(3, chrono_max=1)
    with pytest.raises(TypeError, match=r"GRU: chrono_max \(T_max.*\) must be an int >= 2; got float 5.5"):
        GRU(3, chrono_max=5.5)
    with pytest.raises(ValueError, match=r"LayerNormGRU: chrono_max=5 sets gate biases, and use_bias=False"):
        LayerNormGRU(3, chrono_max=5, use_bias=False)
    with pytest.raises(TypeError, match=r"LSTM: unit_forget_bias must be True or False; got str 'yes'"):
        LSTM(3, unit_forget_bias="yes")
    with pytest.raises(TypeError, match="unexpected keyword argument 'chrono_max'"):
        SimpleRNN(3, chrono_max=10)
    spec = serialize(GRU(3))
    spec["config"]["chrono_max"] = 0
    with pytest.raises(ValueError, match=r"GRU: chrono_max \(T_max.*\) must be >= 2; got 0"):
        deserialize(spec)
