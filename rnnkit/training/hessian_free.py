r"""Hessian-free optimization with structural damping (Martens 2010; Martens & Sutskever 2011).

One step at parameters θ (all vectors flattened over the parameter list, P entries):

    g   = ∇L(θ)                                   on the gradient batch (the larger one)
    C v = G v + λ v + λ μ G_S v                   on the curvature batch (the smaller one)
    G   = Jᵀ H_L J,    J = ∂z/∂θ,  H_L = ∂²L/∂z²  Gauss–Newton matrix (M&S 2011 §2, Schraudolph 2002)
    G_S = J_hᵀ D_S J_h,  J_h = ∂h/∂θ               structural damping on the hidden states (M&S 2011 §3)
    q(δ) = ½ δᵀ C δ + gᵀ δ                         the damped quadratic model
    δ   ≈ argmin q  by preconditioned CG, x₀ = ζ δ_prev         (Martens 2010 §4.5, §4.7)
    δ  := the kept CG iterate with the lowest L(θ + δ_i)         (CG-backtracking, Martens 2010 §4.6)
    ρ   = (L(θ + δ) − L(θ)) / q(δ);  ρ < ¼: λ ← (3/2) λ;  ρ > ¾: λ ← (2/3) λ   (Levenberg–Marquardt, §4.1)
    θ  ← θ + α δ,  α the first of 1, 0.8, 0.8², … with L(θ + αδ) ≤ L(θ) + c α gᵀδ, else 0
                                                  (line search, Martens & Sutskever 2012, "Training deep and
                                                   recurrent networks with Hessian-free optimization")

``z`` are the outputs the loss matches: linear outputs under mean squared error, logits under softmax
cross-entropy. Both are matching losses, so H_L is positive semi-definite and so are G and C (for λ > 0,
C is positive definite). ``L`` is the mean over examples of per-example losses ℓ_b.

The curvature products G v and G_S v, exact by double backward through the per-step reference cells, and
the structural-damping metric D_S are in :mod:`rnnkit.training.gauss_newton`.

Preconditioner (Martens 2010 §4.7): M = (diag((1/B) Σ_b ∇ℓ_b ⊙ ∇ℓ_b) + λ)^α, α = 0.75, from per-example
gradients of the preconditioner batch (one batched backward, ``is_grads_batched``, whose cost grows as its size
squared: a few dozen examples estimate the diagonal, where per-example gradients of the whole gradient batch
would cost B backward passes; the curvature batch by default). Martens sums the squared
gradients of a summed objective; with L a mean, the (1/B)-scaled sum is on the scale of G and λ.

Departures from the papers, on purpose: ρ uses the damped model q (the one CG minimised, whose value CG
tracks, so it costs no extra product); L(θ + δ) for backtracking, ρ and the line search is measured by
default on the gradient batch (``objective_batch="gradient"``): q's linear term gᵀδ comes from that batch,
so only there does the actual reduction agree with the predicted one to first order (ρ → 1 as δ → 0), and
it is the larger batch; ``objective_batch="curvature"`` measures it on the curvature batch instead (on the
memory task of the tests, the curvature batch made HF several times worse at a quarter of the gradient
batch). CG restarts from 0 when q(ζ δ_prev) > 0; the warm start is the last CG iterate, not the backtracked
one. Module train/eval modes are the caller's: dropout inside ``forward`` would make G random.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import Tensor

from rnnkit.training.gauss_newton import (
    HIDDEN_DISTANCES, Curvature, Forward, LossFn, _assign, _call_forward, _flat, _mean_loss, check_adjoint,
    check_reference_path, record_hidden, reference_path,
)
from rnnkit.training.step import Diverged

__all__ = [
    "HIDDEN_DISTANCES",
    "OBJECTIVE_BATCHES",
    "CGResult",
    "Curvature",
    "HessianFree",
    "HessianFreeConfig",
    "check_adjoint",
    "check_reference_path",
    "conjugate_gradient",
    "levenberg_marquardt",
    "record_hidden",
    "reference_path",
]

OBJECTIVE_BATCHES = ("gradient", "curvature")


# --- configuration ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class HessianFreeConfig:
    """Hyperparameters; the defaults are the papers' unless said otherwise."""

    damping: float = 1.0                  # λ₀, initial Tikhonov damping (adapted by Levenberg–Marquardt)
    structural_damping: float = 0.0       # μ; M&S 2011 used 1/30. 0: off (forward's hidden is then ignored)
    hidden_distance: str = "squared"      # D of the structural term: "squared" or "tanh_matching" (paper)
    preconditioner: bool = True           # M = (diag(Fisher) + λ)^α; needs per-example losses
    preconditioner_exponent: float = 0.75  # α
    cg_decay: float = 0.95                # ζ: CG starts from ζ δ_prev
    cg_max_iterations: int = 250          # Martens 2010 capped CG at 250 iterations
    cg_tolerance: float = 5e-4            # ε of the relative-progress stop
    cg_keep_ratio: float = 1.3            # γ: iterates kept at i = ⌈γ^j⌉ for backtracking
    damping_boost: float = 1.5            # λ ← boost λ when ρ < 1/4
    damping_drop: float = 2.0 / 3.0       # λ ← drop λ when ρ > 3/4
    line_search: bool = True
    armijo: float = 1e-2                  # c of the sufficient-decrease test (Martens & Sutskever 2012)
    line_search_shrink: float = 0.8
    line_search_tries: int = 20
    check_exactness: bool = True          # adjoint check of Jv on the first step
    objective_batch: str = "gradient"     # where L(θ + δ) is measured (backtracking, ρ, line search)

    def __post_init__(self) -> None:
        owner = "HessianFree"
        _number(owner, "damping", self.damping, low=0.0, open_low=True,
                fix="Pass e.g. damping=1.0 (Levenberg–Marquardt adapts it from there).")
        _number(owner, "structural_damping", self.structural_damping, low=0.0,
                fix="Pass 0 to switch structural damping off, or e.g. structural_damping=1/30 as in the paper.")
        if self.hidden_distance not in HIDDEN_DISTANCES:
            raise ValueError(f"{owner}: hidden_distance must be one of {HIDDEN_DISTANCES}; "
                             f"got {self.hidden_distance!r}.")
        _number(owner, "preconditioner_exponent", self.preconditioner_exponent, low=0.0, high=1.0)
        _number(owner, "cg_decay", self.cg_decay, low=0.0, high=1.0)
        _integer(owner, "cg_max_iterations", self.cg_max_iterations)
        _number(owner, "cg_tolerance", self.cg_tolerance, low=0.0, open_low=True)
        _number(owner, "cg_keep_ratio", self.cg_keep_ratio, low=1.0, open_low=True,
                fix="Pass e.g. cg_keep_ratio=1.3 (iterates 1, 2, 3, 4, 5, 7, 9, … are kept).")
        _number(owner, "damping_boost", self.damping_boost, low=1.0, open_low=True)
        _number(owner, "damping_drop", self.damping_drop, low=0.0, high=1.0, open_low=True, open_high=True)
        _number(owner, "armijo", self.armijo, low=0.0, high=1.0, open_high=True)
        _number(owner, "line_search_shrink", self.line_search_shrink, low=0.0, high=1.0, open_low=True,
                open_high=True)
        _integer(owner, "line_search_tries", self.line_search_tries)
        if self.objective_batch not in OBJECTIVE_BATCHES:
            raise ValueError(f"{owner}: objective_batch must be one of {OBJECTIVE_BATCHES}; "
                             f"got {self.objective_batch!r}.")
        for flag in ("preconditioner", "line_search", "check_exactness"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{owner}: {flag} must be a bool; got {type(getattr(self, flag)).__name__} "
                                f"{getattr(self, flag)!r}.")


