"""The compiled (C++) step loops against the Python kernels: outputs and every gradient, float64 and float32.

Every fast path has a slow reference: here the reference is ``rnnkit.kernels.<cell>_sequence`` (itself
checked against the per-step autograd loop and torch.nn in tests/core). Where the C++ cannot be built the
compiled functions fall back to those kernels, so the comparison tests skip and the fallback tests run.
"""

from __future__ import annotations

import logging

import pytest
import torch

import rnnkit.kernels as py_kernels
import rnnkit.kernels.compiled as compiled
from rnnkit.kernels.compiled import _loader

CELLS = {"lstm": 4, "gru": 3, "elman": 1}
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}

needs_build = pytest.mark.skipif(not compiled.is_available(),
                                 reason=f"compiled kernels unavailable: {compiled.build_error()}")


def make_case(cell, dtype, *, T=6, B=5, I=3, H=4, lengths=False, dropout=False, zoneout=False, bias=True, seed=0):
    """Random inputs for one kernel call: (differentiable tensors, mask, keyword options)."""
    g = torch.Generator().manual_seed(seed)
    G = CELLS[cell] * H

    def rnd(*shape, scale=1.0):
        return (scale * torch.randn(*shape, generator=g, dtype=dtype)).requires_grad_()

    x, h0 = rnd(T, B, I), rnd(B, H)
    weights = [rnd(G, I), rnd(G, H, scale=0.4)]
    biases = [rnd(G), rnd(G)] if bias else [None, None]
    state = [h0, rnd(B, H)] if cell == "lstm" else [h0]
    mask = None
    if lengths:
        ends = torch.tensor([T, 1, T - 2, 3, T][:B])
        mask = (torch.arange(T)[:, None] < ends[None, :]).to(dtype)   # (T, B)
    kw = {}
    if dropout:
        kw["recurrent_mask"] = (torch.rand(B, H, generator=g) > 0.25).to(dtype) / 0.75
    if zoneout:
        kw["zoneout_h"] = (torch.rand(T, B, H, generator=g) < 0.3).to(dtype)
        if cell == "lstm":
            kw["zoneout_c"] = (torch.rand(T, B, H, generator=g) < 0.3).to(dtype)
    return [x, *state, *weights, *biases], mask, kw


def call(fn, cell, inputs, mask, reverse, kw, nonlinearity="tanh"):
    extra = [nonlinearity] if cell == "elman" else []
    return fn(*inputs, mask, reverse, *extra, **kw)


def outputs_and_grads(fn, cell, inputs, mask, reverse, kw, nonlinearity="tanh"):
    outs = call(fn, cell, inputs, mask, reverse, kw, nonlinearity)
    g = torch.Generator().manual_seed(123)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outs)
    wrt = [t for t in inputs if t is not None and t.requires_grad]
    return [o.detach() for o in outs], torch.autograd.grad(loss, wrt)


@needs_build
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("options", ["plain", "lengths", "dropout+zoneout+lengths", "no-bias"])
def test_matches_python_kernel(cell, dtype, reverse, options):
    inputs, mask, kw = make_case(cell, dtype, lengths="lengths" in options, dropout="dropout" in options,
                                 zoneout="zoneout" in options, bias=options != "no-bias")
    fast = getattr(compiled, f"{cell}_sequence")
    slow = getattr(py_kernels, f"{cell}_sequence")
    out_fast, grad_fast = outputs_and_grads(fast, cell, inputs, mask, reverse, kw)
    out_slow, grad_slow = outputs_and_grads(slow, cell, inputs, mask, reverse, kw)
    tol = TOL[dtype]
    for a, b in zip(out_fast, out_slow):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)
    for a, b in zip(grad_fast, grad_slow):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@needs_build
