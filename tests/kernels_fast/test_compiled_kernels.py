"""The compiled (C++) step loops against the Python kernels: outputs and every gradient, float64 and float32.

Every fast path has a slow reference: here the reference is ``rnnkit.kernels.<cell>_sequence`` (itself
checked against the per-step autograd loop and torch.nn in tests/core). Where the C++ cannot be built the
compiled functions fall back to those kernels, so the comparison tests skip and the fallback tests run.
"""

from __future__ import annotations

import logging
import os

import pytest
import torch

import rnnkit.kernels as py_kernels
import rnnkit.kernels.compiled as compiled
from rnnkit.kernels.compiled import _loader
from tests.kernels_fast import _bounds

CELLS = {"lstm": 4, "gru": 3, "elman": 1}
TOL64 = 1e-10   # float64: where the kernels' correctness is checked; float32 gets a derived bound (_bounds.py)

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


def assert_float32_agrees(cell, inputs, mask, reverse, kw, nonlinearity="tanh", *, grad=True):
    """Compiled vs Python kernel in float32, outputs and (grad=True) every gradient, each within the bound
    derived for this very case from the float64 Python kernel (_bounds.py). Returns the worst ratio to it."""
    fast, slow = getattr(compiled, f"{cell}_sequence"), getattr(py_kernels, f"{cell}_sequence")
    wide_kw = {name: _bounds.wide(v) for name, v in kw.items()}
    return _bounds.assert_float32_agrees(
        lambda t: call(fast, cell, t, mask, reverse, kw, nonlinearity),
        lambda t: call(slow, cell, t, mask, reverse, kw, nonlinearity),
        lambda t: call(slow, cell, t, _bounds.wide(mask), reverse, wide_kw, nonlinearity),
        inputs, grad=grad)


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
    if dtype == torch.float32:
        assert_float32_agrees(cell, inputs, mask, reverse, kw)
        return
    out_fast, grad_fast = outputs_and_grads(fast, cell, inputs, mask, reverse, kw)
    out_slow, grad_slow = outputs_and_grads(slow, cell, inputs, mask, reverse, kw)
    for a, b in zip([*out_fast, *grad_fast], [*out_slow, *grad_slow]):
        torch.testing.assert_close(a, b, rtol=TOL64, atol=TOL64)


def contractive(cell, inputs, radius=0.8):
    """W_hh rescaled to spectral radius ~radius: over a long sequence a chaotic layer amplifies the rounding
    differences of two correct float32 implementations past any bound (_bounds.assert_meaningful says so)."""
    k = 4 if cell == "lstm" else 3
    W_hh = inputs[k].detach()
    inputs[k] = (W_hh * (radius / (0.4 * W_hh.shape[1] ** 0.5))).requires_grad_()
    return inputs


@needs_build
@pytest.mark.slow
@pytest.mark.parametrize("cell", list(CELLS))
def test_long_sequence_float32_within_the_bound(cell):
    """T = 1000, lengths 1000 / 1 / 998 / 3, the batch split across threads: each step's rounding is carried
    through up to a thousand later ones, forward and back; the bound measures how much (_bounds.py)."""
    inputs, mask, kw = make_case(cell, torch.float32, T=1000, B=4, I=5, H=16, lengths=True, seed=1)
    assert_float32_agrees(cell, contractive(cell, inputs), mask, False, kw)


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
    assert not any(a.requires_grad for a in fast)
    assert_float32_agrees(cell, inputs, mask, reverse, kw, grad=False)


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


# ---------------------------------------------------------------------------------------------------
# the build target ($RNNKIT_MARCH) and the cache key


def test_target_and_cpu_are_part_of_the_library_name(monkeypatch):
    names = {}
    for target in ("native", "x86-64-v2", "x86-64-v3"):
        monkeypatch.setenv("RNNKIT_MARCH", target)
        names[target] = _loader._library_name(_loader._flags())
    monkeypatch.delenv("RNNKIT_MARCH")
    assert _loader._library_name(_loader._flags()) == names["native"]            # native is the default
    monkeypatch.setattr(_loader, "_cpu_signature", lambda: "model name : another CPU\nflags : sse2\n")
    names["another CPU"] = _loader._library_name(_loader._flags())
    assert len(set(names.values())) == len(names), names


