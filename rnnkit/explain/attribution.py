r"""Input attributions of a model's prediction: saliency, integrated gradients, importance per lag.

With F(x) = ŷ_target, the chosen output of the model on one sequence x (T, I):

    saliency        S_t   = Σ_i |∂F/∂x_{t,i}(x)|                                              (B, T)
    integrated      IG_ti = (x_ti - x'_ti) ∫₀¹ ∂F/∂x_ti(x' + α (x - x')) dα                 (B, T, I)
    gradients       (Sundararajan, Taly & Yan 2017, eq. 1), the integral by the trapezoid rule on m steps:
                    ∫₀¹ g ≈ (1/m) [g(0)/2 + g(1/m) + … + g((m-1)/m) + g(1)/2]
    completeness    Σ_ti IG_ti = F(x) - F(x') + ε_m,   |ε_m| ≤ max|d³F/dα³ along the path| / (12 m²)
                    (the trapezoid error of ∫ dF/dα; ε = 0 for a model linear in x, at any m)

x' is the baseline (zeros by default). For token ids (a model with an Embedding), the attributions are taken
on the embedding output e (B, T, E), the standard way, with baseline e' = 0, and summed over E: one score
per token, (B, T). ``Attribution.completeness_gap`` is ε_m per sequence.

target: None picks the predicted class (argmax) of a classifier's (B, K) output, or the single output of a
regression ((B,) or (B, 1)); an int picks that output index. For a sequence output (B, T', K) the target
is at each sequence's last (real) step; ``target=(t, k)`` picks step t, output k. The target is chosen on x
and kept along the path. The model runs in eval mode, ``model(x, lengths=lengths)``, under enable_grad.

Shape legend: B batch, T time, I input features, E embedding size, K outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.explain.gates import check_input

__all__ = ["saliency", "integrated_gradients", "lag_importance", "Attribution", "LagImportance"]


@dataclass
class Attribution:
    """``scores`` (B, T, I), or (B, T) for token inputs; ``target`` (B,) the output index attributed;
    ``output`` F(x) and ``baseline_output`` F(x') (B,); ``steps`` m."""

    scores: np.ndarray
    target: np.ndarray
    output: np.ndarray
    baseline_output: np.ndarray
    steps: int

    @property
    def completeness_gap(self) -> np.ndarray:
        """ε_m = Σ_t,i IG_ti - (F(x) - F(x')) per sequence (B,); → 0 as 1/m²."""
        total = self.scores.reshape(self.scores.shape[0], -1).sum(axis=1)
        return total - (self.output - self.baseline_output)


class LagImportance(NamedTuple):
    """``per_lag`` (T,): mean |IG| at lag k (k = 0 the last real step); ``per_feature`` (I,)."""

    per_lag: np.ndarray
    per_feature: np.ndarray


def _embedding(model: nn.Module) -> nn.Embedding | None:
    return next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)


