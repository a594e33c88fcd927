r"""Layer normalisation over the last axis, forward and hand-derived backward, for use inside kernels.

    μ = mean(a)    σ = sqrt(mean((a - μ)²) + ε)    â = (a - μ) / σ    y = γ ⊙ â + β

Backward, with ĝ = dy ⊙ γ:

    da = (ĝ - mean(ĝ) - â ⊙ mean(ĝ ⊙ â)) / σ        dγ = Σ dy ⊙ â        dβ = Σ dy
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["layer_norm_forward", "layer_norm_backward", "EPS"]

EPS = 1e-5


def layer_norm_forward(a: Tensor, gamma: Tensor, beta: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Returns ``(y, â, 1/σ)``; ``1/σ`` keeps a trailing axis of size 1 for broadcasting."""
    var, mu = torch.var_mean(a, dim=-1, keepdim=True, correction=0)
    rstd = torch.rsqrt(var + EPS)
    a_hat = (a - mu) * rstd
    return torch.addcmul(beta, a_hat, gamma), a_hat, rstd


def layer_norm_backward(dy: Tensor, a_hat: Tensor, rstd: Tensor, gamma: Tensor) -> Tensor:
    """da for the normalised input; dγ and dβ are summed by the caller over all rows at once."""
    g = dy * gamma
    return (g - g.mean(dim=-1, keepdim=True) - a_hat * (g * a_hat).mean(dim=-1, keepdim=True)) * rstd
