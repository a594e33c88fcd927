r"""Sampling: draw each next token from the model's distribution, reshaped by temperature, top-k and top-p.

    p_τ(v) ∝ exp(log p(v | y_<t) / τ)                        temperature τ > 0 (τ → 0: greedy, τ = 1: the model)
    top-k:  keep the k most probable tokens of p_τ, renormalise
    top-p:  keep the smallest set of most probable tokens whose p_τ mass reaches p (nucleus, Holtzman et al.
            2020), the most probable token always included, renormalise

applied in that order (as HuggingFace ``generate`` does). Draws come from ``generator`` (a ``torch.Generator``
seeded by the caller), so the same seed gives the same text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnkit.decoding._loop import Decoded, decode_loop

__all__ = ["Sampling", "draw", "filter_log_probs", "sample"]


@dataclass(frozen=True, kw_only=True)
class Sampling:
    """How to reshape the distribution before each draw; invalid values raise ``ValueError``."""

    temperature: float = 1.0  # > 0; below 1 sharpens, above 1 flattens
    top_k: int | None = None  # >= 1: keep only the k most probable tokens
    top_p: float | None = None  # in (0, 1]: keep the smallest most-probable set with this much mass

    def __post_init__(self) -> None:
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
            raise ValueError(f"Sampling: temperature must be a number > 0; got {t!r}. For the most probable token "
                             f"at each step use greedy decoding instead of temperature 0.")
        k = self.top_k
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise ValueError(f"Sampling: top_k must be an int >= 1 (or None: no limit); got {k!r}.")
        p = self.top_p
        if p is not None and (isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1):
            raise ValueError(f"Sampling: top_p must be in (0, 1] (or None: no limit); got {p!r}.")


def filter_log_probs(log_probs: Tensor, sampling: Sampling) -> Tensor:
    """(N, V) log-probabilities -> the renormalised log-probabilities of the reshaped distribution
    (-inf outside the kept tokens)."""
    z = log_probs / sampling.temperature                                          # (N, V)
    V = z.shape[-1]
    if sampling.top_k is not None and sampling.top_k < V:
        kept = z.topk(sampling.top_k, dim=-1).indices                             # (N, k)
        z = torch.full_like(z, -math.inf).scatter(-1, kept, z.gather(-1, kept))
    if sampling.top_p is not None and sampling.top_p < 1:
        ordered, order = z.sort(dim=-1, descending=True, stable=True)             # (N, V), ties: lower id first
        probs = torch.softmax(ordered, dim=-1)
        before = probs.cumsum(dim=-1) - probs                                     # mass of the more probable tokens
        drop = before >= sampling.top_p                                           # the first token never dropped
        z = torch.full_like(z, -math.inf).scatter(-1, order, ordered.masked_fill(drop, -math.inf))
    return torch.log_softmax(z, dim=-1)


def draw(probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One token per row of (N, V) probabilities by inverting the CDF: the first v with F(v) > u·F(V), u ~ U[0, 1).
    Tokens of probability 0 are never drawn (F does not rise there). A few times faster than torch.multinomial
    for one draw per row."""
    cdf = probs.cumsum(dim=-1)                                                        # (N, V)
    u = torch.rand((probs.shape[0], 1), generator=generator, device=probs.device, dtype=cdf.dtype) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True)[:, 0].clamp_(max=probs.shape[-1] - 1)


def sample(decoder: Any, state: Any, tokens: Any, *, max_length: int, sampling: Sampling | None = None,
           generator: torch.Generator | None = None, eos_id: int | None = None, pad_id: int = 0) -> Decoded:
    """Decode ``max_length`` tokens (fewer where every row reached ``eos_id``) by sampling after ``tokens`` (N,).

    ``scores`` are log-probabilities under the model itself (before temperature and filtering).
    """
    sampling = sampling or Sampling()
    if not isinstance(sampling, Sampling):
        raise TypeError(f"sample: sampling must be a rnnkit.decoding.Sampling; got {type(sampling).__name__}.")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"sample: generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)); "
                        f"got {type(generator).__name__}.")

    def choose(log_probs: Tensor) -> Tensor:
        probs = filter_log_probs(log_probs, sampling).exp()                          # (N, V)
        if generator is not None and probs.device != generator.device:
            probs = probs.to(generator.device)
        return draw(probs, generator)

    return decode_loop("sample", decoder, state, tokens, max_length=max_length, eos_id=eos_id, pad_id=pad_id,
                       choose=choose)
