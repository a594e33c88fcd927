"""Subnormal floats in the compiled kernels (denormals.h): flushed to zero inside every call, the caller's
floating-point mode untouched after it, on the calling thread and on the worker threads.

The results with subnormals flushed stay within the float32 bounds: the long-sequence cases (T = 1000) in
test_compiled_kernels.py and test_compiled_layer_norm.py run ``subnormal_case``'s inputs.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys

import pytest
import torch

import rnnkit.kernels as py_kernels
import rnnkit.kernels.compiled as compiled
from rnnkit.kernels.compiled import stream
from tests.kernels_fast import test_compiled_kernels as plain
from tests.kernels_fast import test_compiled_layer_norm as ln

needs_build = pytest.mark.skipif(not compiled.is_available(),
                                 reason=f"compiled kernels unavailable: {compiled.build_error()}")
FLT_MIN = 2.0 ** -126
GATES = {"lstm": 4, "gru": 3, "elman": 1}


def flushing():
    """(calling thread flushes, a worker thread flushes): a float64 -> float32 conversion of 3e-39 (a subnormal
    float32) split across the intra-op threads, the first half on the calling thread."""
    probe = torch.full((1 << 20,), 3e-39, dtype=torch.float64).float()
    half = probe.numel() // 2
    return bool((probe[:half] == 0).all()), bool((probe[half:] == 0).all())


@contextlib.contextmanager
def flush_denormal(mode):
    torch.set_flush_denormal(mode)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def subnormals(t):
    return int(((t != 0) & (t.abs() < FLT_MIN)).sum())


def subnormal_case(cell, *, T=400, B=8, I=3, H=8, layer_norm=False, seed=0):
    """float32 inputs (contractive W_hh) whose Python kernel's outputs hold subnormals, built per cell:

    * LSTM, LayerNorm-LSTM: the o gate of half the units saturated, σ(-88) ≈ 6e-39: h = o tanh(·) is
      subnormal at every step (γ_hh 0.5: see test_compiled_layer_norm.contractive);
    * GRU, Elman: the input falls silent after T/4 and the biases are 0, so the state decays through the
      subnormal range (to 1e-38 after ~170 steps for the GRU, ~75 for the Elman cell);
    * LayerNorm-GRU (which renormalises a decaying state): n ≡ 0 (γ_ih of its block 0, γ_hh 0) and h_0 ≠ 0,
      so h_t = z_t h_{t-1} decays from the start; with γ_hh = 0 the norm of W_hh h_{t-1}, whose variance
      passes ε on the way down (a 1/σ of up to 316), leaves the result alone.
    """
    g = torch.Generator().manual_seed(seed)
    G = GATES[cell] * H
    x = torch.randn(T, B, I, generator=g)
    b_ih = torch.zeros(G)
    state = [torch.zeros(B, H) for _ in range(2 if cell == "lstm" else 1)]
    gamma_ih, gamma_hh = torch.ones(G), torch.ones(G)
    if cell == "lstm":
        b_ih[3 * H:3 * H + H // 2] = -88.0                      # gates i, f, g, o
        gamma_hh *= 0.5                                          # LayerNorm-LSTM: forgets (not chaotic) at 0.5
    elif layer_norm:
        gamma_ih[2 * H:] = 0                                     # gates r, z, n
        gamma_hh.zero_()
        state = [torch.randn(B, H, generator=g)]
    else:
        x[T // 4:] = 0
    W_ih = torch.randn(G, I, generator=g)
    W_hh = torch.randn(G, H, generator=g) * ((0.3 if cell == "elman" else 0.8) / H ** 0.5)
    inputs = [x, *state, W_ih, W_hh, b_ih, torch.zeros(G)]
    if layer_norm:
        inputs += [gamma_ih, torch.zeros(G), gamma_hh, torch.zeros(G)]
        if cell == "lstm":
            inputs += [torch.ones(H), torch.zeros(H)]
    return [t.requires_grad_() for t in inputs]


def kernel_calls():
    """Every compiled entry point once: forward and backward of each sequence kernel, the inference paths, the
    streaming step (H 200: split across threads)."""
    calls = []
    for cell in GATES:
        for layer_norm in ([False, True] if cell != "elman" else [False]):
            name = f"layer_norm_{cell}_sequence" if layer_norm else f"{cell}_sequence"
            inputs = subnormal_case(cell, T=40, layer_norm=layer_norm)
            extra = ["tanh"] if cell == "elman" else []
            fn = getattr(compiled, name)

            def train(fn=fn, inputs=inputs, extra=extra):
                out = fn(*inputs, None, False, *extra)
                sum(o.sum() for o in out).backward()

            def infer(fn=fn, inputs=inputs, extra=extra):
                with torch.no_grad():
                    fn(*inputs, None, False, *extra)

            calls += [(f"{name} train", train), (f"{name} infer", infer)]
    layer = torch.nn.LSTM(24, 200, num_layers=2)

    def step():
        with torch.no_grad():
            assert stream.stream_step(stream.LSTM, torch.full((1, 24), 1e-39), None, list(layer.parameters()), 2)

    return calls + [("stream_step", step)]


@needs_build
@pytest.mark.parametrize("mode", [False, True], ids=["caller-keeps-subnormals", "caller-flushes"])
def test_the_callers_mode_is_restored(mode):
    threads = torch.get_num_threads()
    with flush_denormal(mode):
        assert flushing()[0] == mode and (threads < 2 or not flushing()[1])   # the probe sees what was set
        for name, run in kernel_calls():
            run()
            assert flushing()[0] == mode, f"{name} left the calling thread's mode changed"
            if threads > 1:
                assert not flushing()[1], f"{name} left a worker thread flushing subnormals"


FRESH_PROCESS = """
import torch, rnnkit.kernels.compiled as compiled
from rnnkit.kernels.compiled import stream
torch.set_num_threads(2)
with torch.no_grad():
    if {stream!r}:
        layer = torch.nn.LSTM(24, 200)
        stream.stream_step(stream.LSTM, torch.randn(1, 24), None, list(layer.parameters()), 1)
    else:
        x, h = torch.randn(5, 8, 3), torch.zeros(8, 4)
        compiled.lstm_sequence(x, h, h, torch.randn(16, 3), torch.randn(16, 4), None, None)