def test_elman_relu_matches_python_kernel():
    inputs, mask, kw = make_case("elman", torch.float64, lengths=True)
    out_fast, grad_fast = outputs_and_grads(compiled.elman_sequence, "elman", inputs, mask, False, kw, "relu")
    out_slow, grad_slow = outputs_and_grads(py_kernels.elman_sequence, "elman", inputs, mask, False, kw, "relu")
    for a, b in zip([*out_fast, *grad_fast], [*out_slow, *grad_slow]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@needs_build
@pytest.mark.parametrize("cell", list(CELLS))
def test_batch_split_across_threads_matches(cell):
    """A batch large enough to be split across threads gives the same numbers as the Python kernel."""
    inputs, mask, kw = make_case(cell, torch.float64, T=9, B=37, I=5, H=16, lengths=False, dropout=True)
    out_fast, grad_fast = outputs_and_grads(getattr(compiled, f"{cell}_sequence"), cell, inputs, mask, True, kw)
    out_slow, grad_slow = outputs_and_grads(getattr(py_kernels, f"{cell}_sequence"), cell, inputs, mask, True, kw)
    for a, b in zip([*out_fast, *grad_fast], [*out_slow, *grad_slow]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@needs_build
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("options", ["lengths", "dropout+zoneout+lengths"])
def test_gradcheck(cell, options):
    inputs, mask, kw = make_case(cell, torch.float64, T=4, B=3, I=2, H=3, lengths=True,
                                 dropout="dropout" in options, zoneout="zoneout" in options)
    fn = getattr(compiled, f"{cell}_sequence")

    def f(*tensors):
        return call(fn, cell, list(tensors), mask, False, kw)

    assert torch.autograd.gradcheck(f, tuple(inputs), eps=1e-6, atol=1e-7)


@needs_build
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("options", ["plain", "lengths+reverse", "zoneout", "no-bias"])
def test_inference_path_matches(cell, options):
    """Under no_grad the functions skip the autograd node (and, without noise, run as one C++ call)."""
    inputs, mask, kw = make_case(cell, torch.float32, lengths="lengths" in options, zoneout=options == "zoneout",
                                 bias=options != "no-bias")
    reverse = "reverse" in options
    with torch.no_grad():
        fast = call(getattr(compiled, f"{cell}_sequence"), cell, inputs, mask, reverse, kw)
        slow = call(getattr(py_kernels, f"{cell}_sequence"), cell, inputs, mask, reverse, kw)
    for a, b in zip(fast, slow):
        assert not a.requires_grad
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@needs_build
@pytest.mark.parametrize("cell", list(CELLS))
def test_streaming_one_step_per_call_matches_sequence(cell):
    """B=1, T=1 calls fed their own state back equal one call over the whole sequence (the W4 use)."""
    inputs, _, _ = make_case(cell, torch.float64, B=1)
    x, state, params = inputs[0], inputs[1:-4], inputs[-4:]
    fn = getattr(compiled, f"{cell}_sequence")
    with torch.no_grad():
        whole = call(fn, cell, [x, *state, *params], None, False, {})
        s = list(state)
        ys = []
        for t in range(x.shape[0]):
            out = call(fn, cell, [x[t:t + 1], *s, *params], None, False, {})
            ys.append(out[0])
            s = list(out[1:])
    torch.testing.assert_close(torch.cat(ys), whole[0], rtol=1e-12, atol=1e-12)
    for a, b in zip(s, whole[1:]):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@needs_build
def test_only_some_inputs_need_grad():
    inputs, mask, kw = make_case("lstm", torch.float64, lengths=True)
    frozen = [t.detach() if k in (0, 3) else t for k, t in enumerate(inputs)]   # x and W_ih frozen
    out_fast, grad_fast = outputs_and_grads(compiled.lstm_sequence, "lstm", frozen, mask, False, kw)
    out_slow, grad_slow = outputs_and_grads(py_kernels.lstm_sequence, "lstm", frozen, mask, False, kw)
    for a, b in zip([*out_fast, *grad_fast], [*out_slow, *grad_slow]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------------------------------
# fallback


@pytest.fixture
def broken_build(monkeypatch):
    """Pretend the C++ build fails: a fresh loader state whose build raises."""
    def fail():
        raise RuntimeError("Error building extension: no compiler (simulated)")

    monkeypatch.delenv("RNNKIT_DISABLE_COMPILED", raising=False)
    monkeypatch.setattr(_loader, "_state", {"loaded": None, "error": None})
    monkeypatch.setattr(_loader, "_load", fail)


@pytest.mark.parametrize("cell", list(CELLS))
def test_failed_build_falls_back_to_python_kernel(broken_build, caplog, cell):
    inputs, mask, kw = make_case(cell, torch.float64, lengths=True)
    with caplog.at_level(logging.WARNING, logger="rnnkit.kernels.compiled"):
        out_fast, grad_fast = outputs_and_grads(getattr(compiled, f"{cell}_sequence"), cell, inputs, mask, False, kw)
        outputs_and_grads(getattr(compiled, f"{cell}_sequence"), cell, inputs, mask, False, kw)
    out_slow, grad_slow = outputs_and_grads(getattr(py_kernels, f"{cell}_sequence"), cell, inputs, mask, False, kw)
    for a, b in zip([*out_fast, *grad_fast], [*out_slow, *grad_slow]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not compiled.is_available()
    assert "simulated" in compiled.build_error()
    notes = [r for r in caplog.records if r.name == "rnnkit.kernels.compiled"]
    assert len(notes) == 1, "the fallback is announced once, not per call"


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setattr(_loader, "_state", {"loaded": None, "error": None})
    monkeypatch.setenv("RNNKIT_DISABLE_COMPILED", "1")
    assert not compiled.is_available()
    assert "RNNKIT_DISABLE_COMPILED" in compiled.build_error()


def test_unusable_cache_uses_a_temporary_folder(monkeypatch, tmp_path):
    """A cache path that cannot be a folder (here: a file; elsewhere: read-only) costs a rebuild, no error."""
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(not_a_dir))
    path = _loader._build_dir("tag")
    assert not path.startswith(str(not_a_dir)) and "rnnkit-tag-" in path


def test_missing_cache_dir_is_created(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path / "not" / "yet"))
    path = _loader._build_dir("tag")
    assert path.startswith(str(tmp_path / "not" / "yet"))
