"""The float32 bound (_bounds.py) is tight enough to catch real bugs: the errors a wrong kernel makes land far
above it, while the compiled kernels stay below it on the same cases.

The wrong kernels are the Python kernels with one classic mistake each: a gate read the wrong way round (LSTM
f = 1 - σ(a_f), GRU's z and 1 - z swapped: both are the gate's pre-activation negated), W_hh used transposed
(Elman), the output written one step late (y_t = h_{t-1}), and the backward loop starting one step late (the
gradient of the last output lost).
"""

from __future__ import annotations

import pytest
import torch

import rnnkit.kernels as py_kernels
import rnnkit.kernels.compiled as compiled
from tests.kernels_fast import _bounds
from tests.kernels_fast import test_compiled_kernels as plain
from tests.kernels_fast import test_compiled_layer_norm as ln

needs_build = pytest.mark.skipif(not compiled.is_available(),
                                 reason=f"compiled kernels unavailable: {compiled.build_error()}")
CAUGHT = 10.0   # a bug must exceed the bound this many times over


def flipped(cell, layer_norm, t):
    """Inputs that make the correct kernel compute the buggy one (the gate rows negated)."""
    H = t[1].shape[1]
    block = {"lstm": slice(H, 2 * H), "gru": slice(H, 2 * H)}[cell]   # LSTM f (i, f, g, o); GRU z (r, z, n)
    first = 3 if cell == "lstm" else 2                                 # W_ih
    if layer_norm:   # G = γ_ih P̂ + β_ih + γ_hh Q̂ + β_hh + b: the norms' gains and shifts, and the biases
        params = [first + 2, first + 3, first + 4, first + 5, first + 6, first + 7]
    else:
        params = [first, first + 1, first + 2, first + 3]
    out = list(t)
    for k in params:
        if out[k] is not None:
            sign = torch.ones_like(out[k])
            sign[block] = -1
            out[k] = out[k] * sign
    return out


def late_output(outs, h0):
    """y_t = h_{t-1}: the output written one step late."""
    y = outs[0]
    return [torch.cat([h0[None], y[:-1]]), *outs[1:]]


def last_gradient_lost(outs):
    """The same values, but no gradient reaches y_{T-1} (the backward loop starts at T-2)."""
    y = outs[0]
    keep = torch.ones_like(y)
    keep[-1] = 0
    return [y.detach() + (y - y.detach()) * keep, *outs[1:]]


def cases():
    return [("lstm", False, 6), ("gru", False, 6), ("elman", False, 6), ("lstm", True, 6), ("gru", True, 6),
            ("lstm", False, 1000)]


@needs_build
@pytest.mark.parametrize("cell, layer_norm, T", cases(), ids=[f"{'ln-' if n else ''}{c}-T{T}" for c, n, T in cases()])
def test_injected_bugs_exceed_the_bound(cell, layer_norm, T):
    module = ln if layer_norm else plain
    inputs, _, _ = module.make_case(cell, torch.float32, T=T, B=4, I=5, H=8, seed=2)
    if T > 100:
        inputs = module.contractive(cell, inputs)
    name = f"layer_norm_{cell}_sequence" if layer_norm else f"{cell}_sequence"
    extra = ["tanh"] if cell == "elman" else []
    fast, slow = getattr(compiled, name), getattr(py_kernels, name)

    def run(fn, transform=lambda t: t, after=lambda outs, t: outs):
        return lambda t: after(list(fn(*transform(t), None, False, *extra)), t)

    bugs = {
        "output one step late": run(slow, after=lambda outs, t: late_output(outs, t[1])),
        "last output's gradient lost": run(slow, after=lambda outs, t: last_gradient_lost(outs)),
    }
    if cell == "elman":
        bugs["W_hh transposed"] = run(slow, transform=lambda t: [*t[:3], t[3].t(), *t[4:]])
    else:
        bugs["gate the wrong way round"] = run(slow, transform=lambda t: flipped(cell, layer_norm, t))
    a, b, bounds, names = _bounds.float32_comparison(run(fast), run(slow), run(slow), inputs)
    _bounds.assert_within(a, b, bounds, names)                  # the compiled kernel: within
    with torch.no_grad():
        weights = _bounds.loss_weights([o.shape for o in run(fast)(inputs)])   # the comparison's own weights
    for bug, wrong in bugs.items():
        caught = _bounds.worst_ratio(_bounds.outputs_and_grads(wrong, inputs, weights), b, bounds)
        assert caught >= CAUGHT, f"{bug}: only {caught:.1f}x the bound"