class _Target:
    """F: the attributed input (x, or the embedding output) → ŷ_target (B,), with the target fixed on x."""

    def __init__(self, owner: str, model: nn.Module, x: Tensor, lengths: Any, target: Any) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"{owner}: model must be an rnnkit Sequential / Model (a torch.nn.Module); "
                            f"got {type(model).__name__}.")
        self.owner, self.model, self.x, self.lengths = owner, model, check_input(owner, x, model), lengths
        self.embedding = None if self.x.is_floating_point() else _embedding(model)
        with torch.no_grad():
            self.input = self.x if self.embedding is None else self.embedding(self.x)   # (B, T, I | E)
        self._replacement: Tensor | None = None
        out, out_lengths = self._run(self.input.detach())
        self.step = self._step_index(out, out_lengths, target)
        self.index = self._target_index(out if self.step is None else out[torch.arange(out.shape[0]), self.step],
                                        target[1] if isinstance(target, tuple) else target)

    def _run(self, inp: Tensor) -> tuple[Tensor, Any]:
        """model(x) with ``inp`` as its input or, for ids, as its embedding output; (output, lengths)."""
        handle = None
        if self.embedding is not None:
            handle = self.embedding.register_forward_hook(lambda module, args, output: inp)
        try:
            x = inp if self.embedding is None else self.x
            run = getattr(self.model, "forward_with_lengths", None)
            if run is not None:
                out, out_lengths = run(x, lengths=self.lengths)
            else:
                out = self.model(x) if self.lengths is None else self.model(x, lengths=self.lengths)
                out_lengths = None
        finally:
            if handle is not None:
                handle.remove()
        if not isinstance(out, Tensor):
            raise TypeError(f"{self.owner}: the model must return one tensor ((B,), (B, K) or (B, T', K)); got "
                            f"{type(out).__name__}. Wrap it so that it returns the output to explain.")
        return out, out_lengths

    def _step_index(self, out: Tensor, out_lengths: Any, target: Any) -> Tensor | None:
        B = out.shape[0]
        if out.dim() != 3:
            if isinstance(target, tuple):
                raise ValueError(f"{self.owner}: target=(step, index) is for sequence outputs (B, T', K); the model "
                                 f"returns shape {tuple(out.shape)}. Pass target=index or None.")
            return None
        T_out = out.shape[1]
        if isinstance(target, tuple):
            if len(target) != 2 or not all(isinstance(v, int) for v in target) or not -T_out <= target[0] < T_out:
                raise ValueError(f"{self.owner}: target must be (step, index) with step in [0, {T_out}); got {target!r}. "
                                 f"Pass target=({T_out - 1}, k) for the last step.")
            return torch.full((B,), target[0] % T_out, dtype=torch.long)
        if out_lengths is not None:
            return torch.as_tensor(out_lengths, dtype=torch.long).cpu() - 1      # each sequence's last real step
        return torch.full((B,), T_out - 1, dtype=torch.long)

    def _target_index(self, out: Tensor, target: Any) -> Tensor:
        B = out.shape[0]
        K = 1 if out.dim() == 1 else out.shape[1]
        if out.dim() > 2:
            raise ValueError(f"{self.owner}: the model's output must be (B,), (B, K) or (B, T', K); got shape "
                             f"{tuple(out.shape)}. Wrap the model to return the output to explain.")
        if target is None:
            return out.detach().argmax(dim=1).cpu() if K > 1 else torch.zeros(B, dtype=torch.long)
        if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
            raise TypeError(f"{self.owner}: target must be an int output index, (step, index) or None; got "
                            f"{type(target).__name__}. Pass target=None for the predicted class.")
        if not 0 <= int(target) < K:
            raise ValueError(f"{self.owner}: target must be an output index in [0, {K}) (the model has {K} "
                             f"output{'s' if K > 1 else ''}); got {target}. Pass target=None for the "
                             f"{'predicted class' if K > 1 else 'single output'}.")
        return torch.full((B,), int(target), dtype=torch.long)

    def __call__(self, inp: Tensor) -> Tensor:
        """F(inp) (B,)."""
        out, _ = self._run(inp)
        rows = torch.arange(out.shape[0])
        if self.step is not None:
            out = out[rows, self.step.to(out.device)]                           # (B, K)
        return out if out.dim() == 1 else out[rows, self.index.to(out.device)]

    def gradient(self, inp: Tensor) -> tuple[Tensor, Tensor]:
        """(F(inp) (B,), ∂F/∂inp), one backward for the batch: sequences are independent in eval mode."""
        inp = inp.detach().requires_grad_(True)
        value = self(inp)
        (grad,) = torch.autograd.grad(value.sum(), inp)
        return value.detach(), grad


def _evaluating(model: nn.Module, run: Callable[[], Any]) -> Any:
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.enable_grad():
            return run()
    finally:
        for m, training in modes:
            m.train(training)


def _np(t: Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).cpu().numpy()


def saliency(model: nn.Module, x: Any, *, target: Any = None, lengths: Any = None) -> np.ndarray:
    """S_t = Σ_i |∂ŷ_target/∂x_{t,i}| (B, T) (i over embedding dims for token ids); see the module docstring."""
    def run() -> np.ndarray:
        F = _Target("saliency", model, x, lengths, target)
        _, grad = F.gradient(F.input)
        return _np(grad.abs().sum(dim=-1))
    return _evaluating(model, run)


def _check_steps(owner: str, steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"{owner}: steps must be an int (the number of trapezoid intervals m); got "
                        f"{type(steps).__name__}. Use steps=32.")
    if steps < 1:
        raise ValueError(f"{owner}: steps must be at least 1; got {steps}. Use steps=32 (the error falls as 1/steps²).")
    return int(steps)


