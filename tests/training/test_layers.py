"""Keras-style layers: they wrap rnnkit.nn (one recurrence), pass lengths on, and fail clearly."""

import pytest
import torch

import rnnkit
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, SimpleRNN
from rnnkit.models import Sequential


@pytest.mark.parametrize("cls,core", [(SimpleRNN, rnnkit.nn.RNN), (LSTM, rnnkit.nn.LSTM), (GRU, rnnkit.nn.GRU)])
def test_recurrent_layers_are_the_core_module(cls, core):
    torch.manual_seed(0)
    layer = cls(4, return_sequences=True, input_shape=(5, 3))
    assert type(layer.core) is core
    x = torch.randn(2, 5, 3)
    lengths = torch.tensor([5, 3])
    expected, _ = layer.core(x, lengths=lengths)
    torch.testing.assert_close(layer(x, lengths=lengths), expected, rtol=0, atol=0)
    last = cls(4)
    last.build_once((5, 3))
    out, state = last.core(x, lengths=lengths)
    h_n = state[0] if isinstance(state, tuple) else state
    torch.testing.assert_close(last(x, lengths=lengths), h_n[-1], rtol=0, atol=0)


def test_return_state_and_lstm_forget_bias():
    layer = LSTM(3, return_state=True, return_sequences=True)
    output, h, c = layer(torch.randn(2, 4, 5))
    assert output.shape == (2, 4, 3) and h.shape == (2, 3) and c.shape == (2, 3)
    torch.testing.assert_close(output[:, -1], h)
    torch.testing.assert_close(layer.core.bias_ih_l0[3:6], torch.ones(3))  # Keras unit_forget_bias


@pytest.mark.parametrize("merge_mode,width", [("concat", 8), ("sum", 4), ("ave", 4), ("mul", 4)])
def test_bidirectional_uses_the_cores_directions(merge_mode, width):
    layer = Bidirectional(GRU(4), merge_mode=merge_mode, input_shape=(6, 2))
    assert layer.layer.core.bidirectional
    x = torch.randn(3, 6, 2)
    lengths = torch.tensor([6, 2, 4])
    y = layer(x, lengths=lengths)
    assert y.shape == (3, width)
    _, h_n = layer.layer.core(x, lengths=lengths)
    if merge_mode == "concat":
        torch.testing.assert_close(y, torch.cat([h_n[0], h_n[1]], dim=-1))
    assert layer.compute_output_shape((6, 2)) == (width,)


def test_dense_applies_per_time_step_and_dropout_only_in_training():
    dense = Dense(3, activation="relu")
    x = torch.randn(2, 5, 4)
    y = dense(x)
    assert y.shape == (2, 5, 3)
    torch.testing.assert_close(y[:, 2], dense(x[:, 2]))
    drop = Dropout(0.5)
    drop.eval()
    torch.testing.assert_close(drop(x), x)
    drop.train()
    assert (drop(torch.ones(1, 1000)) == 0).any()


def test_embedding_mask_zero_gives_the_lengths_of_a_ragged_batch():
    torch.manual_seed(0)
    model = Sequential([Embedding(10, 3, mask_zero=True), LSTM(4)])
    ids = torch.tensor([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]])
    padded_out = model(ids)
    torch.testing.assert_close(padded_out[0], model(ids[:1, :3])[0])
    torch.testing.assert_close(padded_out[1], model(ids[1:, :2])[0])
    with pytest.raises(ValueError, match="padding at the end"):
        model(torch.tensor([[0, 1, 2]]))


def test_two_dimensional_input_to_a_recurrent_layer_says_add_a_feature_axis():
    with pytest.raises(ValueError, match=r"x\[\.\.\., None\]"):
        SimpleRNN(2)(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="features=1"):
        SimpleRNN(2, input_shape=(3, 1))(torch.zeros(4, 3, 2))


def test_argument_errors():
    with pytest.raises(ValueError, match="activation must be one of"):
        LSTM(3, activation="relu")
    with pytest.raises(TypeError, match="units must be a positive int"):
        Dense("3")
    with pytest.raises(ValueError, match="dropout must be a float in"):
        GRU(3, dropout=1.5)
    with pytest.raises(ValueError, match="only the first layer may set input_shape"):
        Sequential([Dense(2, input_shape=(3,)), Dense(1, input_shape=(2,))])


def test_recurrent_dropout_is_passed_to_the_core_or_refused_clearly():
    import inspect

    if "recurrent_dropout" in inspect.signature(rnnkit.nn.LSTM).parameters:
        layer = LSTM(3, recurrent_dropout=0.25, input_shape=(4, 2))
        assert layer.core.recurrent_dropout == 0.25
    else:
        with pytest.raises(ValueError, match="recurrent_dropout"):
            LSTM(3, recurrent_dropout=0.25)
    assert LSTM(3, recurrent_dropout=0.0, input_shape=(4, 2)).core is not None


def test_input_dropout_masks_whole_features_over_time():
    torch.manual_seed(1)
    layer = SimpleRNN(2, dropout=0.5, return_sequences=True, input_shape=(3, 8))
    x = torch.ones(1, 3, 8)
    layer.train()
    torch.manual_seed(2)
    a = layer(x)
    layer.eval()
    assert not torch.equal(a, layer(x))


def test_backend_reaches_the_core_and_gives_the_same_numbers():
    from rnnkit.nn.recurrent import BACKENDS

    torch.manual_seed(0)
    x, lengths = torch.randn(3, 5, 2), torch.tensor([5, 1, 3])
    reference = GRU(4, backend="reference", input_shape=(5, 2))
    for backend in BACKENDS:
        layer = GRU(4, backend=backend, input_shape=(5, 2))
        layer.load_state_dict(reference.state_dict())
        assert layer.core.backend == backend
        torch.testing.assert_close(layer(x, lengths=lengths), reference(x, lengths=lengths))
    with pytest.raises(ValueError, match="backend must be one of"):
        GRU(4, backend="cudnn")
