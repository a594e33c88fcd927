"""Recurrent dropout, zoneout and the layer-normalised cells: float64 gradcheck of each hand-derived
kernel with every option on, and kernel == per-step autograd reference (outputs and gradients)."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

import rnnkit.nn as rnn
from rnnkit.kernels import (
    elman_sequence,
    gru_sequence,
    layer_norm_gru_sequence,
    layer_norm_lstm_sequence,
    lstm_sequence,
)
from tests.core.twins import state_tensors

T, B, I, H = 4, 3, 2, 3


def _leaf(*shape):
    return torch.randn(*shape, dtype=torch.float64).requires_grad_()


KERNELS = {
    # name: (function, gates, has cell state, extra LN parameter sizes)
    "lstm": (lstm_sequence, 4, True, []),
    "gru": (gru_sequence, 3, False, []),
    "elman": (elman_sequence, 1, False, []),
    "layer_norm_lstm": (layer_norm_lstm_sequence, 4, True, [4 * H] * 4 + [H] * 2),
    "layer_norm_gru": (layer_norm_gru_sequence, 3, False, [3 * H] * 4),
}


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("name", list(KERNELS))
def test_gradcheck_with_lengths_recurrent_dropout_and_zoneout(name, reverse):
    torch.manual_seed(3)
    fn, gates, has_cell, extra = KERNELS[name]
    G = gates * H
    state = [_leaf(B, H), _leaf(B, H)] if has_cell else [_leaf(B, H)]
    params = [_leaf(G, I), _leaf(G, H), _leaf(G), _leaf(G)] + [_leaf(n) for n in extra]
    mask = (torch.arange(T).unsqueeze(1) < torch.tensor([2, 4, 1])).double()
    options = {
        "recurrent_mask": (torch.rand(B, H) > 0.3).double() / 0.7,
        "zoneout_h": (torch.rand(T, B, H) < 0.3).double(),
    }
    if has_cell:
        options["zoneout_c"] = torch.full((T, B, H), 0.2, dtype=torch.float64)   # inference-style keep
    positional = (mask, reverse) if name != "elman" else (mask, reverse, "tanh")
    assert gradcheck(lambda *a: fn(*a, *positional, **options), (_leaf(T, B, I), *state, *params),
                     eps=1e-6, atol=1e-6, rtol=1e-5)


LAYERS = {
    "lstm": rnn.LSTM, "gru": rnn.GRU, "rnn": rnn.RNN,
    "layer_norm_lstm": rnn.LayerNormLSTM, "layer_norm_gru": rnn.LayerNormGRU,
}


def _run(layer, x, lengths, seed):
    torch.manual_seed(seed)                      # the same noise draws for both backends
    xi = x.clone().requires_grad_()
    out, h_n = layer(xi, lengths=lengths)
    finals = state_tensors(h_n)
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum() + sum(f.sum() for f in finals)
    grads = torch.autograd.grad(loss, [xi, *layer.parameters()])
    return out.detach(), [f.detach() for f in finals], grads


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_kernel_equals_reference(name, training):
    torch.manual_seed(0)
    kernel = LAYERS[name](I, H, num_layers=2, bidirectional=True, dropout=0.3, recurrent_dropout=0.25,
                          zoneout=0.2, dtype=torch.float64)
    with torch.no_grad():                        # move layer-norm gains/biases off their 1/0 start
        for pname, p in kernel.named_parameters():
            if "_ln_" in pname:
                p.add_(0.3 * torch.randn_like(p))
    reference = LAYERS[name](I, H, num_layers=2, bidirectional=True, dropout=0.3, recurrent_dropout=0.25,
                             zoneout=0.2, dtype=torch.float64, backend="reference")
    reference.load_state_dict(kernel.state_dict())
    kernel.train(training)
    reference.train(training)
    x = torch.randn(6, B, I, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 5])
    (o1, f1, g1), (o2, f2, g2) = _run(kernel, x, lengths, 11), _run(reference, x, lengths, 11)
    assert torch.allclose(o1, o2, atol=1e-12)
    for a, b in zip(f1, f2):
        assert torch.allclose(a, b, atol=1e-12)
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, atol=1e-10)


def test_regularisers_off_at_inference_except_zoneout_expectation():
    torch.manual_seed(0)
    plain = rnn.LSTM(I, H, dtype=torch.float64)
    dropped = rnn.LSTM(I, H, recurrent_dropout=0.5, dtype=torch.float64)
    dropped.load_state_dict(plain.state_dict())
    x = torch.randn(5, B, I, dtype=torch.float64)
    plain.eval()
    dropped.eval()
    assert torch.equal(plain(x)[0], dropped(x)[0])
    dropped.train()
    assert not torch.allclose(plain(x)[0], dropped(x)[0])
    # Zoneout at inference: h_t = z h_{t-1} + (1 - z) h̃_t, checked against the one-step cell.
    zoned = rnn.GRU(I, H, zoneout=0.4, dtype=torch.float64).eval()
    cell = rnn.GRUCell(I, H, dtype=torch.float64)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in zoned.state_dict().items()})
    h = torch.zeros(B, H, dtype=torch.float64)
    out, _ = zoned(x)
    for t in range(5):
        h = 0.4 * h + 0.6 * cell(x[t], h)
        assert torch.allclose(out[t], h, atol=1e-12)


def test_step_streams_layer_norm_lstm():
    layer = rnn.LayerNormLSTM(I, H, num_layers=2, zoneout=0.3, dtype=torch.float64).eval()
    x = torch.randn(5, B, I, dtype=torch.float64)
    full, _ = layer(x)
    state = None
    for t in range(5):
        y_t, state = layer.step(x[t], state)
        assert torch.allclose(y_t, full[t], atol=1e-12)