def _number(owner: str, arg: str, value: Any, *, low: float | None = None, high: float | None = None,
            open_low: bool = False, open_high: bool = False, fix: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}: {arg} must be a number; got {type(value).__name__} {value!r}.")
    below = low is not None and (value <= low if open_low else value < low)
    above = high is not None and (value >= high if open_high else value > high)
    if not math.isfinite(value) or below or above:
        lo = "" if low is None else f"{'(' if open_low else '['}{low:g}"
        hi = "inf)" if high is None else f"{high:g}{')' if open_high else ']'}"
        raise ValueError(f"{owner}: {arg} must be in {lo}, {hi}; got {value}." + (f" {fix}" if fix else ""))


def _integer(owner: str, arg: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}: {arg} must be an int; got {type(value).__name__} {value!r}.")
    if value < 1:
        raise ValueError(f"{owner}: {arg} must be >= 1; got {value}.")


# --- conjugate gradient -----------------------------------------------------------------------------------
@dataclass
class CGResult:
    """``values[i]`` = q(x_i) for i = 0 … iterations (x_0 the start); ``kept`` = [(i, x_i, q(x_i))] at
    i = ⌈γ^j⌉ and at the last iteration; ``x`` the last iterate; ``reason`` why CG stopped."""

    x: Tensor
    values: list[float]
    kept: list[tuple[int, Tensor, float]]
    iterations: int
    reason: str


