"""The compiled layer-normalised kernels against the Python ones: outputs and every gradient.

The reference is ``rnnkit.kernels.layer_norm_lstm_sequence`` (hand-derived BPTT, itself checked against
autograd in tests/core). Where the C++ cannot be built the compiled function falls back to that kernel,
so the comparison tests skip and the fallback test runs.
"""

from __future__ import annotations

import logging

import pytest
import torch

import rnnkit.kernels as py_kernels
import rnnkit.kernels.compiled as compiled
from rnnkit.kernels.compiled import _loader

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}

needs_build = pytest.mark.skipif(not compiled.is_available(),
                                 reason=f"compiled kernels unavailable: {compiled.build_error()}")


def make_case(dtype, *, T=6, B=5, I=3, H=4, lengths=False, dropout=False, zoneout=False, bias=True, seed=0):
    """Random inputs for one LN-LSTM call: (x, h0, c0, W_ih, W_hh, b_ih, b_hh, γ/β_ih, γ/β_hh, γ/β_c), mask, kw."""
    g = torch.Generator().manual_seed(seed)
    G = 4 * H

    def rnd(*shape, scale=1.0, shift=0.0):
        return (shift + scale * torch.randn(*shape, generator=g, dtype=dtype)).requires_grad_()

    x, h0, c0 = rnd(T, B, I), rnd(B, H), rnd(B, H)
    weights = [rnd(G, I), rnd(G, H, scale=0.4)]
    biases = [rnd(G), rnd(G)] if bias else [None, None]
    norms = [rnd(G, scale=0.3, shift=1.0), rnd(G, scale=0.3), rnd(G, scale=0.3, shift=1.0), rnd(G, scale=0.3),
             rnd(H, scale=0.3, shift=1.0), rnd(H, scale=0.3)]
    mask = None
    if lengths:
        ends = torch.tensor([T, 1, T - 2, 3, T] * (B // 5 + 1))[:B]
        mask = (torch.arange(T)[:, None] < ends[None, :]).to(dtype)   # (T, B)
    kw = {}
    if dropout:
        kw["recurrent_mask"] = (torch.rand(B, H, generator=g) > 0.25).to(dtype) / 0.75
    if zoneout:
        kw["zoneout_h"] = (torch.rand(T, B, H, generator=g) < 0.3).to(dtype)
        kw["zoneout_c"] = (torch.rand(T, B, H, generator=g) < 0.3).to(dtype)
    return [x, h0, c0, *weights, *biases, *norms], mask, kw


def outputs_and_grads(fn, inputs, mask, reverse, kw):
    outs = fn(*inputs, mask, reverse, **kw)
    g = torch.Generator().manual_seed(123)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outs)
    wrt = [t for t in inputs if t is not None and t.requires_grad]
    return [o.detach() for o in outs], torch.autograd.grad(loss, wrt)


def assert_agree(inputs, mask, reverse, kw, tol):
    out_fast, grad_fast = outputs_and_grads(compiled.layer_norm_lstm_sequence, inputs, mask, reverse, kw)
    out_slow, grad_slow = outputs_and_grads(py_kernels.layer_norm_lstm_sequence, inputs, mask, reverse, kw)
    assert len(grad_fast) == len(grad_slow)
    for a, b in zip([*out_fast, *grad_fast], [*out_slow, *grad_slow]):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@needs_build
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("options", ["plain", "lengths", "dropout+lengths", "no-bias"])
def test_layer_norm_lstm_matches_python_kernel(dtype, reverse, options):
    inputs, mask, kw = make_case(dtype, lengths="lengths" in options, dropout="dropout" in options,
                                 bias=options != "no-bias")
    assert_agree(inputs, mask, reverse, kw, TOL[dtype])


@needs_build
def test_layer_norm_lstm_batch_split_across_threads_matches():
    """A batch large enough to be split across threads (each thread sums its own dγ, dβ) agrees too."""
    inputs, mask, kw = make_case(torch.float64, T=9, B=37, I=5, H=16, lengths=True, dropout=True)
    assert_agree(inputs, mask, True, kw, 1e-10)


def test_layer_norm_lstm_zoneout_runs_the_python_kernel():
    """Zoneout is not compiled: the call is the Python kernel's, bit for bit."""
    inputs, mask, kw = make_case(torch.float64, lengths=True, zoneout=True)
    out_fast, grad_fast = outputs_and_grads(compiled.layer_norm_lstm_sequence, inputs, mask, False, kw)
    out_slow, grad_slow = outputs_and_grads(py_kernels.layer_norm_lstm_sequence, inputs, mask, False, kw)
    for a, b in zip([*out_fast, *grad_fast], [*out_slow, *grad_slow]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@needs_build
def test_layer_norm_lstm_only_some_inputs_need_grad():
    inputs, mask, kw = make_case(torch.float64, lengths=True)
    frozen = [t.detach() if k in (0, 3, 7) else t for k, t in enumerate(inputs)]   # x, W_ih, γ_ih frozen
    assert_agree(frozen, mask, False, kw, 1e-10)


@needs_build
@pytest.mark.parametrize("options", ["lengths", "dropout+lengths+reverse"])
def test_layer_norm_lstm_gradcheck(options):
    inputs, mask, kw = make_case(torch.float64, T=4, B=3, I=2, H=3, lengths=True, dropout="dropout" in options)
    reverse = "reverse" in options

    def f(*tensors):
        return compiled.layer_norm_lstm_sequence(*tensors, mask, reverse, **kw)

    assert torch.autograd.gradcheck(f, tuple(inputs), eps=1e-6, atol=1e-7)


@needs_build
@pytest.mark.parametrize("options", ["plain", "lengths+reverse", "dropout", "no-bias"])
def test_layer_norm_lstm_inference_path_matches(options):
    """Under no_grad the function builds no autograd node."""
    inputs, mask, kw = make_case(torch.float32, lengths="lengths" in options, dropout=options == "dropout",
                                 bias=options != "no-bias")
    reverse = "reverse" in options
    with torch.no_grad():
        fast = compiled.layer_norm_lstm_sequence(*inputs, mask, reverse, **kw)
        slow = py_kernels.layer_norm_lstm_sequence(*inputs, mask, reverse, **kw)
    for a, b in zip(fast, slow):
        assert not a.requires_grad
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_layer_norm_lstm_falls_back_when_the_build_fails(monkeypatch, caplog):
    def fail():
        raise RuntimeError("Error building extension: no compiler (simulated)")

    monkeypatch.delenv("RNNKIT_DISABLE_COMPILED", raising=False)
    monkeypatch.setattr(_loader, "_state", {"loaded": None, "error": None})
    monkeypatch.setattr(_loader, "_load", fail)
    inputs, mask, kw = make_case(torch.float64, lengths=True, dropout=True)
    with caplog.at_level(logging.WARNING, logger="rnnkit.kernels.compiled"):
        out_fast, grad_fast = outputs_and_grads(compiled.layer_norm_lstm_sequence, inputs, mask, True, kw)
    out_slow, grad_slow = outputs_and_grads(py_kernels.layer_norm_lstm_sequence, inputs, mask, True, kw)
    for a, b in zip([*out_fast, *grad_fast], [*out_slow, *grad_slow]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not compiled.is_available()
    assert "simulated" in compiled.build_error()
