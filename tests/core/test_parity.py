"""Parity with torch.nn.RNN/LSTM/GRU after load_state_dict: outputs, final states and every gradient."""

from __future__ import annotations

import copy
import random

import pytest
import torch

from tests.core.twins import KINDS, initial_state, make_pair, run_torch, state_tensors
from tests.kernels_fast import _bounds

TOL64 = 1e-10   # float32: the bound derived per case from the float64 layer (tests/kernels_fast/_bounds.py)


def random_configs(n, seed):
    rng = random.Random(seed)
    configs = []
    for i in range(n):
        B, T = rng.randint(1, 5), rng.randint(1, 7)
        lengths = None
        if i % 2 == 0 and B > 1:
            lengths = [rng.randint(1, T) for _ in range(B)]
            lengths[rng.randrange(B)] = T
        configs.append(dict(
            B=B, T=T, I=rng.randint(1, 6), H=rng.randint(1, 8), num_layers=rng.choice([1, 2, 3]),
            bidirectional=rng.random() < 0.5, bias=rng.random() < 0.8, batch_first=rng.random() < 0.5,
            lengths=lengths, with_state=rng.random() < 0.6,
        ))
    return configs


CONFIGS = random_configs(10, seed=7)


def compare(kind, cfg, dtype, backend, generator):
    B, T, I, H = cfg["B"], cfg["T"], cfg["I"], cfg["H"]
    D = 2 if cfg["bidirectional"] else 1
    ours, theirs = make_pair(
        kind, I, H, dtype=dtype, backend=backend, num_layers=cfg["num_layers"], bias=cfg["bias"],
        batch_first=cfg["batch_first"], bidirectional=cfg["bidirectional"],
    )
    shape = (B, T, I) if cfg["batch_first"] else (T, B, I)
    x = torch.randn(shape, dtype=dtype, generator=generator)
    hx = initial_state(kind, cfg["num_layers"] * D, B, H, dtype, generator) if cfg["with_state"] else None
    lengths = None if cfg["lengths"] is None else torch.tensor(cfg["lengths"])

    def loss_weights(out, finals):   # weights every output and final-state entry differently
        return [torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out),
                *(f.new_full(f.shape, 0.3 + k) for k, f in enumerate(finals))]

    def outputs_and_grads(run, x, states, params, weights=None):
        """[out, *final states, *d loss/d (x, states, params)]: everything compared, one flat list."""
        leaves = [t.detach().clone().requires_grad_() for t in (x, *states, *params)]
        xi, hi = leaves[0], leaves[1:1 + len(states)]
        out, h_n = run(xi, None if not hi else (tuple(hi) if kind == "lstm" else hi[0]), leaves[1 + len(states):])
        finals = state_tensors(h_n)
        weights = loss_weights(out, finals) if weights is None else weights
        loss = sum((o * w).sum() for o, w in zip([out, *finals], weights))
        return [out.detach(), *(f.detach() for f in finals), *torch.autograd.grad(loss, leaves)]

    def run_ours(layer):
        return lambda xi, h, ps: torch.func.functional_call(layer, dict(zip(names, ps)), (xi, h), {"lengths": lengths})

    def run_theirs(xi, h, ps):
        layer = lambda inp, state: torch.func.functional_call(theirs, dict(zip(names, ps)), (inp, state))  # noqa: E731
        return run_torch(layer, xi, h, lengths, cfg["batch_first"])

    names = [name for name, _ in ours.named_parameters()]
    states = state_tensors(hx) if hx is not None else []
    a = outputs_and_grads(run_ours(ours), x, states, list(ours.parameters()))
    b = outputs_and_grads(run_theirs, x, states, list(theirs.parameters()))
    assert len(a) == len(b)
    if dtype == torch.float64:
        values = 1 + (2 if kind == "lstm" else 1)          # out and the final states: absolute; gradients: relative
        for k, (p, q) in enumerate(zip(a, b)):
            assert (p - q).abs().max() <= TOL64 * (1.0 if k < values else max(1.0, q.abs().max().item()))
        return
    wide = copy.deepcopy(ours).double()
    n = 1 + len(states) + len(names)

    def reference(*t):   # ours in float64 on the given inputs, parameters and loss weights
        return outputs_and_grads(run_ours(wide), t[0], list(t[1:1 + len(states)]), list(t[1 + len(states):n]),
                                 list(t[n:]))

    with torch.no_grad():
        out, h_n = ours(x, hx, lengths=lengths)
    weights = [w.double() for w in loss_weights(out, state_tensors(h_n))]
    bounds = _bounds.float32_bounds(reference, [x.double(), *(s.double() for s in states),
                                                *(p.detach().double() for p in ours.parameters()), *weights])
    _bounds.assert_within(a, b, bounds)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("cfg", CONFIGS, ids=[f"cfg{i}" for i in range(len(CONFIGS))])
def test_kernel_matches_torch_nn(kind, cfg, dtype, generator):
    compare(kind, cfg, dtype, "kernel", generator)


@pytest.mark.parametrize("backend", ["reference", "native"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("cfg", CONFIGS[:4], ids=[f"cfg{i}" for i in range(4)])
def test_other_backends_match_torch_nn(kind, cfg, backend, generator):
    compare(kind, cfg, torch.float64, backend, generator)


@pytest.mark.parametrize("kind", list(KINDS))
def test_state_dict_moves_both_ways(kind):
    ours, theirs = make_pair(kind, 3, 4, dtype=torch.float32, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    fresh = type(theirs)(3, 4, num_layers=2, bidirectional=True, **KINDS[kind][2])
    fresh.load_state_dict(ours.state_dict())
    x = torch.randn(5, 2, 3)
    assert torch.equal(state_tensors(fresh(x)[1])[0], state_tensors(theirs(x)[1])[0])
