"""How far two float32 implementations of one kernel may differ: a bound derived per comparison.

Why not a fixed 1e-5. The C++ kernels build with ``-march=native`` (or ``$RNNKIT_MARCH``), so FMA contraction,
vector width and MKL's blocking decide the order of every float32 rounding, and that order changes from CPU to
CPU. Two correct float32 implementations then differ by their rounding errors, and those scale with the size
of the numbers and with how the computation amplifies them: a long sequence carries step t's rounding through
every later step, a layer norm divides it by σ of its row (up to 1/√ε ≈ 316 for a nearly constant row), and a
weight gradient sums T·B terms whose cancellation leaves their rounding in a smaller result. A fixed tolerance is
too loose for small cases and too tight for others (an Intel Xeon failed 1e-5 by 1.45e-5 on a LayerNorm-LSTM
case that passes here).

The bound. With u = 2⁻²⁴ (float32's unit roundoff) every float32 operation returns the exact result for
operands perturbed by a relative amount of at most u (a K-term dot product: at most γ_K ≈ K·u, spread over its
terms). To first order, an implementation's error in an output y is therefore

    y32 - y = Σ_k (∂y/∂v_k) · v_k · δ_k,    |δ_k| <= u,                                     (1)

summed over every value v_k it rounds, inputs included. The factor (∂y/∂v_k) v_k is where the magnitude,
the 1/σ amplification, the growth over T and the cancellation come from; it belongs to the function, not to the
implementation. We measure it rather than bound it by hand: ``perturbation`` runs the float64 reference with
every input and loss weight multiplied by 1 + u·ξ (ξ = ±1 at random) and takes |y(perturbed) - y|, the sum (1)
over the inputs with random signs, ≈ u · ‖∂y/∂v ⊙ v‖₂. (It also adds ±FLT_MIN to each input: the compiled
kernels flush subnormal results to zero, rnnkit/kernels/compiled/denormals.h, an absolute error below FLT_MIN
= 2⁻¹²⁶ that the same dynamics carry; it matters only where values decay to ~1e-38.) In that measure the float64 reference carries the
input perturbations through the same dynamics as the kernels carry their rounding: over T steps, through
every layer norm, into every sum over T·B.

An implementation rounds more often than the inputs: each step's products over K = I + H terms, each
gradient's sum over T·B terms; with random-sign errors these add up like a random walk, ≈ √K (or √(log T·B)
per level of MKL's blocked sums) times the input term. Measured on an AMD EPYC (AVX2, FMA) over ~300 cases of
the five kernels (T 6 to 1000, H 4 to 32, K = I + H <= 37, lengths, reverse, dropout, zoneout, no bias; table in
bench/README.md, "float32 bounds"), the largest |compiled - Python| was 11.4 and the largest
|compiled - float64| 12.1 times the measure, while a fixed tolerance would have had to span four orders of
magnitude (LayerNorm-LSTM: |compiled - Python| / (u max|y|) up to 17000). ``FACTOR`` = 64 leaves a 5x margin
for other CPUs' orders (CI also runs these tests built for x86-64-v2: no FMA, 128-bit vectors) and for wider
layers (the ratio grows like √K), and still lies far below what a wrong formula does
(tests/kernels_fast/test_bounds.py injects errors: a gate the wrong way round, an output one step late, the
last output's gradient lost; each must exceed the bound 10x).

The bound is per compared tensor: ``FACTOR`` times its largest measured sensitivity, plus FLT_MIN (a tensor the
inputs cannot move, such as a zero gradient, may still differ by one flushed subnormal).

Growth with T is measured, not assumed: errors made at step t reach step t + k through the k-step Jacobian, so
they fade (contractive weights), add up like √T (random signs) or T (norm-preserving dynamics) or explode
(chaotic weights, where no tolerance works: long-sequence tests use a contractive W_hh). A fixed f(T) would be
wrong in at least one of these regimes; the perturbed reference follows the actual one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

U = 2.0 ** -24                    # float32 unit roundoff
FLT_MIN = 2.0 ** -126             # smallest normal float32: what flushing a subnormal can change
FACTOR = 64.0                     # rounding in the implementation vs the perturbation measure; see above
DRAWS = 2                         # random perturbations; the larger response is kept


def perturbation(reference: Callable[..., Sequence[Tensor]], inputs: Sequence[Tensor | None], *,
                 draws: int = DRAWS, seed: int = 0) -> tuple[list[Tensor], list[float]]:
    """reference(*inputs) (float64 inputs, None passes through) and, for each tensor it returns, the largest
    change of any entry when every input is multiplied by 1 + u·ξ (ξ = ±1 at random), the worst of ``draws``
    draws."""
    base = [r.detach() for r in reference(*inputs)]
    worst = [0.0] * len(base)
    g = torch.Generator().manual_seed(seed)
    for _ in range(draws):
        moved = [None if t is None else _perturbed(t, g) for t in inputs]
        for k, (r, p) in enumerate(zip(base, reference(*moved))):
            if r.numel():
                worst[k] = max(worst[k], (p.detach() - r).abs().max().item())
    return base, worst


def _perturbed(t: Tensor, g: torch.Generator) -> Tensor:
    """t ⊙ (1 + u ξ) + FLT_MIN ξ': the relative error of a rounding, and the absolute one of a flushed subnormal."""
    sign = 2.0 * torch.randint(0, 2, t.shape, generator=g, dtype=t.dtype) - 1.0
    flush = 2.0 * torch.randint(0, 2, t.shape, generator=g, dtype=t.dtype) - 1.0
    out = t.detach() * (1.0 + U * sign) + FLT_MIN * flush
    return out.requires_grad_() if t.requires_grad else out


