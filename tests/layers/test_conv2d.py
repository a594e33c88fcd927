"""Conv2D and the 2-D pooling layers: torch parity, TensorFlow's "same" padding, the Keras kernel layout,
video frames through TimeDistributed, errors, and save → load in a Sequential."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import rnnkit
from rnnkit.layers import (LSTM, AveragePooling2D, Conv2D, Dense, Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D,
                           MaxPooling2D, TimeDistributed)
from rnnkit.models import Sequential


def _x(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _tf_same(n: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "SAME", written out again: the extra row / column goes after."""
    total = max((math.ceil(n / stride) - 1) * stride + window - n, 0)
    return total // 2, total - total // 2


def _conv2d_reference(x, kernel, bias, strides, padding, dilation=(1, 1)):
    """keras.layers.Conv2D in NumPy loops: x (B, Y, X, C), kernel (k_y, k_x, C, O) (Keras' layout)."""
    ky, kx, C, O = kernel.shape
    wy, wx = dilation[0] * (ky - 1) + 1, dilation[1] * (kx - 1) + 1
    if padding == "same":
        (t, b), (l, r) = _tf_same(x.shape[1], wy, strides[0]), _tf_same(x.shape[2], wx, strides[1])
        x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    Yo, Xo = (x.shape[1] - wy) // strides[0] + 1, (x.shape[2] - wx) // strides[1] + 1
    y = np.zeros((x.shape[0], Yo, Xo, O)) + bias
    for u in range(Yo):
        for v in range(Xo):
            for m in range(ky):
                for n in range(kx):
                    y[:, u, v] += x[:, u * strides[0] + m * dilation[0], v * strides[1] + n * dilation[1]] @ kernel[m, n]
    return y


@pytest.mark.parametrize("kernel_size", [(3, 3), (2, 2), (3, 4), (1, 1)])
@pytest.mark.parametrize("strides", [(1, 1), (2, 1), (2, 3)])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_is_keras_conv2d_with_the_kernel_permuted(kernel_size, strides, padding):
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(*kernel_size, 3, 4)), rng.normal(size=4)    # Keras (k_y, k_x, C, O)
    x = _x(2, 7, 6, 3)
    layer = Conv2D(4, kernel_size, strides=strides, padding=padding, input_shape=(7, 6, 3)).double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(kernel).permute(3, 2, 0, 1))        # → torch (O, C, k_y, k_x)
        layer.bias.copy_(torch.from_numpy(bias))
    expected = _conv2d_reference(x.numpy(), kernel, bias, strides, padding)
    got = layer(x)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-10, atol=1e-10)
    assert tuple(got.shape[1:]) == layer.compute_output_shape((7, 6, 3)) == expected.shape[1:]
    np.testing.assert_array_equal(layer.weight.detach().permute(2, 3, 1, 0).numpy(), kernel)  # the export rule


def test_conv2d_dilated_matches_the_reference():
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(3, 2, 2, 3))
    x = _x(1, 8, 7, 2)
    layer = Conv2D(3, (3, 2), padding="same", dilation_rate=(2, 3), use_bias=False, input_shape=(8, 7, 2)).double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(kernel).permute(3, 2, 0, 1))
    expected = _conv2d_reference(x.numpy(), kernel, 0.0, (1, 1), "same", (2, 3))
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-10, atol=1e-10)


def test_conv2d_loads_a_torch_conv2d_state_dict_and_equals_it():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 5, (3, 2), stride=(1, 2), padding=0)
    layer = Conv2D(5, (3, 2), strides=(1, 2), activation="relu", input_shape=(9, 8, 3))
    layer.load_state_dict(conv.state_dict())
    x = _x(2, 9, 8, 3, dtype=torch.float32)
    expected = torch.relu(F.conv2d(x.permute(0, 3, 1, 2), conv.weight, conv.bias, stride=(1, 2))).permute(0, 2, 3, 1)
    torch.testing.assert_close(layer(x), expected)
    fresh = Conv2D(8, 3, input_shape=(9, 8, 2))
    limit = (6 / (9 * 2 + 9 * 8)) ** 0.5                                        # glorot on Keras' (3, 3, 2, 8)
    assert 0.8 * limit < fresh.weight.abs().max() <= limit
    assert torch.equal(fresh.bias, torch.zeros(8))
    assert Conv2D(2, 3, use_bias=False, input_shape=(4, 4, 1)).bias is None


@pytest.mark.parametrize("pool_size,strides", [((2, 2), None), ((3, 2), (1, 2)), ((2, 3), (2, 1))])
def test_max_and_average_pooling_valid_equal_torch(pool_size, strides):
    x = _x(2, 7, 6, 3)
    stride = pool_size if strides is None else strides
    nchw = x.permute(0, 3, 1, 2)
    y_max = MaxPooling2D(pool_size, strides=strides)(x)
    torch.testing.assert_close(y_max, F.max_pool2d(nchw, pool_size, stride).permute(0, 2, 3, 1), rtol=0, atol=0)
    y_avg = AveragePooling2D(pool_size, strides=strides)(x)
    torch.testing.assert_close(y_avg, F.avg_pool2d(nchw, pool_size, stride).permute(0, 2, 3, 1))


