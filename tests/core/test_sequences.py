"""Lengths, PackedSequence input, one-step cells, streaming with step(), and truncated BPTT."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit.nn as rnn
from tests.core.twins import KINDS, make_pair, state_tensors
from tests.kernels_fast import _bounds


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_sequence_input_matches_torch(kind, batch_first):
    ours, theirs = make_pair(kind, 3, 4, dtype=torch.float64, num_layers=2, bidirectional=True, batch_first=batch_first)
    lengths = torch.tensor([2, 5, 1, 4])
    x = torch.randn((4, 5, 3) if batch_first else (5, 4, 3), dtype=torch.float64)
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    out_ours, h_ours = ours(packed)
    out_theirs, h_theirs = theirs(packed)
    assert torch.equal(out_ours.batch_sizes, out_theirs.batch_sizes)
    assert torch.equal(out_ours.sorted_indices, out_theirs.sorted_indices)
    assert torch.allclose(out_ours.data, out_theirs.data, atol=1e-12)
    for a, b in zip(state_tensors(h_ours), state_tensors(h_theirs)):
        assert torch.allclose(a, b, atol=1e-12)


def alone_output(layer, x, params):
    """[y, h_n] of layer(x) with the given parameters (in named_parameters order)."""
    out, h_n = torch.func.functional_call(layer, dict(zip(dict(layer.named_parameters()), params)), (x,))
    return [out, state_tensors(h_n)[0]]


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_outputs_past_length_are_zero_and_state_taken_at_own_end(kind):
    cls, _, extra = KINDS[kind]
    layer = cls(2, 3, bidirectional=True, batch_first=True, **extra)
    wide = copy.deepcopy(layer).double()
    x = torch.randn(3, 6, 2)
    lengths = [6, 2, 4]
    out, h_n = layer(x, lengths=lengths)
    for b, n in enumerate(lengths):
        assert torch.all(out[b, n:] == 0)
        alone, h_alone = layer(x[b:b + 1, :n])                          # the sequence on its own, no padding
        # float32, batched vs alone: other GEMM shapes round otherwise; the bound comes from the float64 layer
        with torch.no_grad():
            bounds = _bounds.float32_bounds(lambda xs, *ps: alone_output(wide, xs, ps),
                                            [x[b:b + 1, :n].double(), *wide.parameters()])
        _bounds.assert_within([out[b:b + 1, :n], state_tensors(h_n)[0][:, b:b + 1]],
                              [alone, state_tensors(h_alone)[0]], bounds, ["y", "h_n"])


@pytest.mark.parametrize("ours_cls, theirs_cls, state", [
    (rnn.RNNCell, torch.nn.RNNCell, 1), (rnn.LSTMCell, torch.nn.LSTMCell, 2), (rnn.GRUCell, torch.nn.GRUCell, 1),
])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch_nn(ours_cls, theirs_cls, state, batched):
    theirs = theirs_cls(3, 4).double()
    ours = ours_cls(3, 4).double()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn((2, 3) if batched else (3,), dtype=torch.float64)
    hx = tuple(torch.randn((2, 4) if batched else (4,), dtype=torch.float64) for _ in range(state))
    hx = hx if state == 2 else hx[0]
    a, b = ours(x, hx), theirs(x, hx)
    for p, q in zip(state_tensors(a), state_tensors(b)):
        assert p.shape == q.shape
        assert torch.allclose(p, q, atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_relu"])
def test_step_streams_the_same_numbers_as_forward(kind):
    cls, _, extra = KINDS[kind]
    layer = cls(3, 5, num_layers=2, **extra).double()
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    full, h_full = layer(x)
    state = None
    for t in range(7):
        y_t, state = layer.step(x[t], state)
        assert torch.allclose(y_t, full[t], atol=1e-12)
    for a, b in zip(state_tensors(state), state_tensors(h_full)):
        assert torch.allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_stateful_chunks_equal_one_pass_and_detach_cuts_the_graph(kind):
    cls, _, extra = KINDS[kind]
    layer = cls(2, 4, **extra).double()
    x = torch.randn(10, 3, 2, dtype=torch.float64)
    whole, h_whole = layer(x)
    out1, h = layer(x[:6])
    out2, h = layer(x[6:], rnn.detach_state(h))
    assert torch.allclose(torch.cat([out1, out2]), whole, atol=1e-12)
    assert all(not s.requires_grad for s in state_tensors(rnn.detach_state(h_whole)))
    # Gradients of the second chunk stop at the boundary: x[:6] gets none through the detached state.
    xs = x.clone().requires_grad_()
    _, h = layer(xs[:6])
    out2, _ = layer(xs[6:], rnn.detach_state(h))
    out2.sum().backward()
    assert torch.all(xs.grad[:6] == 0) and torch.any(xs.grad[6:] != 0)


def test_dropout_between_layers_only_in_training():
    layer = rnn.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = torch.randn(5, 4, 3)
    layer.eval()
    assert torch.equal(layer(x)[0], layer(x)[0])
    layer.train()
    torch.manual_seed(0)
    a = layer(x)[0]
    torch.manual_seed(1)
    assert not torch.equal(a, layer(x)[0])