def float32_bounds(reference: Callable[..., Sequence[Tensor]], inputs: Sequence[Tensor | None], **kw) -> list[float]:
    """The largest |a - b| allowed between two float32 implementations, per tensor ``reference`` returns."""
    return [FACTOR * s + FLT_MIN for s in perturbation(reference, inputs, **kw)[1]]


def wide(t: Tensor | None) -> Tensor | None:
    """t in float64 (exactly: every float32 is a float64), None as None."""
    return None if t is None else t.detach().double()


def outputs_and_grads(run: Callable[[list], Sequence[Tensor]], inputs: Sequence[Tensor | None],
                      weights: Sequence[Tensor], grad: bool = True) -> list[Tensor]:
    """run(inputs)'s outputs, then (grad=True) the gradient of Σ_k Σ outputs_k ⊙ weights_k with respect to each
    input that requires grad: everything a kernel computes, as one flat list."""
    with torch.set_grad_enabled(grad):
        outs = list(run(list(inputs)))
    if not grad:
        return [o.detach() for o in outs]
    loss = sum((o * w.to(o.dtype)).sum() for o, w in zip(outs, weights))
    wrt = [t for t in inputs if t is not None and t.requires_grad]
    return [o.detach() for o in outs] + list(torch.autograd.grad(loss, wrt))


