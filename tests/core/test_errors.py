"""Bad input gets a ValueError/TypeError that names the argument, says expected vs received, and a fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit.nn as rnn


@pytest.fixture
def lstm():
    return rnn.LSTM(3, 5, num_layers=2)


def test_2d_input_suggests_feature_axis(lstm):
    with pytest.raises(ValueError, match=r"input must have shape \(T, B, input_size=3\).*2-D.*\(4, 3\).*x\[\.\.\., None\]"):
        lstm(torch.randn(4, 3))


def test_2d_input_batch_first_legend():
    layer = rnn.GRU(1, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"\(B, T, input_size=1\).*x\[\.\.\., None\].*x\.unsqueeze\(0\)"):
        layer(torch.randn(4, 3))


def test_wrong_feature_size(lstm):
    with pytest.raises(ValueError, match=r"input.*got \(6, 2, 7\) with 7 features.*input_size"):
        lstm(torch.randn(6, 2, 7))


@pytest.mark.parametrize("bad", [(1, 2, 5), (2, 3, 5), (2, 2, 4)])
def test_wrong_initial_state_shape(lstm, bad):
    h0 = torch.zeros(bad)
    c0 = torch.zeros(2, 2, 5)
    with pytest.raises(ValueError, match=r"hx\[0\] \(h_0\) must have shape .* = \(2, 2, 5\); got"):
        lstm(torch.randn(6, 2, 3), (h0, c0))


def test_lstm_state_must_be_a_pair(lstm):
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\)"):
        lstm(torch.randn(6, 2, 3), torch.zeros(2, 2, 5))


@pytest.mark.parametrize("lengths, pattern", [
    ([3, 0], r"lengths must be in \[1, T=6\]; got lengths\[1\] = 0"),
    ([3, 7], r"lengths\[1\] = 7"),
    ([3, 2, 1], r"lengths must have shape \(B,\) = \(2,\).*got \(3,\)"),
    ([[3, 2]], r"lengths must have shape \(B,\)"),
])
def test_lengths_out_of_range_or_wrong_shape(lstm, lengths, pattern):
    with pytest.raises(ValueError, match=pattern):
        lstm(torch.randn(6, 2, 3), lengths=torch.tensor(lengths))


def test_float_lengths_rejected(lstm):
    with pytest.raises(TypeError, match=r"lengths must hold integers; got dtype torch.float32.*long\(\)"):
        lstm(torch.randn(6, 2, 3), lengths=torch.tensor([3.0, 2.0]))
    with pytest.raises(TypeError, match=r"lengths must hold integers"):
        lstm(torch.randn(6, 2, 3), lengths=np.array([3.0, 2.0]))


def test_integer_input_rejected(lstm):
    with pytest.raises(TypeError, match=r"input must be a floating-point tensor; got dtype torch.int64.*\.float\(\)"):
        lstm(torch.ones(6, 2, 3, dtype=torch.int64))


def test_non_tensor_input_rejected(lstm):
    with pytest.raises(TypeError, match=r"input must be a torch.Tensor; got ndarray.*torch.as_tensor"):
        lstm(np.zeros((6, 2, 3), dtype=np.float32))


def test_mismatched_dtype(lstm):
    with pytest.raises(TypeError, match=r"input has dtype torch.float64 but the layer's parameters are torch.float32"):
        lstm(torch.randn(6, 2, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"hx\[0\] \(h_0\) has dtype torch.float64"):
        lstm(torch.randn(6, 2, 3), (torch.zeros(2, 2, 5, dtype=torch.float64), torch.zeros(2, 2, 5)))


@pytest.mark.parametrize("shape", [(6, 0, 3), (0, 2, 3)])
def test_empty_batch_or_sequence(lstm, shape):
    with pytest.raises(ValueError, match=r"input is empty, shape .*at least one sequence"):
        lstm(torch.randn(shape))


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"hidden_size": 0}, ValueError, r"hidden_size must be >= 1; got 0"),
    ({"hidden_size": 2.5}, TypeError, r"hidden_size must be an int; got float"),
    ({"num_layers": 0}, ValueError, r"num_layers must be >= 1"),
    ({"dropout": 1.5}, ValueError, r"dropout must be in \[0, 1\); got 1.5"),
    ({"nonlinearity": "sigmoid"}, ValueError, r"nonlinearity must be one of 'tanh', 'relu'; got 'sigmoid'"),
    ({"backend": "cuda"}, ValueError, r"backend must be one of"),
])
def test_constructor_arguments(kwargs, error, pattern):
    args = {"input_size": 3, "hidden_size": 4, **kwargs}
    with pytest.raises(error, match=pattern):
        rnn.RNN(**args)


def test_step_rejects_bidirectional_and_bad_shape():
    with pytest.raises(ValueError, match=r"bidirectional layer needs the whole sequence"):
        rnn.GRU(3, 4, bidirectional=True).step(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"x_t must have shape \(B, input_size=3\); got \(2, 4\)"):
        rnn.GRU(3, 4).step(torch.randn(2, 4))


def test_cell_errors():
    cell = rnn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"input must have shape \(B, input_size=3\)"):
        cell(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"hx must have shape \(B, hidden_size\) = \(2, 4\); got \(2, 5\)"):
        cell(torch.randn(2, 3), (torch.zeros(2, 5), torch.zeros(2, 4)))
