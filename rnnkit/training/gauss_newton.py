r"""Exact curvature-matrix products for Hessian-free optimization (:mod:`rnnkit.training.hessian_free`).

At parameters θ (P entries, flattened over the parameter list), on one batch of B examples:

    G v   = Jᵀ H_L J v,      J = ∂z/∂θ,  H_L = ∂²L/∂z²      Gauss–Newton matrix (Schraudolph 2002)
    G_S v = J_hᵀ D_S J_h v,  J_h = ∂h/∂θ                  structural damping on the hidden states h
    C v   = G v + λ v + λ μ G_S v                          the damped curvature CG works with

How the products are computed — exact, by autograd through differentiable ops, not through the fused
kernels. ``Jᵀu`` is one ordinary backward pass. ``Jv`` uses the double-backward trick: with a dummy
cotangent u (zeros, requiring grad), ``a(u) = Jᵀu`` is built once with ``create_graph=True``; it is linear
in u, so ``∂/∂u [a(u) · v] = J v`` exactly. ``H_L w`` is the same trick on ``∂L/∂z`` with z a leaf.
One step builds the forward graph and a(u) once, then each CG iteration runs two backward passes
(``Jv`` then ``Jᵀ(H_L Jv + λμ D_S J_h v)``); this equals Pearlmutter's R-operator result. rnnkit's
fast sequence kernels have hand-written backwards that are not differentiable again: differentiating
through them silently drops terms (Elman kernel, float64: ⟨u, Jv⟩ = −3.50 against ⟨Jᵀu, v⟩ = −10.06), so
the forward given here must run the recurrent layers on their per-step reference cells:
``backend="reference"`` on ``rnnkit.nn`` layers (:func:`check_reference_path`). The first step also runs an
adjoint check ``⟨u, Jv⟩ = ⟨Jᵀu, v⟩`` for random u, v (:func:`check_adjoint`) and raises if it fails.

Structural damping (M&S 2011 §3): the penalty λ μ S(δ), S(δ) = (1/B) Σ_b D(h_b(θ + δ), h_b(θ)) summed
over time steps and units, enters the quadratic model through its Gauss–Newton matrix G_S = J_hᵀ D_S J_h
(the 1/B makes μ mean the same thing at every batch size, as L is a mean). ``hidden_distance``:

- ``"squared"``: D = ½ ‖h' − h‖², D_S = I / B (any hidden nonlinearity).
- ``"tanh_matching"`` (the paper's choice for its tanh units, supplementary Algorithm 1): D is the matching
  loss of tanh on the pre-activations t (h = tanh t), whose Gauss–Newton term is J_tᵀ diag(1 − h²) J_t / B.
  Since J_h = diag(1 − h²) J_t this equals J_hᵀ diag(1 / (1 − h²)) J_h / B, which is what is computed from h
  (1 − h² floored at the dtype's epsilon; where it is that small, J_h v carries the same factor).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = ["HIDDEN_DISTANCES", "Curvature", "Forward", "LossFn", "check_adjoint", "check_reference_path",
           "record_hidden", "reference_path"]

HIDDEN_DISTANCES = ("squared", "tanh_matching")

# forward(batch) -> (z, hidden): z the matched outputs, hidden None, a batch-first (B, T, H) tensor or a
# sequence of them (e.g. one per layer)
Forward = Callable[[Any], tuple[Tensor, Any]]
# loss_fn(z, batch) -> per-example losses (B,) (L is their mean), or the mean itself as a scalar
LossFn = Callable[[Tensor, Any], Tensor]


# --- flat vectors over a parameter list -------------------------------------------------------------------
def _flat(tensors: Sequence[Tensor | None], params: Sequence[Tensor]) -> Tensor:
    """Concatenate per-parameter tensors into one (P,) vector; None (unused parameter) counts as zeros."""
    return torch.cat([(torch.zeros_like(p) if t is None else t).reshape(-1) for t, p in zip(tensors, params)])


def _unflat(v: Tensor, params: Sequence[Tensor]) -> list[Tensor]:
    pieces, offset = [], 0
    for p in params:
        pieces.append(v[offset:offset + p.numel()].view_as(p))
        offset += p.numel()
    return pieces


@torch.no_grad()
def _assign(params: Sequence[Tensor], v: Tensor) -> None:
    for p, piece in zip(params, _unflat(v, params)):
        p.copy_(piece)


def _hidden_list(owner: str, hidden: Any) -> list[Tensor]:
    if hidden is None:
        return []
    hiddens = [hidden] if isinstance(hidden, Tensor) else list(hidden)
    if not hiddens or not all(isinstance(h, Tensor) for h in hiddens):
        raise TypeError(f"{owner}: forward must return (z, hidden) with hidden a (B, T, H) tensor or a list of "
                        f"them; got hidden of type {type(hidden).__name__}.")
    return hiddens


def _call_forward(owner: str, forward: Forward, batch: Any) -> tuple[Tensor, list[Tensor]]:
    out = forward(batch)
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], Tensor)):
        raise TypeError(f"{owner}: forward(batch) must return a pair (z, hidden), z the outputs the loss "
                        f"matches; got {type(out).__name__}. Return (z, None) without structural damping.")
    return out[0], _hidden_list(owner, out[1])


def _mean_loss(owner: str, losses: Any) -> Tensor:
    if not isinstance(losses, Tensor) or losses.dim() > 1:
        got = type(losses).__name__ if not isinstance(losses, Tensor) else f"shape {tuple(losses.shape)}"
        raise ValueError(f"{owner}: loss_fn(z, batch) must return per-example losses of shape (B,) or their "
                         f"mean as a scalar; got {got}.")
    return losses.mean()


# --- curvature-matrix products ----------------------------------------------------------------------------
class Curvature:
    r"""Exact products with G = Jᵀ H_L J and G_S = J_hᵀ D_S J_h on one batch, at the current parameters.

    Builds the forward graph once; every product then costs two backward passes (module docstring).
    ``loss`` is L(θ) on this batch (a float).
    """

    def __init__(self, params: Sequence[Tensor], forward: Forward, loss_fn: LossFn, batch: Any, *,
                 structural: bool = False, hidden_distance: str = "squared") -> None:
        owner = "HessianFree"
        self.params = list(params)
        z, hiddens = _call_forward(owner, forward, batch)
        if structural and not hiddens:
            raise ValueError(f"{owner}: structural_damping > 0 needs the hidden states: forward(batch) must return "
                             "(z, hidden) with hidden a (B, T, H) tensor (or a list of them); got hidden=None. "
                             "Return them, or pass structural_damping=0.")
        self.hiddens = [h.detach() for h in hiddens] if structural else []
        self.hidden_distance = hidden_distance
        # H_L w by double backward through the loss, z a leaf: ∂/∂z [(∂L/∂z) · w]
        self._z = z.detach().requires_grad_(True)
        loss = _mean_loss(owner, loss_fn(self._z, batch))
        self.loss = float(loss.detach())
        (self._dL_dz,) = torch.autograd.grad(loss, self._z, create_graph=True)
        # a(u) = Jᵀu over every matched output (z, then the hidden states), built once, linear in u
        self._outputs = [z, *(hiddens if structural else [])]
        self._u = [torch.zeros_like(o, requires_grad=True) for o in self._outputs]
        jtu = torch.autograd.grad(self._outputs, self.params, self._u, create_graph=True, allow_unused=True)
        self._used = [k for k, a in enumerate(jtu) if a is not None and a.requires_grad]
        self._jtu = [jtu[k] for k in self._used]

    # J v and Jᵀ w for all matched outputs
    def jvp(self, v: Tensor) -> list[Tensor]:
        """[J v, J_h v, …] for a (P,) vector v: ∂/∂u [a(u) · v], exact since a is linear in u."""
        vs = _unflat(v, self.params)
        jv = torch.autograd.grad(self._jtu, self._u, [vs[k] for k in self._used], retain_graph=True,
                                 allow_unused=True)
        return [torch.zeros_like(u) if t is None else t for u, t in zip(self._u, jv)]

    def vjp(self, cotangents: Sequence[Tensor]) -> Tensor:
        """Σ_o J_oᵀ w_o as a (P,) vector: one backward pass through the forward graph."""
        grads = torch.autograd.grad(self._outputs, self.params, list(cotangents), retain_graph=True,
                                    allow_unused=True)
        return _flat(grads, self.params)

    def loss_hessian(self, w: Tensor) -> Tensor:
        """H_L w, H_L = ∂²L/∂z²."""
        if not self._dL_dz.requires_grad:                    # ∂L/∂z constant in z (a loss linear in z): H_L = 0
            return torch.zeros_like(w)
        (hw,) = torch.autograd.grad(self._dL_dz, self._z, w, retain_graph=True, allow_unused=True)
        return torch.zeros_like(w) if hw is None else hw

    def hidden_metric(self, jh_v: Sequence[Tensor]) -> list[Tensor]:
        """D_S (J_h v) per hidden tensor: I / B ("squared") or diag(1 / (1 − h²)) / B ("tanh_matching")."""
        out = []
        for h, w in zip(self.hiddens, jh_v):
            B = h.shape[0]
            if self.hidden_distance == "squared":
                out.append(w / B)
            else:
                slope = (1 - h * h).clamp_min(torch.finfo(h.dtype).eps)      # tanh'(t) = 1 − h²
                out.append(w / (slope * B))
        return out

    def gauss_newton(self, v: Tensor) -> Tensor:
        """G v = Jᵀ H_L J v."""
        jv = self.jvp(v)
        return self.vjp([self.loss_hessian(jv[0]), *(torch.zeros_like(h) for h in self.hiddens)])

    def structural(self, v: Tensor) -> Tensor:
        """G_S v = J_hᵀ D_S J_h v (without the factor λ μ); zeros without hidden states."""
        if not self.hiddens:
            return torch.zeros_like(v)
        jv = self.jvp(v)
        return self.vjp([torch.zeros_like(jv[0]), *self.hidden_metric(jv[1:])])

    def damped(self, v: Tensor, damping: float, structural_damping: float = 0.0) -> Tensor:
        """C v = G v + λ v + λ μ G_S v, in one pair of passes."""
        jv = self.jvp(v)
        hidden_terms = [damping * structural_damping * t for t in self.hidden_metric(jv[1:])]
        return self.vjp([self.loss_hessian(jv[0]), *hidden_terms]) + damping * v


def check_adjoint(curvature: Curvature, *, generator: torch.Generator | None = None) -> None:
    """Raise ValueError unless ⟨u, J v⟩ = ⟨Jᵀu, v⟩ for random u, v (to √eps of the terms' size).

    A recurrent layer on a fused kernel passes its ordinary backward (Jᵀu is right) but not its double
    backward, so J v misses terms and the two sides differ by far more than rounding.
    """
    params = curvature.params
    dtype = params[0].dtype
    v = torch.randn(sum(p.numel() for p in params), generator=generator, dtype=dtype).to(params[0].device)
    u = [torch.randn(o.shape, generator=generator, dtype=o.dtype).to(o.device) for o in curvature._outputs]
    jv = curvature.jvp(v)
    jtu = curvature.vjp(u)
    left = sum(float((a * b).sum()) for a, b in zip(u, jv))
    right = float(jtu @ v)
    scale = (sum(float(a.norm() * b.norm()) for a, b in zip(u, jv)) + float(jtu.norm() * v.norm())) or 1.0
    if abs(left - right) > math.sqrt(torch.finfo(dtype).eps) * scale:
        raise ValueError(
            "HessianFree: the Jacobian-vector product is not exact: <u, Jv> = "
            f"{left:.6g} but <J^T u, v> = {right:.6g}. forward must be differentiable twice; rnnkit's fused "
            "sequence kernels are not. Build the recurrent layers with backend='reference' (the per-step "
            "cells), e.g. rnnkit.nn.RNN(..., backend='reference'), or use check_reference_path(module)."
        )


def check_reference_path(module: torch.nn.Module) -> None:
    """Raise ValueError if a recurrent layer inside ``module`` would run a fused kernel or torch.nn's layer."""
    from rnnkit.nn.recurrent import RecurrentLayer

    for name, layer in module.named_modules():
        if isinstance(layer, RecurrentLayer) and layer.backend != "reference":
            raise ValueError(
                f"HessianFree: {name or type(layer).__name__} ({type(layer).__name__}) has backend="
                f"{layer.backend!r}; Gauss–Newton products differentiate its backward, which only the per-step "
                "reference cells allow. Build it with backend='reference' (or set layer.backend = 'reference')."
            )


@contextlib.contextmanager
def reference_path(module: torch.nn.Module) -> Iterator[None]:
    """Run every ``rnnkit.nn`` recurrent layer inside ``module`` on its per-step reference cells for the
    duration (``backend="reference"``, read at each call), then restore each layer's backend."""
    from rnnkit.nn.recurrent import RecurrentLayer

    layers = [m for m in module.modules() if isinstance(m, RecurrentLayer)]
    saved = [layer.backend for layer in layers]
    try:
        for layer in layers:
            layer.backend = "reference"
        yield
    finally:
        for layer, backend in zip(layers, saved):
            layer.backend = backend


@contextlib.contextmanager
def record_hidden(module: torch.nn.Module) -> Iterator[list[Tensor]]:
    """Collect the output sequence (B, T, D*H) of every ``rnnkit.nn`` recurrent layer inside ``module`` on each
    forward call while the block runs: the hidden states h for structural damping, with no change to the
    model. A stacked layer (num_layers > 1) gives its top layer only; padded steps are zeros (y_t = m_t h_t)."""
    from rnnkit.nn.recurrent import RecurrentLayer

    hidden: list[Tensor] = []

    def keep(layer: Any, inputs: Any, output: Any) -> None:
        y = output[0]
        if not isinstance(y, Tensor):
            raise ValueError(f"HessianFree: {type(layer).__name__} was given a PackedSequence; structural damping "
                             "needs padded tensors, so pass x padded with lengths= instead.")
        hidden.append(y if layer.batch_first else y.transpose(0, 1))

    handles = [m.register_forward_hook(keep) for m in module.modules() if isinstance(m, RecurrentLayer)]
    try:
        yield hidden
    finally:
        for handle in handles:
            handle.remove()
