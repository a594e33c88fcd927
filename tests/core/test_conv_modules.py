"""rnnkit.nn.ConvLSTM2D / ConvGRU2D: outputs, final states and every parameter gradient equal to a per-step
autograd reference written from ``cells.conv_steps`` (stacking and directions written out again here),
masking invariance, ``step()`` equal to ``forward``, float64 gradcheck, parameter names, and the errors."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit.cells.conv_steps import conv_gru_step, conv_lstm_step
from rnnkit.cells.loop import run_steps
from rnnkit.nn import ConvGRU2D, ConvLSTM2D

B, T, C, Y, X, H = 3, 4, 2, 5, 6, 3
LENGTHS = torch.tensor([4, 2, 3])


def _module(cell, k=3, *, layers=1, bias=True, peephole=False, bidirectional=False, batch_first=True, seed=0):
    torch.manual_seed(seed)
    if cell == "lstm":
        m = ConvLSTM2D(C, H, k, num_layers=layers, bias=bias, peephole=peephole, bidirectional=bidirectional,
                       batch_first=batch_first)
    else:
        m = ConvGRU2D(C, H, k, num_layers=layers, bias=bias, bidirectional=bidirectional, batch_first=batch_first)
    m = m.double()
    with torch.no_grad():                                    # biases and peepholes far from 0, so they matter
        for name, p in m.named_parameters():
            if not name.startswith("weight"):
                p.uniform_(-0.5, 0.5)
    return m


def _clip(batch=B, steps=T, seed=1):
    return torch.randn(batch, steps, C, Y, X, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _state(m, batch=B, seed=2):
    g = torch.Generator().manual_seed(seed)
    LD = m.num_layers * m.num_directions
    parts = tuple(0.5 * torch.randn(LD, batch, H, Y, X, generator=g, dtype=torch.float64) for _ in range(m.state_count))
    return parts if m.state_count == 2 else parts[0]


def _reference(m, x, state, lengths):
    """The stack written out with the per-step autograd loop: x (B, T, C, Y, X) → (y, final state)."""
    step = conv_lstm_step if m.state_count == 2 else conv_gru_step
    xt = x.transpose(0, 1)                                                    # (T, B, C, Y, X)
    steps = xt.shape[0]
    mask = None if lengths is None else (torch.arange(steps).unsqueeze(1) < lengths.unsqueeze(0)).to(x.dtype)
    D = m.num_directions
    if state is None:
        state = tuple(x.new_zeros(m.num_layers * D, x.shape[0], H, Y, X) for _ in range(m.state_count))
    elif m.state_count == 1:
        state = (state,)
    finals, layer_input = [], xt
    for layer in range(m.num_layers):
        outputs = []
        for d in range(D):
            k = layer * D + d
            y, final = run_steps(step, layer_input, tuple(s[k] for s in state), m.layer_weights(layer, d), mask, d == 1)
            outputs.append(y)
            finals.append(final)
        layer_input = torch.cat(outputs, dim=2)
    stacked = tuple(torch.stack([f[j] for f in finals]) for j in range(m.state_count))
    return layer_input.transpose(0, 1), stacked


def _flat(out):
    y, s = out
    return (y, *s) if isinstance(s, tuple) else (y, s)


CONFIGS = [
    # cell, kernel, layers, bias, peephole, bidirectional, lengths, initial state
    ("lstm", 3, 1, True, False, False, False, False),
    ("lstm", 3, 2, True, True, True, True, True),
    ("lstm", 1, 1, False, True, True, True, False),
    ("lstm", (3, 5), 2, False, False, False, True, True),
    ("lstm", (3, 5), 1, True, True, True, False, True),
    ("gru", 3, 1, True, False, False, True, False),
    ("gru", 3, 2, True, False, True, True, True),
    ("gru", 1, 2, False, False, False, False, True),
    ("gru", (3, 5), 1, False, False, True, True, False),
]


@pytest.mark.parametrize("cell, k, layers, bias, peephole, bidirectional, masked, initial", CONFIGS)
def test_outputs_states_and_every_gradient_equal_the_per_step_reference(cell, k, layers, bias, peephole, bidirectional,
                                                                        masked, initial):
    m = _module(cell, k, layers=layers, bias=bias, peephole=peephole, bidirectional=bidirectional)
    lengths = LENGTHS if masked else None
    x = _clip().requires_grad_()
    state = _state(m) if initial else None
    leaves = [x] + ([] if state is None else [s.requires_grad_() for s in (state if isinstance(state, tuple) else (state,))])
    params = list(m.parameters())
    outs = _flat(m(x, state, lengths=lengths))
    refs = _flat(_reference(m, x, state, lengths))
    assert outs[0].shape == (B, T, m.num_directions * H, Y, X)
    assert all(s.shape == (layers * m.num_directions, B, H, Y, X) for s in outs[1:])
    g = torch.Generator().manual_seed(3)
    weights = [torch.randn(o.shape, generator=g, dtype=torch.float64) for o in outs]
    grads = torch.autograd.grad(sum((o * w).sum() for o, w in zip(outs, weights)), leaves + params)
    ref_grads = torch.autograd.grad(sum((r * w).sum() for r, w in zip(refs, weights)), leaves + params)
    for o, r in zip(outs, refs):
        torch.testing.assert_close(o, r, rtol=1e-10, atol=1e-10)
    names = ["x", "state", "state"][: len(leaves)] + [n for n, _ in m.named_parameters()]
    for name, a, b in zip(names, grads, ref_grads):
        assert b.abs().sum() > 0, name
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=name)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_clip_padded_with_garbage_gives_its_own_outputs_and_final_state(cell):
    m = _module(cell, layers=2, peephole=cell == "lstm", bidirectional=True)
    x = _clip()
    garbage = torch.where((torch.arange(T) < LENGTHS[:, None]).view(B, T, 1, 1, 1), x, 50 * torch.randn_like(x))
    y, state = _flat(m(garbage, lengths=LENGTHS))[0], _flat(m(garbage, lengths=LENGTHS))[1:]
    for b, L in enumerate(LENGTHS.tolist()):
        alone = _flat(m(x[b : b + 1, :L]))
        torch.testing.assert_close(y[b, :L], alone[0][0], rtol=1e-12, atol=1e-12)
        assert torch.equal(y[b, L:], torch.zeros_like(y[b, L:]))              # padded steps output zeros
        for s, s_alone in zip(state, alone[1:]):
            torch.testing.assert_close(s[:, b], s_alone[:, 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_step_by_step_equals_forward(cell):
    m = _module(cell, (3, 5), layers=2, peephole=cell == "lstm")
    x, state = _clip(), _state(m)
    y, final = m(x, state)
    s = state
    for t in range(T):
        y_t, s = m.step(x[:, t], s)
        torch.testing.assert_close(y_t, y[:, t], rtol=1e-12, atol=1e-12)
    for a, b in zip(s if isinstance(s, tuple) else (s,), final if isinstance(final, tuple) else (final,)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    y0, _ = m.step(x[:, 0])                                                   # None: zeros
    torch.testing.assert_close(y0, m(x[:, :1])[0][:, 0])


def test_time_major_equals_batch_first():
    m = _module("lstm", peephole=True, bidirectional=True)
    twin = _module("lstm", peephole=True, bidirectional=True, batch_first=False)
    x = _clip()
    y, (h, c) = m(x, lengths=LENGTHS)
    y_t, (h_t, c_t) = twin(x.transpose(0, 1), lengths=LENGTHS)
    torch.testing.assert_close(y_t.transpose(0, 1), y, rtol=0, atol=0)
    torch.testing.assert_close(h_t, h, rtol=0, atol=0)


@pytest.mark.slow  # ~17 s (LSTM) on the shared 2-core box
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gradcheck_float64_tiny(cell):
    torch.manual_seed(0)
    kwargs = {"peephole": True} if cell == "lstm" else {}
    cls = ConvLSTM2D if cell == "lstm" else ConvGRU2D
    m = cls(1, 2, (3, 1), num_layers=2, bidirectional=True, **kwargs).double()
    names = [n for n, _ in m.named_parameters()]
    x = torch.randn(2, 3, 1, 3, 4, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([3, 2])

    def fn(x, *params):
        out = torch.func.functional_call(m, dict(zip(names, params)), (x,), {"lengths": lengths})
        return _flat(out)

    # fast_mode: the Jacobian against random directions (the full one takes minutes on 2 shared cores)
    assert gradcheck(fn, (x, *[p.detach().clone().requires_grad_() for p in m.parameters()]), eps=1e-6, atol=1e-6,
                     fast_mode=True)


def test_parameters_are_named_and_laid_out_like_torch_lstm():
    m = ConvLSTM2D(2, 3, (3, 5), num_layers=2, peephole=True, bidirectional=True)
    torch_names = set(torch.nn.LSTM(2, 3, num_layers=2, bidirectional=True).state_dict())
    peepholes = {"peephole_l0", "peephole_l0_reverse", "peephole_l1", "peephole_l1_reverse"}
    assert set(m.state_dict()) == torch_names | peepholes
    assert m.weight_ih_l0.shape == (12, 2, 3, 5) and m.weight_hh_l1_reverse.shape == (12, 3, 3, 5)
    assert m.weight_ih_l1.shape == (12, 6, 3, 5) and m.bias_hh_l1.shape == (12,)
    assert m.peephole_l1_reverse.shape == (3, 3, 1, 1)
    g = ConvGRU2D(2, 3, 1, bias=False)
    assert set(g.state_dict()) == {"weight_ih_l0", "weight_hh_l0"} and g.weight_hh_l0.shape == (9, 3, 1, 1)
    bound = 1 / (3 * 3 * 5) ** 0.5
    assert all(p.abs().max() <= bound for p in m.parameters())


def test_errors_name_the_argument():
    m = ConvLSTM2D(2, 3)
    x = torch.zeros(1, 4, 2, 5, 5)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, C=2, Y, X\).*4-D.*unsqueeze\(0\)"):
        m(x[0])
    with pytest.raises(ValueError, match=r"3 channels on axis 2.*input_channels"):
        m(torch.zeros(1, 4, 3, 5, 5))
    with pytest.raises(ValueError, match=r"channels look last.*permute\(0, 1, 4, 2, 3\)"):
        m(torch.zeros(1, 4, 5, 5, 2))
    with pytest.raises(TypeError, match=r"dtype torch.float64.*\.to\(torch.float32\)"):
        m(x.double())
    with pytest.raises(TypeError, match=r"floating-point.*\.float\(\)"):
        m(x.long())
    with pytest.raises(ValueError, match=r"state h_0 must have shape .*\(1, 1, 3, 5, 5\); got \(1, 1, 3, 4, 4\)"):
        m(x, (torch.zeros(1, 1, 3, 4, 4), torch.zeros(1, 1, 3, 4, 4)))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        m(x, torch.zeros(1, 1, 3, 5, 5))
    with pytest.raises(ValueError, match=r"lengths must be in \[1, T=4\]"):
        m(x, lengths=[5])
    with pytest.raises(ValueError, match="kernel_size must be odd.*Use 3 × 5"):
        ConvLSTM2D(2, 3, (2, 5))
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        ConvGRU2D(2, 3, (3, 3, 3))
    with pytest.raises(TypeError, match="hidden_channels must be an int"):
        ConvGRU2D(2, 3.0)
    with pytest.raises(TypeError, match="peephole"):
        ConvGRU2D(2, 3, peephole=True)
    with pytest.raises(ValueError, match="bidirectional layer needs the whole sequence"):
        ConvGRU2D(2, 3, bidirectional=True).step(x[:, 0])
    with pytest.raises(ValueError, match=r"x_t must have shape \(B, input_channels=2, Y, X\)"):
        m.step(x)
