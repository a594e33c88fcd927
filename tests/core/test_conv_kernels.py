"""The ConvLSTM / ConvGRU kernels: float64 gradcheck, equality with the per-step autograd reference (outputs,
final states and every gradient), a float32 comparison within a derived bound, and masking invariance."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit.cells.conv_steps import conv_gru_step, conv_lstm_step
from rnnkit.cells.loop import run_steps
from rnnkit.kernels.conv_gru import conv_gru_sequence
from rnnkit.kernels.conv_lstm import conv_lstm_sequence
from tests.kernels_fast._bounds import FACTOR, FLT_MIN, perturbation

T, B, C, Y, X, H = 3, 2, 2, 5, 5, 3
LENGTHS = torch.tensor([2, 3])


def _mask(lengths, dtype=torch.float64):
    return (torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)).to(dtype)   # (T, B)


def _leaf(*shape, scale=1.0, dtype=torch.float64, generator=None):
    return (scale * torch.randn(*shape, dtype=dtype, generator=generator)).requires_grad_()


def _inputs(cell, k, bias, peephole, dtype=torch.float64, seed=0):
    """x, states, weights of one layer-direction; None for the parts a configuration leaves out."""
    g = torch.Generator().manual_seed(seed)
    G = (4 if cell == "lstm" else 3) * H
    x = _leaf(T, B, C, Y, X, dtype=dtype, generator=g)
    states = [_leaf(B, H, Y, X, scale=0.5, dtype=dtype, generator=g) for _ in range(2 if cell == "lstm" else 1)]
    # weights scaled by ~1/sqrt(fan-in) so the gates stay away from saturation
    W_ih = _leaf(G, C, k, k, scale=(C * k * k) ** -0.5, dtype=dtype, generator=g)
    W_hh = _leaf(G, H, k, k, scale=(H * k * k) ** -0.5, dtype=dtype, generator=g)
    b = [_leaf(G, scale=0.3, dtype=dtype, generator=g), _leaf(G, scale=0.3, dtype=dtype, generator=g)] if bias else [None, None]
    weights = [W_ih, W_hh, *b]
    if cell == "lstm":
        weights.append(_leaf(3, H, Y, X, scale=0.5, dtype=dtype, generator=g) if peephole else None)
    return x, states, weights


def _kernel(cell, x, states, weights, mask, reverse):
    if cell == "lstm":
        W_ih, W_hh, b_ih, b_hh, peephole = weights
        y, h, c = conv_lstm_sequence(x, states[0], states[1], W_ih, W_hh, b_ih, b_hh, peephole, mask, reverse)
        return y, h, c
    y, h = conv_gru_sequence(x, states[0], *weights, mask, reverse)
    return y, h


def _reference(cell, x, states, weights, mask, reverse):
    step = conv_lstm_step if cell == "lstm" else conv_gru_step
    y, final = run_steps(step, x, tuple(states), weights, mask, reverse)
    return (y, *final)


CONFIGS = [
    # (cell, kernel size, bias, peephole, masked, reverse)
    *[("lstm", k, b, p, msk, r) for k, b, p, msk, r in
      [(3, True, True, True, False), (3, False, False, False, True), (1, True, False, True, True),
       (3, True, True, True, True), (1, False, True, False, False)]],
    *[("gru", k, b, False, msk, r) for k, b, msk, r in
      [(3, True, True, False), (3, False, False, True), (1, True, True, True)]],
]


@pytest.mark.parametrize("cell, k, bias, peephole, masked, reverse", CONFIGS)
def test_gradcheck(cell, k, bias, peephole, masked, reverse):
    x, states, weights = _inputs(cell, k, bias, peephole)
    mask = _mask(LENGTHS) if masked else None
    args = [x, *states, *[w for w in weights if w is not None]]

    def fn(*leaves):
        it = iter(leaves)
        xs, ss = next(it), [next(it) for _ in states]
        ws = [None if w is None else next(it) for w in weights]
        return _kernel(cell, xs, ss, ws, mask, reverse)

    # fast_mode: the Jacobian checked along random directions (u^T J v), ~2500 inputs would take minutes in full
    assert gradcheck(fn, args, eps=1e-6, atol=1e-6, rtol=1e-5, fast_mode=True)


def _outputs_and_grads(run, cell, x, states, weights, mask, reverse, loss_weights):
    """The returned tensors and the gradient of Σ_k <loss_weights_k, out_k> with respect to every input."""
    outs = run(cell, x, states, weights, mask, reverse)
    leaves = [x, *states, *[w for w in weights if w is not None]]
    loss = sum((o * w).sum() for o, w in zip(outs, loss_weights))
    grads = torch.autograd.grad(loss, leaves)
    return [o.detach() for o in outs], list(grads)


@pytest.mark.parametrize("cell, k, bias, peephole, masked, reverse", CONFIGS)
def test_equals_the_per_step_reference_in_float64(cell, k, bias, peephole, masked, reverse):
    x, states, weights = _inputs(cell, k, bias, peephole, seed=1)
    mask = _mask(LENGTHS) if masked else None
    g = torch.Generator().manual_seed(2)
    probe = _kernel(cell, x, states, weights, mask, reverse)
    loss_weights = [torch.randn(o.shape, dtype=o.dtype, generator=g) for o in probe]
    ours, our_grads = _outputs_and_grads(_kernel, cell, x, states, weights, mask, reverse, loss_weights)
    ref, ref_grads = _outputs_and_grads(_reference, cell, x, states, weights, mask, reverse, loss_weights)
    for a, b in zip(ours + our_grads, ref + ref_grads):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_float32_within_the_rounding_bound(cell):
    # Both implementations round in float32 in different orders (one batched conv over T·B frames vs one per
    # step; transposed convolutions vs autograd's); each differs from the exact result by its rounding errors.
    # tests/kernels_fast/_bounds.py: the float64 reference with every input perturbed by a relative 2⁻²⁴
    # measures how far rounding can move each output and gradient; FACTOR (64) times that covers the
    # implementation's own roundings (a K = C·k² + H·k² = 45-term sum per conv, √K ≈ 7 like a random walk).
    x64, s64, w64 = _inputs(cell, 3, True, cell == "lstm", seed=3)
    mask64 = _mask(LENGTHS)
    g = torch.Generator().manual_seed(4)
    shapes = [o.shape for o in _kernel(cell, x64, s64, w64, mask64, False)]
    loss_weights = [torch.randn(s, dtype=torch.float64, generator=g) for s in shapes]
    n_leaves = 1 + len(s64) + sum(w is not None for w in w64)

    def reference(*inputs):
        xs, ss, ws = inputs[0], list(inputs[1:1 + len(s64)]), list(inputs[1 + len(s64):1 + len(s64) + len(w64)])
        lw = inputs[1 + len(s64) + len(w64):]
        leaves = [t.detach().requires_grad_() if t is not None else None for t in (xs, *ss, *ws)]
        outs, grads = _outputs_and_grads(_reference, cell, leaves[0], leaves[1:1 + len(ss)], leaves[1 + len(ss):],
                                         mask64, False, lw)
        return outs + grads

    exact, sensitivity = perturbation(reference, [x64, *s64, *w64, *loss_weights])
    to32 = [None if t is None else t.detach().float().requires_grad_() for t in (x64, *s64, *w64)]
    x32, s32, w32 = to32[0], to32[1:1 + len(s64)], to32[1 + len(s64):]
    ours, our_grads = _outputs_and_grads(_kernel, cell, x32, s32, w32, mask64.float(), False,
                                         [w.float() for w in loss_weights])
    assert len(ours + our_grads) == len(exact) == n_leaves + len(shapes)
    for a, e, s in zip(ours + our_grads, exact, sensitivity):
        bound = FACTOR * s + FLT_MIN
        assert (a.double() - e).abs().max().item() <= bound


@pytest.mark.parametrize("cell, reverse", list(itertools.product(["lstm", "gru"], [False, True])))
def test_a_padded_batch_gives_each_clip_its_unpadded_result(cell, reverse):
    x, states, weights = _inputs(cell, 3, True, cell == "lstm", seed=5)
    with torch.no_grad():
        y, *final = _kernel(cell, x, states, weights, _mask(LENGTHS), reverse)
        for b, length in enumerate(LENGTHS.tolist()):
            alone = _kernel(cell, x[:length, b:b + 1], [s[b:b + 1] for s in states], weights, None, reverse)
            torch.testing.assert_close(y[:length, b:b + 1], alone[0], rtol=0, atol=1e-12)
            assert torch.count_nonzero(y[length:, b]) == 0               # outputs past the length are zero
            for s, s_alone in zip(final, alone[1:]):
                torch.testing.assert_close(s[b:b + 1], s_alone, rtol=0, atol=1e-12)