def conjugate_gradient(
    matvec: Callable[[Tensor], Tensor], g: Tensor, x0: Tensor | None = None, *,
    preconditioner: Tensor | None = None, max_iterations: int = 250, tolerance: float = 5e-4,
    keep_ratio: float = 1.3,
) -> CGResult:
    r"""Preconditioned CG on q(x) = ½ xᵀ A x + gᵀ x (A x = −g), A given by ``matvec`` (Martens 2010 §4).

        r_0 = A x_0 + g,  y_0 = r_0 / M,  p_0 = −y_0
        α_i = r_iᵀ y_i / p_iᵀ A p_i,  x_{i+1} = x_i + α_i p_i,  r_{i+1} = r_i + α_i A p_i
        β_i = r_{i+1}ᵀ y_{i+1} / r_iᵀ y_i,  p_{i+1} = −y_{i+1} + β_i p_i
        q(x_i) = ½ x_iᵀ (r_i + g)        (A x = r − g, so ½ xᵀAx + gᵀx = ½ xᵀ(r + g))

    Stops at iteration i > k = max(10, ⌈0.1 i⌉) once q_i < 0 and (q_i − q_{i−k}) / q_i < k ε
    (relative progress over the last k iterations, §4.4), at ``max_iterations``, or at pᵀAp ≤ 0.
    When q(x_0) > 0 (a stale warm start) it restarts from x_0 = 0, where q = 0.
    """
    M = torch.ones_like(g) if preconditioner is None else preconditioner
    x = torch.zeros_like(g) if x0 is None else x0.clone()
    r = matvec(x) + g
    q = 0.5 * float(x @ (r + g))
    if q > 0:
        x, r, q = torch.zeros_like(g), g.clone(), 0.0
    y = r / M
    p = -y
    ry = float(r @ y)
    values, kept = [q], []
    next_keep, j = 1, 1
    reason, i = "max_iterations", 0
    while i < max_iterations:
        if ry == 0:                                   # r = 0: x solves A x = −g exactly
            reason = "converged"
            break
        Ap = matvec(p)
        pAp = float(p @ Ap)
        if pAp <= 0:
            reason = "non-positive curvature"
            break
        alpha = ry / pAp
        x = x + alpha * p
        r = r + alpha * Ap
        y = r / M
        ry_next = float(r @ y)
        p = -y + (ry_next / ry) * p
        ry = ry_next
        i += 1
        q = 0.5 * float(x @ (r + g))
        values.append(q)
        if i == next_keep:
            kept.append((i, x.clone(), q))
            while next_keep <= i:                     # ⌈γ^j⌉ repeats for small j: 1, 2, 3, 4, 5, 7, 9, …
                j += 1
                next_keep = math.ceil(keep_ratio ** j)
        k = max(10, math.ceil(0.1 * i))
        if i > k and q < 0 and (q - values[i - k]) / q < k * tolerance:
            reason = "relative progress"
            break
    if i > 0 and (not kept or kept[-1][0] != i):
        kept.append((i, x.clone(), q))
    return CGResult(x=x, values=values, kept=kept, iterations=i, reason=reason)


def levenberg_marquardt(damping: float, rho: float, *, boost: float = 1.5, drop: float = 2.0 / 3.0) -> float:
    """λ ← boost λ if ρ < 1/4, drop λ if ρ > 3/4, else λ (Martens 2010 §4.1); a NaN ρ leaves λ."""
    if rho < 0.25:
        return damping * boost
    if rho > 0.75:
        return damping * drop
    return damping