def _baseline(owner: str, baseline: Any, inp: Tensor) -> Tensor:
    if baseline is None:
        return torch.zeros_like(inp)
    b = torch.as_tensor(baseline, dtype=inp.dtype, device=inp.device)
    try:
        b = b.expand_as(inp)
    except RuntimeError:
        raise ValueError(f"{owner}: baseline must broadcast to the attributed input's shape {tuple(inp.shape)} "
                         f"(x, or the embedding output for token ids); got shape {tuple(b.shape)}. "
                         "Pass baseline=None for zeros.") from None
    if not bool(torch.isfinite(b).all()):
        raise ValueError(f"{owner}: baseline holds NaN or inf values; pass finite values or baseline=None (zeros).")
    return b


def integrated_gradients(model: nn.Module, x: Any, *, baseline: Any = None, steps: int = 32, target: Any = None,
                         lengths: Any = None) -> Attribution:
    """IG of ŷ_target along the straight path x' → x, trapezoid rule on ``steps`` intervals (see the module
    docstring); returns an ``Attribution`` whose ``completeness_gap`` is Σ IG - (F(x) - F(x'))."""
    owner = "integrated_gradients"
    m = _check_steps(owner, steps)

    def run() -> Attribution:
        F = _Target(owner, model, x, lengths, target)
        inp = F.input.detach()                                     # (B, T, I | E)
        base = _baseline(owner, baseline, inp)
        total = torch.zeros_like(inp)
        values = {}
        for k in range(m + 1):
            alpha = k / m
            value, grad = F.gradient(base + alpha * (inp - base))
            total += grad * (0.5 if k in (0, m) else 1.0)          # trapezoid weights 1/2, 1, …, 1, 1/2
            values[k] = value
        scores = (inp - base) * total / m                           # (B, T, I | E)
        if F.embedding is not None:
            scores = scores.sum(dim=-1)                             # one score per token (B, T)
        return Attribution(scores=_np(scores), target=F.index.numpy(), output=_np(values[m]),
                           baseline_output=_np(values[0]), steps=m)
    return _evaluating(model, run)


def lag_importance(model: nn.Module, x: Any, *, baseline: Any = None, steps: int = 32, target: Any = None,
                   lengths: Any = None) -> LagImportance:
    """Mean |IG| per lag k (time step L_b - 1 - k, counted from each sequence's last real step; NaN where no
    sequence is that long) and per feature (over real steps), for forecasting-style inputs x (B, T, I)."""
    owner = "lag_importance"
    floating = x.is_floating_point() if isinstance(x, Tensor) else np.issubdtype(np.asarray(x).dtype, np.floating)
    if not floating:
        raise TypeError(f"lag_importance: x must be float features (B, T, I); got dtype {x.dtype}. For token ids "
                        "use integrated_gradients, which scores each token.")
    attribution = np.abs(integrated_gradients(model, x, baseline=baseline, steps=steps, target=target,
                                              lengths=lengths).scores)                  # (B, T, I)
    B, T, _ = attribution.shape
    L = np.full(B, T) if lengths is None else np.asarray(torch.as_tensor(lengths).cpu(), dtype=np.int64)
    if L.shape != (B,) or L.min() < 1 or L.max() > T:
        raise ValueError(f"{owner}: lengths must be (B,) = ({B},) ints in [1, T={T}]; got {L!r}.")
    lags = np.arange(T)[None, :]                                    # (1, T): lag k
    t = L[:, None] - 1 - lags                                       # (B, T): the step at lag k
    real = t >= 0
    per_step = attribution.mean(axis=2)                             # (B, T)
    at_lag = np.where(real, per_step[np.arange(B)[:, None], np.clip(t, 0, None)], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_lag = at_lag.sum(axis=0) / real.sum(axis=0)             # 0 / 0 = NaN: no sequence that long
    steps_mask = np.arange(T)[None, :] < L[:, None]                 # (B, T) real steps
    per_feature = attribution[steps_mask].mean(axis=0)              # (I,)
    return LagImportance(per_lag=per_lag, per_feature=per_feature)
