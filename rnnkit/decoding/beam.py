r"""Beam search: keep the ``beam_size`` most probable prefixes of every row at each step.

    score(y) = Σ_t log p(y_t | y_<t)        normalised = score(y) / lp(|y|),  lp(n) = ((5 + n) / 6) ** α

(Wu et al. 2016, GNMT's length penalty; α = 0, the default, compares raw log-probabilities). A prefix that
emits ``eos_id`` becomes a finished hypothesis; a row stops when it holds ``beam_size`` finished ones and
no live prefix can still beat the worst of them (log-probabilities only fall, so a live prefix of score s
is bounded by s / lp(max_length)): stopping early never changes the result. At ``max_length`` the live
prefixes join the finished ones. With a beam as wide as the number of prefixes the search is exact.

The decoder is stepped on the beams of the rows still searching, A × beam_size rows at once (active row i's
beams are rows i·K .. i·K + K - 1), and its state is reordered with ``decoder.reorder(state, index)`` after
every step; that index also drops the rows that are done, so the state of finished rows is never recomputed.
``max_lengths`` gives each row its own limit (translation: a ratio of the source length).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnkit.decoding._loop import at_least_float32, check_length
from rnnkit.decoding.interface import check_decoder, check_logits

__all__ = ["BeamResult", "Hypothesis", "beam_search", "length_normalizer", "row_limits"]


@dataclass(frozen=True)
class Hypothesis:
    tokens: Tensor       # (S,) int64, the eos included when finished
    score: float         # Σ log p(y_t | y_<t)
    normalized: float    # score / lp(S): what hypotheses are ranked by
    finished: bool       # ended with eos (else it reached max_length)


@dataclass(frozen=True)
class BeamResult:
    tokens: Tensor       # (N, S) int64 the best hypothesis of each row, pad after its end
    lengths: Tensor      # (N,) int64
    scores: Tensor       # (N,) float64 their scores (not normalised)
    hypotheses: list[list[Hypothesis]]  # per row, up to beam_size, best first


def length_normalizer(length: int, alpha: float) -> float:
    """GNMT's ((5 + length) / 6) ** alpha; 1 for alpha = 0."""
    return ((5.0 + length) / 6.0) ** alpha


def _check(beam_size: Any, alpha: Any) -> None:
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_search: beam_size must be an int >= 1; got {beam_size!r}.")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"beam_search: length_penalty must be a number >= 0 (0: raw log-probabilities, GNMT "
                         f"used 0.6-1.0); got {alpha!r}.")


def row_limits(where: str, max_length: int, max_lengths: Any, N: int) -> Tensor:
    """Each row's limit (N,) int64: ``max_lengths`` (an encoder-decoder's a·|source| + b) capped at ``max_length``."""
    if max_lengths is None:
        return torch.full((N,), max_length, dtype=torch.long)
    limits = torch.as_tensor(max_lengths)
    if limits.shape != (N,) or limits.dtype.is_floating_point or limits.dtype == torch.bool or int(limits.min()) < 1:
        raise ValueError(f"{where}: max_lengths must be (N={N},) ints >= 1, one limit per row; got shape "
                         f"{tuple(limits.shape)}, dtype {limits.dtype}.")
    return limits.long().cpu().clamp(max=max_length)


