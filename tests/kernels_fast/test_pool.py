"""The buffer pool behind the compiled kernels' large outputs (pool.h): reused buffers hold the previous
call's numbers, so every kernel must write all of its output; these cases run shapes large enough to be
pooled (>= 1 MB), twice with different inputs, and compare outputs and gradients with the Python kernels."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

import rnnkit.kernels as py_kernels
import rnnkit.kernels.compiled as compiled
from tests.kernels_fast import test_compiled_kernels as plain
from tests.kernels_fast import test_compiled_layer_norm as ln

needs_build = pytest.mark.skipif(not compiled.is_available(),
                                 reason=f"compiled kernels unavailable: {compiled.build_error()}")
# float64 (T, B, G) >= 1 MB: pooled (LSTM (T, B, 4H) 1.2 MB, GRU (T, B, 3H) 1.4 MB, Elman (T, B, H) 1.1 MB)
BIG = {"lstm": {"T": 60, "B": 5, "I": 8, "H": 128}, "gru": {"T": 60, "B": 5, "I": 8, "H": 192},
       "elman": {"T": 60, "B": 5, "I": 8, "H": 448}}


def contractive(cell, inputs):
    """W_hh scaled to spectral radius ~0.8: 60 steps of a chaotic layer would amplify the rounding
    differences of two correct implementations past any tolerance."""
    k = 4 if cell == "lstm" else 3
    W_hh = inputs[k].detach()
    inputs[k] = (W_hh * (0.8 / (0.4 * W_hh.shape[1] ** 0.5))).requires_grad_()
    return inputs


@needs_build
@pytest.mark.parametrize("cell", list(plain.CELLS))
def test_reused_buffers_give_the_python_kernels_numbers(cell):
    before = compiled.pool_stats()
    for seed, options in ((0, {}), (1, {"lengths": True}), (2, {"dropout": True, "zoneout": True})):
        inputs, mask, kw = plain.make_case(cell, torch.float64, seed=seed, **BIG[cell], **options)
        inputs = contractive(cell, inputs)
        fast = plain.outputs_and_grads(getattr(compiled, f"{cell}_sequence"), cell, inputs, mask, seed == 1, kw)
        slow = plain.outputs_and_grads(getattr(py_kernels, f"{cell}_sequence"), cell, inputs, mask, seed == 1, kw)
        for a, b in zip([*fast[0], *fast[1]], [*slow[0], *slow[1]]):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    after = compiled.pool_stats()
    assert after["reused"] > before["reused"], "the second and third calls should reuse the first one's buffers"


@needs_build
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_reused_buffers_in_the_layer_norm_kernels(cell):
    for seed in (0, 1):
        inputs, mask, kw = ln.make_case(cell, torch.float64, seed=seed, lengths=seed == 1, **BIG[cell])
        inputs = contractive(cell, inputs)
        ln.assert_agree(cell, inputs, mask, seed == 1, kw, 1e-10)


@needs_build
def test_empty_cache_frees_what_the_pool_holds():
    inputs, mask, kw = plain.make_case("lstm", torch.float64, **BIG["lstm"])
    plain.outputs_and_grads(compiled.lstm_sequence, "lstm", inputs, mask, False, kw)
    assert compiled.pool_stats()["cached_bytes"] > 0      # everything the call allocated came back
    assert compiled.empty_cache() > 0
    assert compiled.pool_stats()["cached_bytes"] == 0


@needs_build
def test_pool_can_be_turned_off():
    code = ("import torch, rnnkit.kernels.compiled as c\n"
            "x = torch.randn(60, 5, 8, dtype=torch.float64); h = torch.zeros(5, 128, dtype=torch.float64)\n"
            "W_ih = torch.randn(512, 8, dtype=torch.float64); W_hh = torch.randn(512, 128, dtype=torch.float64)\n"
            "with torch.no_grad(): c.lstm_sequence(x, h, h, W_ih, W_hh, None, None)\n"
            "print(c.pool_stats()['allocated'])\n")
    env = {**os.environ, "RNNKIT_POOL_MB": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_without_compiled_kernels_the_pool_is_empty(monkeypatch):
    from rnnkit.kernels.compiled import _loader

    monkeypatch.setattr(_loader, "_state", {"loaded": False, "error": "simulated", "module": None})
    assert compiled.empty_cache() == 0
    assert compiled.pool_stats() == {"cached_bytes": 0, "reused": 0, "allocated": 0}