# --- the optimizer ----------------------------------------------------------------------------------------
class HessianFree:
    """Hessian-free optimizer over ``params`` (see the module docstring for the algorithm).

        hf = HessianFree(model.parameters(), damping=1.0, structural_damping=1 / 30)
        logs = hf.step(forward, loss_fn, grad_batch, curvature_batch)

    ``forward(batch) -> (z, hidden)``; ``loss_fn(z, batch) -> (B,)`` per-example losses. ``step`` changes the
    parameters in place and returns floats: ``loss`` (gradient batch, before), ``loss_after`` (the objective
    batch, after), ``damping`` (λ for the next step), ``rho``, ``cg_iterations``, ``cg_chosen``, ``step_size``.
    """

    def __init__(self, params: Iterable[Tensor], **config: Any) -> None:
        names = {f.name for f in fields(HessianFreeConfig)}
        unknown = sorted(set(config) - names)
        if unknown:
            raise TypeError(f"HessianFree: unknown argument(s) {unknown}; expected some of {sorted(names)}.")
        self.config = HessianFreeConfig(**config)
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("HessianFree: params has no tensors that require grad; pass model.parameters().")
        if len({p.dtype for p in self.params}) != 1:
            dtypes = sorted({str(p.dtype) for p in self.params})
            raise TypeError(f"HessianFree: all params must share one dtype; got {dtypes}. Convert the model with "
                            "model.to(torch.float64) (or float32) first.")
        self.damping = self.config.damping                   # λ, adapted every step
        self._previous: Tensor | None = None                 # the last CG solution, for the warm start
        self.steps = 0

    # -- pieces, public for tests and for custom loops ------------------------------------------------------
    def gradient(self, forward: Forward, loss_fn: LossFn, batch: Any) -> tuple[float, Tensor]:
        """L(θ) and g = ∇L(θ) on ``batch`` (one backward pass)."""
        owner = "HessianFree"
        z, _ = _call_forward(owner, forward, batch)
        loss = _mean_loss(owner, loss_fn(z, batch))
        grads = torch.autograd.grad(loss, self.params, allow_unused=True)
        return float(loss.detach()), _flat(grads, self.params)

    def fisher_diagonal(self, forward: Forward, loss_fn: LossFn, batch: Any) -> Tensor:
        """(1/B) Σ_b ∇ℓ_b ⊙ ∇ℓ_b over the B examples of ``batch``, from one batched backward (``is_grads_batched``
        with the B×B identity as cotangents): its cost and memory grow as B², so give a small batch (the train
        step of ``compile(optimizer="hessian_free")`` passes at most 32 rows)."""
        owner = "HessianFree"
        z, _ = _call_forward(owner, forward, batch)
        losses = loss_fn(z, batch)
        _mean_loss(owner, losses)
        if losses.dim() != 1:
            raise ValueError(f"{owner}: the preconditioner needs per-example losses: loss_fn(z, batch) must return "
                             "shape (B,), not their mean; or pass preconditioner=False.")
        B = losses.shape[0]
        eye = torch.eye(B, dtype=losses.dtype, device=losses.device)
        per_example = torch.autograd.grad(losses, self.params, eye, is_grads_batched=True, allow_unused=True)
        return _flat([None if t is None else (t * t).sum(0) / B for t in per_example], self.params)

    @torch.no_grad()
    def objective(self, forward: Forward, loss_fn: LossFn, batch: Any, theta: Tensor) -> float:
        """L(θ) on ``batch`` with the parameters set to ``theta`` (a (P,) vector); they stay so."""
        _assign(self.params, theta)
        z, _ = _call_forward("HessianFree", forward, batch)
        return float(_mean_loss("HessianFree", loss_fn(z, batch)))

    # -- one step ----------------------------------------------------------------------------------------
    def step(self, forward: Forward, loss_fn: LossFn, grad_batch: Any, curvature_batch: Any = None,
             preconditioner_batch: Any = None, *, curvature_forward: Forward | None = None) -> dict[str, float]:
        """One HF update; ``curvature_batch`` defaults to ``grad_batch``, ``preconditioner_batch`` (the examples
        whose squared gradients make the preconditioner, cost quadratic in their number) to ``curvature_batch``.
        ``curvature_forward`` (default ``forward``) runs the curvature products and the preconditioner and must be
        twice differentiable; ``forward`` then only needs an exact first backward (the gradient) and no-grad calls
        (the objective), so it may run fused kernels, and its hidden states are not used."""
        cfg = self.config
        exact = forward if curvature_forward is None else curvature_forward
        curvature_batch = grad_batch if curvature_batch is None else curvature_batch
        preconditioner_batch = curvature_batch if preconditioner_batch is None else preconditioner_batch
        theta = _flat([p.detach() for p in self.params], self.params).clone()
        loss, g = self.gradient(forward, loss_fn, grad_batch)
        if not (math.isfinite(loss) and bool(torch.isfinite(g).all())):
            raise Diverged(f"the loss became {loss}" if not math.isfinite(loss) else "the gradient became non-finite")
        fisher = self.fisher_diagonal(exact, loss_fn, preconditioner_batch) if cfg.preconditioner else None
        curvature = Curvature(self.params, exact, loss_fn, curvature_batch, structural=cfg.structural_damping > 0,
                              hidden_distance=cfg.hidden_distance)
        if cfg.check_exactness and self.steps == 0:
            check_adjoint(curvature)
        lam, mu = self.damping, cfg.structural_damping
        M = None if fisher is None else (fisher + lam) ** cfg.preconditioner_exponent
        x0 = None if self._previous is None else cfg.cg_decay * self._previous
        cg = conjugate_gradient(lambda v: curvature.damped(v, lam, mu), g, x0, preconditioner=M,
                                max_iterations=cfg.cg_max_iterations, tolerance=cfg.cg_tolerance,
                                keep_ratio=cfg.cg_keep_ratio)
        self._previous = cg.x.detach()
        on_gradient = cfg.objective_batch == "gradient"
        f0 = loss if on_gradient else curvature.loss
        objective_batch = grad_batch if on_gradient else curvature_batch
        del curvature                                         # frees the graphs before the extra forwards
        logs = {"loss": loss, "loss_after": f0, "damping": lam, "rho": float("nan"),
                "cg_iterations": float(cg.iterations), "cg_chosen": 0.0, "step_size": 0.0}
        if not cg.kept:
            _assign(self.params, theta)
            self.steps += 1
            return logs
        try:
            return self._choose_and_apply(forward, loss_fn, objective_batch, theta, g, f0, cg, logs)
        except BaseException:
            _assign(self.params, theta)                      # an error while trying steps leaves θ as it was
            raise

    def _choose_and_apply(self, forward: Forward, loss_fn: LossFn, objective_batch: Any, theta: Tensor, g: Tensor,
                          f0: float, cg: CGResult, logs: dict[str, float]) -> dict[str, float]:
        """Backtrack over the kept CG iterates, adapt λ, search the step size, and set θ + α δ."""
        cfg, lam = self.config, self.damping
        # CG-backtracking (§4.6): walk back from the last kept iterate while L keeps decreasing
        chosen, delta, q = cg.kept[-1]
        f_delta = self.objective(forward, loss_fn, objective_batch, theta + delta)
        for i, x, qi in reversed(cg.kept[:-1]):
            fi = self.objective(forward, loss_fn, objective_batch, theta + x)
            if fi >= f_delta:
                break
            chosen, delta, q, f_delta = i, x, qi, fi
        rho = (f_delta - f0) / q if q < 0 else float("nan")
        self.damping = levenberg_marquardt(lam, rho, boost=cfg.damping_boost, drop=cfg.damping_drop)
        # line search on the step size (Martens & Sutskever 2012): sufficient decrease against gᵀδ
        alpha, f_new, slope = 1.0, f_delta, float(g @ delta)
        if cfg.line_search:
            tries = 0
            while f_new > f0 + cfg.armijo * alpha * slope:
                tries += 1
                if tries > cfg.line_search_tries:
                    alpha, f_new = 0.0, f0
                    break
                alpha *= cfg.line_search_shrink
                f_new = self.objective(forward, loss_fn, objective_batch, theta + alpha * delta)
        _assign(self.params, theta + alpha * delta)
        self.steps += 1
        logs.update(loss_after=f_new, damping=self.damping, rho=rho, cg_chosen=float(chosen), step_size=alpha)
        return logs

    # -- persistence -------------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return asdict(self.config)

    def state_dict(self) -> dict[str, Any]:
        return {"damping": self.damping, "steps": self.steps, "previous": self._previous}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        previous = state.get("previous")
        size = sum(p.numel() for p in self.params)
        if previous is not None and (not isinstance(previous, Tensor) or previous.shape != (size,)):
            raise ValueError(f"HessianFree.load_state_dict: previous must be a ({size},) tensor or None; got "
                             f"{getattr(previous, 'shape', type(previous).__name__)}.")
        self.damping, self.steps = float(state["damping"]), int(state["steps"])
        self._previous = previous

    def __repr__(self) -> str:
        return f"HessianFree(damping={self.damping:g}, structural_damping={self.config.structural_damping:g})"
