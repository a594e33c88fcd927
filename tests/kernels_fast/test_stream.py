"""The compiled streaming step (``layer.step()`` under no_grad) against its slow reference.

The reference is the layer's own ``forward`` over the whole sequence with the sequence kernel (itself checked
against the per-step autograd loop and torch.nn in tests/core); the general ``step()`` path (the sequence
kernel with T = 1) is checked the same way in tests/core/test_sequences.py. The cases cover each branch of
``stream_kernels.cpp``: one or a few rows (our matrix-vector products: AVX2 in float32, with column tails
where the width is not a multiple of 8, portable code in float64), B >= 4 (BLAS), a layer wide enough to
be split across threads, 1 and 2 layers, with and without biases, a given or a zero initial state.
"""

from __future__ import annotations

import contextlib
import copy

import pytest
import torch

import rnnkit.kernels.compiled as compiled
import rnnkit.nn as rnn
import rnnkit.nn.recurrent as recurrent
from rnnkit.kernels.compiled import _loader, stream
from tests.kernels_fast import _bounds

needs_build = pytest.mark.skipif(not compiled.is_available(),
                                 reason=f"compiled kernels unavailable: {compiled.build_error()}")

KINDS = {
    "lstm": (rnn.LSTM, {}),
    "gru": (rnn.GRU, {}),
    "rnn_tanh": (rnn.RNN, {}),
    "rnn_relu": (rnn.RNN, {"nonlinearity": "relu"}),
}
TOL64 = 1e-10   # float64; float32 gets the bound derived per case from the float64 layer (_bounds.py)


def _general_path_fails(*args, **kwargs):
    raise AssertionError("the general step path ran")


