r"""Attention over an encoder's outputs, masked from the source lengths so padding gets weight exactly 0.

    Bahdanau et al. 2015 (additive, §3.1 / appendix A.1.2):   e_tj = v_a^T tanh(W_a s_{t-1} + U_a h_j)
    Luong et al. 2015 (§3.1), "dot":                           e_tj = h_t^T h̄_j
                              "general":                       e_tj = h_t^T W_a h̄_j
    α_tj = exp(e_tj) / Σ_{k < S_b} exp(e_tk)   (j < S_b, the length of source b; α_tj = 0 for j >= S_b)
    c_t  = Σ_j α_tj h̄_j

The source side (U_a h_j for additive, W_a h̄_j for general) does not change from step to step: ``keys``
computes it once per sentence and decoding reuses it. Padded positions are filled with -inf before the
softmax, so their weight is exp(-inf) = 0 exactly (not merely small), and a padded batch attends as
each sentence alone. Every source has at least one real position (its eos), so no row is all -inf.

Shape legend: B batch (or batch × beams), T target steps, S source positions, M memory width (D × H of
the encoder), Q query width (the decoder's hidden size), A attention units.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["BahdanauAttention", "LuongAttention", "source_mask"]


def source_mask(lengths: Tensor, S: int) -> Tensor:
    """(B, S) bool, True on the first ``lengths[b]`` positions of each row (the real source tokens)."""
    return torch.arange(S, device=lengths.device)[None, :] < lengths[:, None]


def _masked_weights(scores: Tensor, mask: Tensor) -> Tensor:
    """scores (B, T, S), mask (B, S) -> α (B, T, S): softmax over the real positions, exactly 0 elsewhere."""
    return torch.softmax(scores.masked_fill(~mask[:, None, :], -math.inf), dim=-1)


class BahdanauAttention(nn.Module):
    """Additive attention: ``e_tj = v_a^T tanh(W_a s + U_a h_j)``; queries are the previous decoder state."""

    def __init__(self, *, query_size: int, memory_size: int, units: int) -> None:
        super().__init__()
        self.W_a = nn.Linear(query_size, units, bias=False)
        self.U_a = nn.Linear(memory_size, units)
        self.v_a = nn.Linear(units, 1, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        """memory (B, S, M) -> U_a h_j (B, S, A), computed once per sentence."""
        return self.U_a(memory)

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """query (B, T, Q) -> (context c (B, T, M), weights α (B, T, S))."""
        e = self.v_a(torch.tanh(self.W_a(query)[:, :, None, :] + keys[:, None, :, :]))[..., 0]   # (B, T, S)
        alpha = _masked_weights(e, mask)
        return torch.bmm(alpha, memory), alpha


class LuongAttention(nn.Module):
    """Multiplicative attention ("dot" or "general"); queries are the current decoder output h_t."""

    def __init__(self, *, query_size: int, memory_size: int, score: str = "general") -> None:
        super().__init__()
        if score not in ("dot", "general"):
            raise ValueError(f"LuongAttention: score must be 'dot' or 'general'; got {score!r}.")
        if score == "dot" and query_size != memory_size:
            raise ValueError(f"LuongAttention: score='dot' needs query_size == memory_size; got {query_size} and "
                             f"{memory_size}. Use score='general' (h_t^T W_a h̄_j) for different sizes.")
        self.score = score
        # general: W_a (M, Q) applied to the memory, so that e_tj = h_t · (W_a h̄_j), h̄ projected once
        self.W_a = nn.Linear(memory_size, query_size, bias=False) if score == "general" else None

    def keys(self, memory: Tensor) -> Tensor:
        """memory (B, S, M) -> W_a h̄_j (B, S, Q) for "general", h̄_j itself for "dot"."""
        return memory if self.W_a is None else self.W_a(memory)

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """query (B, T, Q) -> (context c (B, T, M), weights α (B, T, S))."""
        e = torch.bmm(query, keys.transpose(1, 2))                         # (B, T, S)
        alpha = _masked_weights(e, mask)
        return torch.bmm(alpha, memory), alpha


def attention_scores_reference(query: Tensor, memory: Tensor, lengths: Tensor) -> Tensor:
    """Plain dot-product weights of one query per row, looping over the rows (for tests): (B, Q) -> (B, S)."""
    B, S, _ = memory.shape
    out = torch.zeros(B, S, dtype=memory.dtype)
    for b in range(B):
        n = int(lengths[b])
        out[b, :n] = F.softmax(memory[b, :n] @ query[b], dim=0)
    return out
