"""The optimizer wrappers do exactly what the torch.optim optimizer they name does, with Keras defaults."""

import pytest
import torch

from rnnkit import optimizers

CASES = [
    (optimizers.SGD(0.1, momentum=0.9, nesterov=True), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    (optimizers.Adam(), lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)),
    (optimizers.RMSprop(), lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-7)),
    (optimizers.Adagrad(), lambda p: torch.optim.Adagrad(p, lr=1e-3, initial_accumulator_value=0.1, eps=1e-7)),
    (optimizers.Adamax(), lambda p: torch.optim.Adamax(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)),
]


def _three_steps(step_fn, param):
    for k in range(3):
        param.grad = torch.sin(torch.arange(6.0) + k).reshape(2, 3)
        step_fn()


@pytest.mark.parametrize("ours,reference", CASES, ids=lambda c: type(c).__name__ if isinstance(c, optimizers.Optimizer) else "")
def test_matches_torch_optim(ours, reference):
    a = torch.nn.Parameter(torch.ones(2, 3))
    b = torch.nn.Parameter(torch.ones(2, 3))
    ours.build([a])
    ref = reference([b])
    _three_steps(ours.step, a)
    _three_steps(ref.step, b)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_built_lazily_and_learning_rate_reaches_torch():
    opt = optimizers.get("adam", learning_rate=0.01)
    assert not opt.built
    with pytest.raises(ValueError, match="not built"):
        _ = opt.torch_optimizer
    opt.build([torch.nn.Parameter(torch.zeros(2))])
    opt.learning_rate = 0.5
    assert opt.torch_optimizer.param_groups[0]["lr"] == 0.5


def test_clipping_by_norm_and_by_value():
    p = torch.nn.Parameter(torch.zeros(2))
    opt = optimizers.SGD(1.0, clipnorm=1.0)
    opt.build([p])
    p.grad = torch.tensor([3.0, 4.0])
    assert float(opt.clip_gradients()) == pytest.approx(5.0)
    torch.testing.assert_close(p.grad, torch.tensor([0.6, 0.8]))
    q = torch.nn.Parameter(torch.zeros(2))
    opt = optimizers.SGD(1.0, clipvalue=0.5)
    opt.build([q])
    q.grad = torch.tensor([3.0, -0.2])
    opt.clip_gradients()
    torch.testing.assert_close(q.grad, torch.tensor([0.5, -0.2]))


def test_clear_errors():
    with pytest.raises(ValueError, match="unknown name 'adamw'"):
        optimizers.get("adamw")
    with pytest.raises(TypeError, match="not a torch.optim instance"):
        optimizers.get(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1))
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        optimizers.Adam(learning_rate=-1)
    opt = optimizers.Adam()
    opt.build([torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(ValueError, match="already built for another model"):
        opt.build([torch.nn.Parameter(torch.zeros(1))])


@pytest.mark.parametrize("clipnorm", [None, 0.5, 1e3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_clipping_equals_torch_clip_grad_norm(clipnorm, dtype):
    # the foreach path of clip_gradients against torch.nn.utils (clip_reference), one grad missing
    generator = torch.Generator().manual_seed(0)
    shapes = [(4, 3), (7,), (2, 2, 5), (3,)]
    ours = [torch.nn.Parameter(torch.zeros(s, dtype=dtype)) for s in shapes]
    theirs = [torch.nn.Parameter(torch.zeros(s, dtype=dtype)) for s in shapes]
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if k == 3:
            continue  # a parameter without a gradient (unused this step)
        a.grad = torch.randn(a.shape, generator=generator, dtype=dtype) * 3
        b.grad = a.grad.clone()
    opt = optimizers.SGD(1.0, clipnorm=clipnorm)
    opt.build(ours)
    total = opt.clip_gradients()
    expected = optimizers.clip_reference(theirs, [p.grad for p in theirs if p.grad is not None], clipnorm)
    # one sum of squares in another order: a few ulps of the norm
    torch.testing.assert_close(total, expected, rtol=8 * torch.finfo(dtype).eps, atol=0)
    for a, b in zip(ours, theirs):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            torch.testing.assert_close(a.grad, b.grad, rtol=8 * torch.finfo(dtype).eps, atol=0)


def test_clipping_with_mixed_dtypes_takes_the_reference_path():
    a = torch.nn.Parameter(torch.zeros(2))
    b = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = optimizers.SGD(1.0, clipnorm=1.0)
    opt.build([a, b])
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 4.0], dtype=torch.float64)
    assert float(opt.clip_gradients()) == pytest.approx(5.0)
    torch.testing.assert_close(a.grad, torch.tensor([0.6, 0.0]))


def test_zero_grad_sets_gradients_to_none_as_torch_does():
    p = torch.nn.Parameter(torch.zeros(2))
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="not built"):
        opt.zero_grad()
    opt.build([p])
    p.grad = torch.ones(2)
    opt.zero_grad()
    assert p.grad is None
