"""Parity with torch.nn.RNN/LSTM/GRU after load_state_dict: outputs, final states and every gradient."""

from __future__ import annotations

import random

import pytest
import torch

from tests.core.twins import KINDS, initial_state, make_pair, run_torch, state_tensors

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


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

    results = []
    for layer, run in ((ours, lambda xi, hi: ours(xi, hi, lengths=lengths)),
                       (theirs, lambda xi, hi: run_torch(theirs, xi, hi, lengths, cfg["batch_first"]))):
        xi = x.clone().requires_grad_()
        hi = None if hx is None else tuple(s.clone().requires_grad_() for s in state_tensors(hx))
        out, h_n = run(xi, None if hi is None else (hi if kind == "lstm" else hi[0]))
        finals = state_tensors(h_n)
        # A loss that weights every output and final-state entry differently.
        w_out = torch.linspace(-1, 1, out.numel(), dtype=dtype).view_as(out)
        loss = (out * w_out).sum() + sum((f * f.new_full(f.shape, 0.3 + k)).sum() for k, f in enumerate(finals))
        inputs = [xi, *(hi or ()), *layer.parameters()]
        grads = torch.autograd.grad(loss, inputs)
        results.append((out.detach(), [f.detach() for f in finals], grads))

    tol = TOLERANCE[dtype]
    (o1, f1, g1), (o2, f2, g2) = results
    assert (o1 - o2).abs().max() <= tol
    for a, b in zip(f1, f2):
        assert (a - b).abs().max() <= tol
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2):
        assert (a - b).abs().max() <= tol * max(1.0, b.abs().max().item())


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
