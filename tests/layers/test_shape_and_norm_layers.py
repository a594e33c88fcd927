"""Masking, LayerNormalization, Flatten, Reshape, Concatenate and TimeDistributed: their rules, torch parity,
and how lengths pass through them inside a Sequential."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit.layers import (LSTM, Concatenate, Conv1D, Dense, Embedding, Flatten, LayerNormalization, Masking,
                           Reshape, TimeDistributed)
from rnnkit.models import Sequential


def _t(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_masking_gives_the_lengths_of_trailing_padding_rows_and_zeroes_them():
    x = _t(3, 5, 2)
    x[1, 3:] = -1.0
    x[2, 1:] = -1.0
    x[0, 2, 0] = -1.0                                     # one feature at the mask value: not a masked step
    layer = Masking(-1.0)
    y, lengths = layer.propagate(x, None)
    assert lengths.tolist() == [5, 3, 1]
    assert torch.equal(y[1, 3:], torch.zeros(2, 2)) and torch.equal(y[0], x[0])
    model = Sequential([Masking(-1.0, input_shape=(5, 2)), LSTM(3)])
    torch.testing.assert_close(model(x), model.layers[1](x, lengths=lengths))
    hole = x.clone()
    hole[0, 1] = -1.0
    with pytest.raises(ValueError, match="sequence 0 has a masked step .* at t=1, before real steps"):
        layer(hole)
    with pytest.raises(ValueError, match="sequence 1 holds only padding"):
        layer(torch.full((2, 3, 2), -1.0).index_fill_(0, torch.tensor([0]), 1.0))


def test_masking_combines_with_given_lengths_and_takes_video_frames():
    x = _t(2, 4, 3, 2)                                    # (B, T, H, W): a step is masked when all of it is
    x[0, 3] = 0.0
    y, lengths = Masking().propagate(x, torch.tensor([4, 2]))
    assert lengths.tolist() == [3, 2]
    assert torch.equal(y[1, 2:], torch.zeros(2, 3, 2))


@pytest.mark.parametrize("epsilon", [1e-3, 1e-5])
def test_layer_normalization_is_torch_layer_norm_with_keras_epsilon(epsilon):
    torch.manual_seed(0)
    torch_norm = torch.nn.LayerNorm(4, eps=epsilon)
    with torch.no_grad():
        torch_norm.weight.normal_()
        torch_norm.bias.normal_()
    layer = LayerNormalization(epsilon=epsilon, input_shape=(5, 4))
    layer.load_state_dict(torch_norm.state_dict())         # weight = Keras' gamma, bias = beta
    x = _t(3, 5, 4)
    torch.testing.assert_close(layer(x), torch_norm(x))
    assert LayerNormalization().epsilon == 1e-3            # Keras' default


def test_layer_normalization_over_several_axes_and_its_errors():
    x = _t(2, 5, 3, 4)
    layer = LayerNormalization(axis=[2, 3], center=False)
    torch.testing.assert_close(layer(x), F.layer_norm(x, (3, 4), eps=1e-3))
    assert layer.bias is None and layer.weight.shape == (3, 4)
    with pytest.raises(ValueError, match="normalises over time"):
        LayerNormalization(axis=1)(_t(2, 5, 3), lengths=torch.tensor([5, 2]))
    with pytest.raises(ValueError, match="batch axis"):
        LayerNormalization(axis=0)(_t(2, 5, 3))
    with pytest.raises(ValueError, match="must have sizes"):
        layer(_t(2, 5, 3, 5))


def test_flatten_is_row_major_as_keras_and_reshape_infers_minus_one():
    x = _t(2, 3, 4)
    assert torch.equal(Flatten()(x), x.reshape(2, 12))
    assert Flatten().compute_output_shape((3, 4)) == (12,)
    assert Flatten().compute_output_shape((None, 4)) == (None,)
    layer = Reshape((3, 2, -1))
    assert layer(x).shape == (2, 3, 2, 2) and layer.compute_output_shape((3, 4)) == (3, 2, 2)
    with pytest.raises(ValueError, match=r"cannot reshape inputs of shape \(None, 3, 4\)"):
        Reshape((5, -1))(x)
    with pytest.raises(ValueError, match="at most one -1"):
        Reshape((-1, -1))
    with pytest.raises(TypeError, match="target_shape must be"):
        Reshape((0, 2))


def test_reshape_keeps_lengths_only_while_the_time_axis_survives():
    x, lengths = _t(2, 3, 4), torch.tensor([3, 1])
    assert Reshape((3, 2, 2)).propagate(x, lengths)[1] is lengths
    assert Reshape((4, 3)).propagate(x, lengths)[1] is None
    assert Flatten().propagate(x, lengths)[1] is None


def test_concatenate_takes_a_list_or_arguments():
    a, b = _t(2, 3, 4), _t(2, 3, 1)
    layer = Concatenate()
    assert torch.equal(layer([a, b]), torch.cat([a, b], dim=-1))
    assert torch.equal(layer(a, b), layer([a, b]))
    assert Concatenate(axis=1)(a, _t(2, 5, 4)).shape == (2, 8, 4)
    assert Concatenate(axis=1).compute_output_shape([(3, 4), (None, 4)]) == (None, 4)
    with pytest.raises(ValueError, match="at least 2 inputs"):
        layer([a])
    with pytest.raises(ValueError, match="axis=0 is the batch axis"):
        Concatenate(axis=0)
    with pytest.raises(ValueError, match=r"every input must have the rank of inputs\[0\]"):
        layer(a, _t(2, 3))


def test_time_distributed_applies_one_layer_to_every_step():
    torch.manual_seed(0)
    layer = TimeDistributed(Dense(3), input_shape=(5, 4))
    x = _t(2, 5, 4)
    y = layer(x)
    for t in range(5):
        torch.testing.assert_close(y[:, t], layer.layer(x[:, t]))
    assert [n for n, _ in layer.named_parameters()] == ["layer.linear.weight", "layer.linear.bias"]
    ids = TimeDistributed(Embedding(10, 2))(torch.randint(0, 10, (2, 5, 3)))
    assert ids.shape == (2, 5, 3, 2)
    with pytest.raises(ValueError, match="TimeDistributed: input .* gives each time step the shape"):
        TimeDistributed(Conv1D(2, 3))(_t(2, 5, 4))
    with pytest.raises(ValueError, match="give input_shape= to TimeDistributed"):
        TimeDistributed(Dense(2, input_shape=(4,)))
    with pytest.raises(TypeError, match="one input"):
        TimeDistributed(Concatenate())


def test_a_video_like_stack_keeps_lengths_through_time_distributed_frames():
    """TimeDistributed over frames (B, T, W, C) → per-frame features → LSTM: padded frames change nothing."""
    torch.manual_seed(0)
    model = Sequential([TimeDistributed(Conv1D(2, 3, padding="same", activation="relu"), input_shape=(None, 6, 3)),
                        TimeDistributed(Flatten()), LSTM(4)])
    x, lengths = _t(3, 5, 6, 3), torch.tensor([5, 2, 4])
    x[1, 2:] = 50.0
    y = model(x, lengths=lengths)
    for b, L in enumerate(lengths.tolist()):
        torch.testing.assert_close(y[b], model(x[b : b + 1, :L])[0])
    assert model.output_shapes() == [(None, 6, 2), (None, 12), (4,)]


def test_keras_dense_kernel_is_the_transpose_of_dense_weight():
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)  # Keras (I, O)
    layer = Dense(3, input_shape=(4,))
    layer.load_state_dict({"linear.weight": torch.from_numpy(kernel.T), "linear.bias": torch.from_numpy(bias)})
    x = rng.normal(size=(2, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(torch.from_numpy(x)).detach().numpy(), x @ kernel + bias, rtol=1e-5)


def test_default_layer_names_are_keras_names():
    model = Sequential([Conv1D(2, 3, input_shape=(6, 3)), Masking(), TimeDistributed(Dense(2)), LSTM(2)])
    assert [layer.name for layer in model.layers] == ["conv1d", "masking", "time_distributed", "lstm"]