def loss_weights(shapes: Sequence[torch.Size], seed: int = 123) -> list[Tensor]:
    """Random float32 weights for each output (drawn in float64: the same numbers whatever the dtype tested)."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=torch.float64).float() for shape in shapes]


def float32_comparison(fast: Callable[[list], Sequence[Tensor]], slow: Callable[[list], Sequence[Tensor]] | None,
                       reference: Callable[[list], Sequence[Tensor]], inputs: Sequence[Tensor | None], *,
                       grad: bool = True, seed: int = 123) -> tuple[list[Tensor], list[Tensor], list[float], list[str]]:
    """(fast's results, slow's results, their bounds, names): fast(inputs) and slow(inputs) are float32
    implementations, reference the slow one in float64 (it gets the inputs in float64); the results are the
    outputs and, with grad=True, the gradients of a random weighting of them. slow=None: the float64
    reference's results instead of slow's (the bound covers each implementation's own error too). Checks that
    the case is worth comparing in float32 (``assert_meaningful``)."""
    n = len(inputs)
    leaves = [None if t is None else wide(t).requires_grad_(t.requires_grad) for t in inputs]
    with torch.no_grad():
        shapes = [o.shape for o in fast(list(inputs))]
    weights = loss_weights(shapes, seed)
    a = outputs_and_grads(fast, inputs, weights, grad)
    exact, sensitivity = perturbation(lambda *t: outputs_and_grads(reference, t[:n], t[n:], grad),
                                      [*leaves, *(w.double() for w in weights)])
    b = exact if slow is None else outputs_and_grads(slow, inputs, weights, grad)
    bounds = [FACTOR * s + FLT_MIN for s in sensitivity]
    wrt = [k for k, t in enumerate(inputs) if t is not None and t.requires_grad] if grad else []
    names = [f"output {k}" for k in range(len(shapes))] + [f"gradient of input {k}" for k in wrt]
    assert_meaningful(exact, bounds, names)
    return a, b, bounds, names


def assert_float32_agrees(fast: Callable[[list], Sequence[Tensor]], slow: Callable[[list], Sequence[Tensor]] | None,
                          reference: Callable[[list], Sequence[Tensor]], inputs: Sequence[Tensor | None], *,
                          grad: bool = True, seed: int = 123) -> float:
    """fast and slow agree within the bound on these inputs (see ``float32_comparison``); returns the worst
    |a - b| / bound."""
    a, b, bounds, names = float32_comparison(fast, slow, reference, inputs, grad=grad, seed=seed)
    assert_within(a, b, bounds, names)
    return worst_ratio(a, b, bounds)


def assert_meaningful(exact: Sequence[Tensor], bounds: Sequence[float], names: Sequence[str] | None = None,
                      digits: float = 2.0) -> None:
    """The case keeps ``digits`` decimal digits in float32: each bound below 10^-digits of its tensor's largest
    value. A chaotic case (or a layer norm of a nearly constant row at every step) fails here, not in a
    comparison it would make meaningless: a bound as large as the values catches no bug."""
    for k, (e, bound) in enumerate(zip(exact, bounds)):
        scale = e.abs().max().item() if e.numel() else 0.0
        if scale < 10.0 ** digits * FLT_MIN:
            continue   # at the bottom of float32's range (a state decayed to ~0): only its smallness to compare
        assert bound <= 10.0 ** -digits * scale, (
            f"{_name(names, k)}: float32 keeps fewer than {digits:g} digits of this case (bound {bound:.3g}, "
            f"values up to {scale:.3g}); make the recurrence contractive (smaller W_hh, or γ_hh with layer norm)")


def assert_within(actual: Sequence[Tensor], expected: Sequence[Tensor], bounds: Sequence[float],
                  names: Sequence[str] | None = None) -> None:
    """Every |actual - expected| within its tensor's bound; the message names the tensor and the ratio."""
    assert len(actual) == len(expected) == len(bounds), (len(actual), len(expected), len(bounds))
    for k, (a, b, bound) in enumerate(zip(actual, expected, bounds)):
        assert a.shape == b.shape, f"{_name(names, k)}: shapes {tuple(a.shape)} vs {tuple(b.shape)}"
        err = (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
        assert err <= bound, (f"{_name(names, k)}: max |a - b| = {err:.3g} exceeds the float32 bound {bound:.3g} "
                              f"({err / bound:.1f}x; bound = {FACTOR:g} x perturbation + FLT_MIN, see _bounds.py)")


def worst_ratio(actual: Sequence[Tensor], expected: Sequence[Tensor], bounds: Sequence[float]) -> float:
    """max over tensors of max |actual - expected| / bound (<= 1: within the bound)."""
    return max(((a.double() - b.double()).abs().max().item() / bound
                for a, b, bound in zip(actual, expected, bounds) if a.numel()), default=0.0)


def _name(names: Sequence[str] | None, k: int) -> str:
    return names[k] if names and k < len(names) else f"tensor {k}"
