"""torch.autograd.gradcheck in float64 on every hand-derived kernel, alone and inside the layer."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit.kernels import elman_sequence, gru_sequence, lstm_sequence
from tests.core.twins import KINDS, initial_state, state_tensors


T, B, I, H = 4, 3, 2, 3
LENGTHS = torch.tensor([2, 4, 1])          # unsorted, one equal to T, one of length 1


def _mask(lengths):
    return (torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)).double()


def _leaf(*shape):
    return torch.randn(*shape, dtype=torch.float64).requires_grad_()


@pytest.mark.parametrize("masked, reverse, bias", list(itertools.product([False, True], repeat=3)))
@pytest.mark.parametrize("cell", ["lstm", "gru", "tanh", "relu"])
def test_kernel_gradcheck(cell, masked, reverse, bias):
    torch.manual_seed(0)
    G = {"lstm": 4, "gru": 3}.get(cell, 1) * H
    x, h0, c0 = _leaf(T, B, I), _leaf(B, H), _leaf(B, H)
    W_ih, W_hh = _leaf(G, I), _leaf(G, H)
    b_ih, b_hh = (_leaf(G), _leaf(G)) if bias else (None, None)
    mask = _mask(LENGTHS) if masked else None
    if cell == "relu":
        # Keep pre-activations away from the kink at 0, where a finite difference is not a derivative.
        W_ih.data.mul_(2.0)
    if cell == "lstm":
        fn = lambda *a: lstm_sequence(*a, mask, reverse)  # noqa: E731
        args = (x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    elif cell == "gru":
        fn = lambda *a: gru_sequence(*a, mask, reverse)  # noqa: E731
        args = (x, h0, W_ih, W_hh, b_ih, b_hh)
    else:
        fn = lambda *a: elman_sequence(*a, mask, reverse, cell)  # noqa: E731
        args = (x, h0, W_ih, W_hh, b_ih, b_hh)
    assert gradcheck(fn, args, eps=1e-6, atol=1e-6, rtol=1e-5)


LAYER_CONFIGS = [
    # (bias, lengths, bidirectional, num_layers, with_state)
    (True, False, False, 1, False),
    (False, True, False, 1, True),
    (True, True, True, 1, False),
    (True, False, True, 2, True),
    (True, True, False, 2, False),
    (False, True, True, 2, True),
]


@pytest.mark.parametrize("bias, use_lengths, bidirectional, num_layers, with_state", LAYER_CONFIGS)
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_layer_gradcheck(kind, bias, use_lengths, bidirectional, num_layers, with_state):
    torch.manual_seed(1)
    cls, _, extra = KINDS[kind]
    layer = cls(I, H, num_layers=num_layers, bias=bias, bidirectional=bidirectional, **extra).double()
    D = 2 if bidirectional else 1
    gen = torch.Generator().manual_seed(2)
    hx = initial_state(kind, num_layers * D, B, H, torch.float64, gen) if with_state else None
    state = [s.requires_grad_() for s in state_tensors(hx)] if with_state else []
    params = list(layer.parameters())
    lengths = LENGTHS if use_lengths else None

    def fn(x, *rest):
        s, ps = rest[: len(state)], rest[len(state):]
        h = None if not s else (tuple(s) if kind == "lstm" else s[0])
        named = dict(zip(dict(layer.named_parameters()), ps))
        out, h_n = torch.func.functional_call(layer, named, (x, h), {"lengths": lengths})
        return (out, *state_tensors(h_n))

    assert gradcheck(fn, (_leaf(T, B, I), *state, *[p.detach().clone().requires_grad_() for p in params]),
                     eps=1e-6, atol=1e-6, rtol=1e-5)