@contextlib.contextmanager
def compiled_only():
    """Inside: the general step path raises, so whatever runs is the compiled step."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(recurrent.RecurrentLayer, "_run", _general_path_fails)
        yield


def step_through(layer, x, hx=None):
    """y_t for every t of x (T, B, I) and the final state, one step() per t, under no_grad."""
    ys, state = [], hx
    with torch.no_grad():
        for t in range(x.shape[0]):
            y_t, state = layer.step(x[t], state)
            ys.append(y_t)
    return torch.stack(ys), state


def as_list(state):
    return list(state) if isinstance(state, tuple) else [state]


def float32_bounds(layer, x, hx=None):
    """The float32 bound (_bounds.py) for y and each final state of layer(x, hx), from the layer in float64
    with x, hx and every parameter perturbed."""
    wide = copy.deepcopy(layer).double()
    names = [name for name, _ in wide.named_parameters()]
    states = [] if hx is None else as_list(hx)

    def forward(x64, *rest):
        h = rest[:len(states)]
        h = None if not h else (tuple(h) if len(h) == 2 else h[0])
        out, h_n = torch.func.functional_call(wide, dict(zip(names, rest[len(states):])), (x64, h))
        return [out, *as_list(h_n)]

    with torch.no_grad():
        return _bounds.float32_bounds(forward, [x.double(), *(s.double() for s in states),
                                                *(p.detach() for p in wide.parameters())])


def assert_streams_like_forward(layer, x, hx=None):
    with torch.no_grad():
        full, h_full = layer(x, hx)
    with compiled_only():
        ys, state = step_through(layer, x, hx)
    assert type(state) is type(h_full)
    assert [a.shape for a in as_list(state)] == [b.shape for b in as_list(h_full)]
    if x.dtype == torch.float32:
        _bounds.assert_within([ys, *as_list(state)], [full, *as_list(h_full)], float32_bounds(layer, x, hx),
                              ["y", *(f"state {k}" for k in range(len(as_list(state))))])
        return
    torch.testing.assert_close(ys, full, rtol=0, atol=TOL64)
    for a, b in zip(as_list(state), as_list(h_full)):
        torch.testing.assert_close(a, b, rtol=0, atol=TOL64)


@needs_build
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("B, I, H", [(1, 5, 13), (1, 32, 16), (3, 7, 8), (6, 5, 13), (1, 24, 200)],
                         ids=["B1-tails", "B1-aligned", "B3", "B6-blas", "B1-split"])
def test_stream_step_equals_forward(kind, dtype, B, I, H):
    cls, extra = KINDS[kind]
    torch.manual_seed(0)
    layer = cls(I, H, num_layers=2, backend="kernel", dtype=dtype, **extra).eval()
    assert_streams_like_forward(layer, torch.randn(5, B, I, dtype=dtype))


@needs_build
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bias", [True, False])
def test_stream_from_a_given_state_without_bias(kind, bias):
    cls, extra = KINDS[kind]
    torch.manual_seed(1)
    layer = cls(4, 6, num_layers=2, bias=bias, **extra).double()
    shape = (2, 3, 6)   # (L, B, H)
    hx = (torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)) if kind == "lstm" \
        else torch.randn(shape, dtype=torch.float64)
    assert_streams_like_forward(layer, torch.randn(4, 3, 4, dtype=torch.float64), hx)


@needs_build
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_zoneout_at_inference_streams(kind):
    """Zoneout in eval keeps z of the previous state: the compiled step takes 1 - z as its update weight."""
    cls, extra = KINDS[kind]
    layer = cls(3, 5, zoneout=0.3, **extra).double().eval()
    assert_streams_like_forward(layer, torch.randn(6, 2, 3, dtype=torch.float64))


@needs_build
def test_inference_mode_and_non_contiguous_input():
    layer = rnn.LSTM(4, 9)
    x = torch.randn(3, 4, 5).transpose(1, 2)   # (T, B, I) = (3, 5, 4) with non-unit inner stride
    with torch.no_grad():
        full, _ = layer(x)
    with compiled_only(), torch.inference_mode():
        ys, _ = step_through(layer, x)
    _bounds.assert_within([ys], [full], float32_bounds(layer, x)[:1])


def test_general_path_where_the_compiled_step_does_not_apply():
    """Gradients wanted, noise drawn in training, another backend, or no compiled kernels: the general
    step runs (and still streams the numbers forward gives)."""
    torch.manual_seed(2)
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    layer = rnn.GRU(3, 5).double()
    ys = []
    state = None
    for t in range(4):                       # grad enabled: a graph to differentiate
        y_t, state = layer.step(x[t], state)
        ys.append(y_t)
    torch.stack(ys).sum().backward()
    assert layer.weight_hh_l0.grad is not None
    noisy = rnn.LSTM(3, 5, recurrent_dropout=0.5).double().train()
    ref = rnn.LSTM(3, 5, backend="reference").double()
    with torch.no_grad():
        assert noisy._stream_step(x[0], None) is None
        assert ref._stream_step(x[0], None) is None
    with pytest.MonkeyPatch.context() as mp:   # no compiled kernels: the general path, same numbers
        mp.setattr(recurrent, "compiled_step", lambda: None)
        with torch.no_grad():
            full, _ = layer(x)
            ys, _ = step_through(layer, x)
        torch.testing.assert_close(ys, full, rtol=0, atol=1e-12)


def test_failed_build_streams_through_the_general_path(monkeypatch):
    monkeypatch.setattr(_loader, "_state", {"loaded": False, "error": "simulated", "module": None})
    assert stream.compiled_step() is None
    layer = rnn.LSTM(3, 4).double()
    x = torch.randn(3, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        full, _ = layer(x)
        ys, _ = step_through(layer, x)
    torch.testing.assert_close(ys, full, rtol=0, atol=1e-12)


@pytest.mark.parametrize("x, state, error, pattern", [
    (torch.randn(2, 4), None, ValueError, r"x_t must have shape \(B, input_size=3\); got \(2, 4\)"),
    (torch.randn(1, 2, 3), None, ValueError, r"x_t must have shape \(B, input_size=3\)"),
    (torch.randn(2, 3, dtype=torch.float64), None, TypeError, r"x_t"),
    (torch.ones(2, 3, dtype=torch.int64), None, TypeError, r"x_t"),
    ([[0.0, 1.0, 2.0]], None, TypeError, r"x_t"),
    (torch.randn(2, 3), torch.randn(1, 2, 4), TypeError, r"hx must be a tuple \(h_0, c_0\)"),
    (torch.randn(2, 3), (torch.randn(1, 3, 4), torch.randn(1, 3, 4)), ValueError, r"h_0"),
])
def test_bad_input_under_no_grad_gets_the_general_error(x, state, error, pattern):
    """What the compiled step does not take goes to the general path, which says what is wrong."""
    layer = rnn.LSTM(3, 4)
    with torch.no_grad(), pytest.raises(error, match=pattern):
        layer.step(x, state)


@needs_build
def test_stream_step_function_declines_what_does_not_fit():
    layer = rnn.LSTM(3, 4)
    weights = list(layer.parameters())
    x = torch.randn(2, 3)
    with torch.no_grad():
        y, (h, c) = stream.stream_step(stream.LSTM, x, None, weights, 1)
        assert y.shape == (2, 4) and h.shape == c.shape == (1, 2, 4)
        assert stream.stream_step(stream.LSTM, x, None, weights[:3], 1) is None             # 3 weights
        assert stream.stream_step(stream.LSTM, x, None, weights, 2) is None                 # 2 layers of 1
        assert stream.stream_step(stream.GRU, x, None, weights, 1) is None                  # LSTM weights
        assert stream.stream_step(stream.LSTM, x.double(), None, weights, 1) is None        # dtype
        assert stream.stream_step(stream.LSTM, x[:0], None, weights, 1) is None             # B = 0
        assert stream.stream_step(stream.LSTM, x, h[:, :1], weights, 1) is None             # not a pair
        assert stream.stream_step(stream.LSTM, x, (h, c[:, :1]), weights, 1) is None        # c_0 shape
        assert stream.stream_step(stream.LSTM, x.half(), None, [w.half() for w in weights], 1) is None