probe = torch.full((1 << 20,), 3e-39, dtype=torch.float64).float()
print(bool((probe == 0).any()))
"""


@needs_build
@pytest.mark.parametrize("entry", ["sequence", "stream"])
def test_pool_threads_born_during_a_call_keep_the_callers_mode(entry):
    """In a fresh process the first parallel region is the kernel's own: the pool's threads must not be
    started while the calling thread flushes (a new thread inherits its creator's mode; denormals.h)."""
    out = subprocess.run([sys.executable, "-c", FRESH_PROCESS.format(stream=entry == "stream")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "a worker thread flushes subnormals after the first kernel call"


@needs_build
@pytest.mark.parametrize("cell, layer_norm", [("lstm", False), ("gru", False), ("elman", False), ("lstm", True),
                                              ("gru", True)])
def test_subnormals_are_flushed_inside(cell, layer_norm):
    """The Python kernel's outputs hold subnormals, the compiled kernel's none (also on the worker threads:
    B = 8 is split); both sides within the float32 bound is checked in the long-sequence tests."""
    name = f"layer_norm_{cell}_sequence" if layer_norm else f"{cell}_sequence"
    inputs = subnormal_case(cell, layer_norm=layer_norm)
    extra = ["tanh"] if cell == "elman" else []
    with torch.no_grad():
        slow = getattr(py_kernels, name)(*inputs, None, False, *extra)
    fast = getattr(compiled, name)(*inputs, None, False, *extra)   # training path (forward kernel)
    assert subnormals(slow[0]) > 0, "the case should put subnormals in the Python kernel's outputs"
    assert subnormals(fast[0]) == 0


@needs_build
@pytest.mark.slow
@pytest.mark.parametrize("cell, layer_norm", [("lstm", False), ("gru", False), ("elman", False), ("lstm", True),
                                              ("gru", True)])
def test_long_sequence_with_subnormals_within_the_bound(cell, layer_norm):
    """T = 1000 with subnormals in the Python kernel's float32 values, flushed in the compiled kernel's: outputs
    and every gradient within the float32 bound (_bounds.py: the flushing moves values by < FLT_MIN)."""
    inputs = [t.detach().requires_grad_() for t in subnormal_case(cell, T=1000, B=4, H=8, layer_norm=layer_norm)]
    name = f"layer_norm_{cell}_sequence" if layer_norm else f"{cell}_sequence"
    extra = ["tanh"] if cell == "elman" else []
    with torch.no_grad():
        assert subnormals(getattr(py_kernels, name)(*inputs, None, False, *extra)[0]) > 0
    if layer_norm:
        ln.assert_float32_agrees(cell, inputs, None, False, {})
    else:
        plain.assert_float32_agrees(cell, inputs, None, False, {})