def test_pooling_same_leaves_the_padding_out_as_tensorflow_does():
    x = _x(1, 5, 4, 2)
    y_max = MaxPooling2D(2, padding="same")(-x.abs() - 1)                     # every value below the padding's 0
    assert y_max.shape == (1, 3, 2, 2) and (y_max < -1 + 1e-12).all()         # padding never wins
    # last row of windows: rows 4 (inside) and 5 (padding); the average counts only row 4
    y_avg = AveragePooling2D(2, padding="same")(x)
    torch.testing.assert_close(y_avg[0, 2, 0], x[0, 4, 0:2].mean(dim=0))
    torch.testing.assert_close(y_avg[0, 0, 1], x[0, 0:2, 2:4].mean(dim=(0, 1)))
    assert AveragePooling2D(3, strides=1, padding="same").compute_output_shape((5, 4, 2)) == (5, 4, 2)


def test_global_pooling_reduces_rows_and_columns():
    x = _x(3, 4, 5, 2)
    torch.testing.assert_close(GlobalMaxPooling2D()(x), x.amax(dim=(1, 2)), rtol=0, atol=0)
    torch.testing.assert_close(GlobalAveragePooling2D()(x), x.mean(dim=(1, 2)))
    assert GlobalAveragePooling2D(keepdims=True)(x).shape == (3, 1, 1, 2)
    assert GlobalMaxPooling2D(keepdims=True).compute_output_shape((4, 5, 2)) == (1, 1, 2)


def test_time_distributed_conv2d_runs_each_frame_with_one_set_of_weights():
    torch.manual_seed(0)
    clip = _x(2, 4, 6, 5, 1, dtype=torch.float32)                              # (B, T, Y, X, C)
    conv = TimeDistributed(Conv2D(3, 3, padding="same"))
    pool, flat = TimeDistributed(MaxPooling2D(2)), TimeDistributed(Flatten())
    y = flat(pool(conv(clip)))
    assert y.shape == (2, 4, 3 * 2 * 3)                                        # (B, T, Y/2 · X//2 · filters)
    for t in range(4):
        alone = conv.layer(clip[:, t].contiguous())                            # frame t alone: (B, Y, X, 3)
        torch.testing.assert_close(conv(clip)[:, t], alone)
        torch.testing.assert_close(y[:, t], pool.layer(alone).reshape(2, -1))   # Flatten per frame, row-major
    assert conv.compute_output_shape((4, 6, 5, 1)) == (4, 6, 5, 3)
    assert list(dict(conv.named_parameters())) == ["layer.weight", "layer.bias"]


def test_cnn_lstm_in_a_sequential_saves_and_loads_with_identical_predictions(tmp_path):
    rnnkit.set_seed(0)
    x = np.random.default_rng(0).normal(size=(6, 5, 8, 8, 1)).astype(np.float32)   # (B, T, Y, X, C) clips
    y = np.random.default_rng(1).normal(size=(6, 2)).astype(np.float32)
    model = Sequential([
        TimeDistributed(Conv2D(4, 3, padding="same", activation="relu"), input_shape=(5, 8, 8, 1)),
        TimeDistributed(MaxPooling2D(2)),
        TimeDistributed(Conv2D(4, 3, activation="relu")),
        TimeDistributed(GlobalAveragePooling2D()),
        LSTM(6),
        Dense(2),
    ])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    model.save(tmp_path / "cnn_lstm.safetensors")
    loaded = rnnkit.load_model(tmp_path / "cnn_lstm.safetensors")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_config() == model.get_config()
    assert model.predict(x).shape == (6, 2)


def test_errors_name_the_argument_and_the_fix():
    with pytest.raises(ValueError, match="padding must be one of"):
        Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        Conv2D(2, (3, 0))
    with pytest.raises(TypeError, match="filters must be a positive int"):
        Conv2D(2.5, 3)
    with pytest.raises(ValueError, match="data_format.*permute"):
        Conv2D(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match=r"must be 4-D.*x\[\.\.\., None\]"):
        Conv2D(2, 3)(torch.zeros(2, 5, 5))
    with pytest.raises(ValueError, match=r"must be 4-D.*TimeDistributed"):
        Conv2D(2, 3)(torch.zeros(2, 3, 5, 5, 1))
    with pytest.raises(ValueError, match="fewer than the kernel's 5.*padding='same'"):
        Conv2D(2, 5)(torch.zeros(1, 4, 8, 1))
    layer = Conv2D(2, 3, input_shape=(5, 5, 1))
    with pytest.raises(ValueError, match="channels=1"):
        layer(torch.zeros(1, 5, 5, 3))
    with pytest.raises(TypeError, match=r"dtype.*\.float\(\)"):
        layer(torch.zeros(1, 5, 5, 1, dtype=torch.int64))
    with pytest.raises(ValueError, match="fewer than pool_size=3"):
        MaxPooling2D(3)(torch.zeros(1, 2, 6, 1))
    with pytest.raises(ValueError, match="must be 4-D"):
        GlobalAveragePooling2D()(torch.zeros(2, 5, 1))
    with pytest.raises(ValueError, match="TimeDistributed.*refuses"):
        TimeDistributed(Conv2D(2, 3))(torch.zeros(2, 4, 5, 5))                 # frames without a channel axis
