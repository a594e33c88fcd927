"""Conv1D and the pooling layers: Keras' semantics and weight layout, torch parity, and padded batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit.layers import (LSTM, AveragePooling1D, Conv1D, GlobalAveragePooling1D, GlobalConcatPooling1D,
                           GlobalMaxPooling1D, MaxPooling1D)
from rnnkit.models import Sequential
from tests.layers import keras_reference as keras


def _x(B=2, T=7, I=3, seed=0, dtype=torch.float64):
    return torch.randn(B, T, I, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("strides,dilation", [(1, 1), (2, 1), (1, 2), (3, 2)])
def test_conv1d_is_keras_conv1d_with_the_kernel_permuted(padding, strides, dilation):
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(3, 4, 5)), rng.normal(size=5)       # Keras layout (k, I, O)
    x = _x(I=4)
    layer = Conv1D(5, 3, strides=strides, padding=padding, dilation_rate=dilation).double()
    layer.build_once((7, 4))
    layer.double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(kernel).permute(2, 1, 0))   # Keras (k, I, O) → torch (O, I, k)
        layer.bias.copy_(torch.from_numpy(bias))
    expected = keras.conv1d(x.numpy(), kernel, bias, strides=strides, padding=padding, dilation_rate=dilation)
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-10, atol=1e-10)
    assert layer.compute_output_shape((7, 4)) == expected.shape[1:]


def test_conv1d_takes_a_torch_conv1d_state_dict_and_keras_initial_weights():
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(3, 4, 2, groups=1)
    layer = Conv1D(4, 2, input_shape=(6, 3))
    layer.load_state_dict(conv.state_dict())
    x = _x(T=6, dtype=torch.float32)
    torch.testing.assert_close(layer(x), conv(x.transpose(1, 2)).transpose(1, 2))
    torch.testing.assert_close(layer.bias, conv.bias)
    fresh = Conv1D(8, 5, input_shape=(6, 3))
    limit = (6 / (5 * 3 + 5 * 8)) ** 0.5                                # glorot on Keras' (k, I, O)
    assert fresh.weight.abs().max() <= limit and fresh.weight.abs().max() > 0.8 * limit
    assert torch.equal(fresh.bias, torch.zeros(8))


@pytest.mark.parametrize("padding,strides", [("same", 1), ("causal", 1), ("causal", 2), ("valid", 1), ("valid", 2)])
def test_conv1d_on_a_padded_batch_equals_each_sequence_alone(padding, strides):
    torch.manual_seed(0)
    layer = Conv1D(3, 3, strides=strides, padding=padding, input_shape=(None, 2)).double()
    x, lengths = _x(B=3, T=8, I=2), torch.tensor([8, 4, 5])
    x[1, 4:] = 7.0                                                      # padding that is not zero
    y, new = layer.propagate(x, lengths)
    window = 3
    expected = [(int(L) - window) // strides + 1 if padding == "valid" else -(-int(L) // strides) for L in lengths]
    assert new.tolist() == expected
    for b, L in enumerate(lengths.tolist()):
        alone = layer(x[b : b + 1, :L])[0]
        torch.testing.assert_close(y[b, : new[b]], alone)
        assert torch.equal(y[b, new[b] :], torch.zeros_like(y[b, new[b] :]))


def test_conv1d_errors_name_the_argument():
    with pytest.raises(ValueError, match="padding must be one of"):
        Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="data_format"):
        Conv1D(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match="divisible by groups"):
        Conv1D(3, 2, groups=2)
    with pytest.raises(ValueError, match="fewer than the kernel"):
        Conv1D(2, 5)(torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match="sequence 1 has length 2, shorter than the window"):
        Conv1D(2, 3)(torch.zeros(2, 5, 2), lengths=torch.tensor([5, 2]))
    assert Conv1D(2, (3,), strides=[2]).kernel_size == 3  # Keras' tuple form


@pytest.mark.parametrize("cls,kind", [(MaxPooling1D, "max"), (AveragePooling1D, "average")])
@pytest.mark.parametrize("pool_size,strides,padding", [(2, None, "valid"), (3, 2, "same"), (3, 1, "same"), (4, 3, "valid")])
def test_pooling_is_keras_pooling(cls, kind, pool_size, strides, padding):
    x = _x(T=9)
    layer = cls(pool_size, strides, padding)
    expected = keras.pool1d(x.numpy(), pool_size, strides or pool_size, padding, kind)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)
    assert layer.compute_output_shape((9, 3)) == expected.shape[1:]


@pytest.mark.parametrize("cls", [MaxPooling1D, AveragePooling1D])
@pytest.mark.parametrize("pool_size,strides,padding", [(2, None, "valid"), (3, 1, "same")])
def test_pooling_a_padded_batch_equals_each_sequence_alone(cls, pool_size, strides, padding):
    x, lengths = _x(B=3, T=8), torch.tensor([8, 3, 5])
    x[1, 3:] = 100.0                                                     # would win every max
    layer = cls(pool_size, strides, padding)
    y, new = layer.propagate(x, lengths)
    for b, L in enumerate(lengths.tolist()):
        torch.testing.assert_close(y[b, : new[b]], layer(x[b : b + 1, :L])[0])


def test_global_pooling_uses_each_sequence_alone_where_keras_max_pooling_would_see_padding():
    x, lengths = _x(B=3, T=6), torch.tensor([6, 2, 4])
    x[1, 2:] = 100.0
    for cls, reduce in ((GlobalAveragePooling1D, torch.mean), (GlobalMaxPooling1D, torch.amax)):
        y = cls()(x, lengths=lengths)
        for b, L in enumerate(lengths.tolist()):
            torch.testing.assert_close(y[b], reduce(x[b, :L], dim=0))
        torch.testing.assert_close(cls()(x), reduce(x, dim=1))          # no lengths: Keras' result
    assert GlobalMaxPooling1D(keepdims=True)(x).shape == (3, 1, 3)


def test_concat_pooling_is_the_last_real_step_the_max_and_the_mean_of_each_sequence():
    x, lengths = _x(B=3, T=6), torch.tensor([6, 2, 4])
    x[1, 2:] = 100.0                                                     # padding: never last, max or mean
    y = GlobalConcatPooling1D()(x, lengths=lengths)                      # (B, 3 I)
    assert y.shape == (3, 9)
    for b, L in enumerate(lengths.tolist()):
        own = x[b, :L]
        torch.testing.assert_close(y[b], torch.cat([own[-1], own.amax(dim=0), own.mean(dim=0)]))
    assert GlobalConcatPooling1D(keepdims=True)(x).shape == (3, 1, 9)


def test_text_classifier_stack_on_a_padded_batch_equals_each_sequence_alone():
    torch.manual_seed(0)
    model = Sequential([Conv1D(4, 3, padding="same", activation="relu", input_shape=(None, 2)), MaxPooling1D(2),
                        Conv1D(3, 2, padding="causal"), LSTM(3)])
    x, lengths = _x(B=3, T=8, I=2, dtype=torch.float32), torch.tensor([8, 4, 6])
    y = model(x, lengths=lengths)
    for b, L in enumerate(lengths.tolist()):
        torch.testing.assert_close(y[b], model(x[b : b + 1, :L])[0])