def test_a_library_built_for_another_target_or_cpu_is_never_loaded(monkeypatch, tmp_path, capsys):
    """Libraries for another -march target and for another CPU lie in the cache; loading for this one imports
    neither (it builds its own, and says so in one line: the build takes ~30 s)."""
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path))
    foreign = []
    monkeypatch.setenv("RNNKIT_MARCH", "x86-64-v2")
    foreign.append(_loader._library_name(_loader._flags()))
    monkeypatch.delenv("RNNKIT_MARCH")
    with monkeypatch.context() as m:
        m.setattr(_loader, "_cpu_signature", lambda: "model name : another CPU\nflags : sse2\n")
        foreign.append(_loader._library_name(_loader._flags()))
    for name in foreign:
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.so").write_bytes(b"not for this CPU")
    imported, built = [], []
    monkeypatch.setattr(_loader, "_import", lambda name, path: imported.append(path))
    import torch.utils.cpp_extension as cpp_extension

    monkeypatch.setattr(cpp_extension, "load", lambda name, **kw: built.append(name) or "built")
    assert _loader._load() == "built"
    own = _loader._library_name(_loader._flags())
    assert built == [own] and own not in foreign and imported == []
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and said[0].startswith("rnnkit: building the compiled RNN kernels") and own in said[0]


@pytest.mark.parametrize("value", ["native -O0", "-march=native", "x86-64-v3;rm", ""])
def test_malformed_target_is_refused_with_a_note(monkeypatch, caplog, value):
    monkeypatch.setenv("RNNKIT_MARCH", value)
    if not value:   # empty: the default
        assert _loader.march() == "native"
        return
    monkeypatch.setattr(_loader, "_state", {"loaded": None, "error": None, "module": None})
    with caplog.at_level(logging.WARNING, logger="rnnkit.kernels.compiled"):
        assert not compiled.is_available()
    assert "RNNKIT_MARCH must name one -march target" in compiled.build_error()
    assert any("RNNKIT_MARCH" in r.getMessage() for r in caplog.records)


def test_target_with_instructions_this_cpu_lacks_is_refused(monkeypatch):
    macros = {"native": {"__SSE2__", "__AVX2__"}, "bigger": {"__SSE2__", "__AVX2__", "__AVX512F__"},
              "smaller": {"__SSE2__"}}
    monkeypatch.setattr(_loader, "_isa_macros", lambda target: macros[target])
    _loader._check_target_runs_here("smaller")
    with pytest.raises(ValueError, match=r"RNNKIT_MARCH='bigger' uses instructions this CPU lacks \(__AVX512F__\)"):
        _loader._check_target_runs_here("bigger")


@needs_build
def test_unknown_target_is_refused_by_name():
    with pytest.raises(ValueError, match=r"RNNKIT_MARCH='x86-64-v9' is not a target the compiler knows"):
        _loader._check_target_runs_here("x86-64-v9")


@needs_build
def test_the_library_was_built_for_the_requested_target():
    """What the compiler may use for $RNNKIT_MARCH (default native) is what the loaded library was built with:
    CI runs these tests for native and for a portable target (.ci/run)."""
    checked = {"__SSE4_2__", "__AVX__", "__AVX2__", "__FMA__", "__AVX512F__"}
    assert set(_loader.module().build_isa()) == _loader._isa_macros(_loader.march()) & checked


@pytest.mark.skipif(not os.environ.get("RNNKIT_REQUIRE_COMPILED"), reason="RNNKIT_REQUIRE_COMPILED not set")
def test_required_build_is_available():
    """CI's run for a portable target sets RNNKIT_REQUIRE_COMPILED: a failed build must fail it, not skip it."""
    assert compiled.is_available(), compiled.build_error()