def beam_search(decoder: Any, state: Any, tokens: Any, *, beam_size: int, max_length: int,
                eos_id: int | None = None, length_penalty: float = 0.0, pad_id: int = 0,
                max_lengths: Any = None) -> BeamResult:
    """The ``beam_size`` best continuations (up to ``max_length`` tokens) of each row after ``tokens`` (N,).

    ``max_lengths`` (N,), optional: a limit per row (at most ``max_length``). Rows that are done leave the
    batch: the decoder is stepped on the beams of the rows still searching only (their state is not
    recomputed), so a row's result never depends on the others.
    """
    where = "beam_search"
    tokens = check_decoder(where, decoder, tokens, needs_reorder=True)
    max_length = check_length(where, max_length)
    _check(beam_size, length_penalty)
    alpha, K, N = float(length_penalty), beam_size, tokens.shape[0]
    limits = row_limits(where, max_length, max_lengths, N).tolist()
    lp = length_normalizer
    rows = torch.arange(N).repeat_interleave(K)                                  # (N*K,)
    state = decoder.reorder(state, rows)
    current = tokens.cpu()[rows]                                                 # (A*K,) the active rows' beams
    beam_scores = torch.full((N, K), -math.inf, dtype=torch.float64)             # (N, K)
    beam_scores[:, 0] = 0.0                                                      # one live prefix to start
    history = torch.zeros((N, K, 0), dtype=torch.long)                           # (N, K, t)
    finished: list[list[Hypothesis]] = [[] for _ in range(N)]
    active = list(range(N))                                                      # rows still searching
    for t in range(max(limits)):
        A = len(active)
        logits, state = decoder.step(state, current.to(tokens.device))
        log_probs = torch.log_softmax(at_least_float32(check_logits(where, logits, A * K)), dim=-1).double().cpu()
        V = log_probs.shape[-1]
        candidates = (beam_scores[active][:, :, None] + log_probs.view(A, K, V)).view(A, K * V)   # (A, K*V)
        top_scores, top_index = candidates.topk(min(2 * K, K * V), dim=1)                         # best first
        new_scores = torch.full((N, K), -math.inf, dtype=torch.float64)
        new_from = torch.arange(K).repeat(N, 1)                                  # (N, K) done rows: unchanged
        new_tokens = torch.full((N, K), pad_id, dtype=torch.long)
        ending: list[int] = []
        for i, n in enumerate(active):
            kept = 0
            for score, index in zip(top_scores[i].tolist(), top_index[i].tolist()):
                if score == -math.inf or kept == K:
                    break
                beam, token = divmod(index, V)
                if eos_id is not None and token == eos_id:
                    sequence = torch.cat([history[n, beam], torch.tensor([token])])
                    finished[n].append(Hypothesis(sequence, score, score / lp(t + 1, alpha), True))
                else:
                    new_scores[n, kept], new_from[n, kept], new_tokens[n, kept] = score, beam, token
                    kept += 1
            finished[n] = sorted(finished[n], key=lambda h: -h.normalized)[:K]
            best_live = float(new_scores[n].max())
            bound = best_live / lp(limits[n], alpha)         # scores are <= 0 and only fall
            if best_live == -math.inf or (len(finished[n]) == K and bound <= finished[n][-1].normalized):
                new_scores[n] = -math.inf
                ending.append(n)
            elif t + 1 == limits[n]:
                ending.append(n)                             # its live prefixes join the finished ones below
        history = torch.cat([history[torch.arange(N)[:, None], new_from], new_tokens[:, :, None]], dim=2)
        beam_scores = new_scores
        for n in ending:
            _join_live(finished, n, history, beam_scores, alpha, K)
            beam_scores[n] = -math.inf
        still = [i for i, n in enumerate(active) if n not in set(ending)]
        if not still:
            active = []
            break
        index = torch.cat([i * K + new_from[active[i]] for i in still])         # rows of the stepped batch
        state = decoder.reorder(state, index)
        active = [active[i] for i in still]
        current = new_tokens[active].reshape(-1)
    for n in active:  # live prefixes when the loop ended compete with the finished ones
        _join_live(finished, n, history, beam_scores, alpha, K)
    return _best(finished, pad_id)


def _join_live(finished: list[list[Hypothesis]], n: int, history: Tensor, beam_scores: Tensor, alpha: float,
               K: int) -> None:
    live = [Hypothesis(history[n, k].clone(), float(s), float(s) / length_normalizer(history.shape[2], alpha), False)
            for k, s in enumerate(beam_scores[n].tolist()) if s != -math.inf]
    finished[n] = sorted(finished[n] + live, key=lambda h: -h.normalized)[:K]


def _best(hypotheses: list[list[Hypothesis]], pad_id: int) -> BeamResult:
    best = [h[0] for h in hypotheses]
    S = max(len(h.tokens) for h in best)
    tokens = torch.full((len(best), S), pad_id, dtype=torch.long)
    for n, h in enumerate(best):
        tokens[n, :len(h.tokens)] = h.tokens
    return BeamResult(tokens=tokens, lengths=torch.tensor([len(h.tokens) for h in best]),
                      scores=torch.tensor([h.score for h in best], dtype=torch.float64), hypotheses=hypotheses)
