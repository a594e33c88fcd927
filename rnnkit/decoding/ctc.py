r"""CTC decoding (Graves et al. 2006): per-frame log-probabilities over V labels, one of them the blank,
-> the most probable label sequence.

A path π (one label a frame) maps to a labelling y = B(π) by merging repeats, then dropping blanks:
B(a a - a b b -) = a a b. The probability of y sums over its paths, p(y | x) = Σ_{π ∈ B⁻¹(y)} Π_t p_t(π_t).

- `ctc_greedy`: the best *path* π_t = argmax_v p_t(v), collapsed (best-path decoding). Fast, and often right;
  it is not the best labelling when that one's probability is spread over many paths.
- `ctc_prefix_beam_search`: the best *labelling* under a beam (Hannun et al. 2014, "First-pass large
  vocabulary continuous speech recognition using bi-directional recurrent DNNs", algorithm 1, without the
  language model). Each prefix ℓ keeps two log-probabilities over the frames read so far: p_b(ℓ) of the
  paths ending in a blank and p_nb(ℓ) of those ending in ℓ's last label. At frame t, for label c:

      blank:            p_b'(ℓ)   += (p_b(ℓ) + p_nb(ℓ)) p_t(-)
      repeat last c:    p_nb'(ℓ)  += p_nb(ℓ) p_t(c)             (merges into ℓ)
                        p_nb'(ℓc) += p_b(ℓ) p_t(c)              (a blank separated them: a new c)
      another c:        p_nb'(ℓc) += (p_b(ℓ) + p_nb(ℓ)) p_t(c)

  then the `beam_size` prefixes of highest p_b + p_nb are kept. With a beam holding every prefix the
  search is exact (the tests check it against enumerating every path).

Sums are in log space (`logaddexp`). Shapes: T frames, V labels (blank included), B utterances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["CTCHypothesis", "ctc_greedy", "ctc_greedy_batch", "ctc_prefix_beam_search"]

_NEG_INF = -math.inf


@dataclass(frozen=True)
class CTCHypothesis:
    labels: tuple[int, ...]   # the labelling, blanks and repeats removed
    log_prob: float           # greedy: log p of the best path; beam: log p(y | x) summed over y's paths in the beam


def _check(log_probs: Tensor, blank: int) -> tuple[int, int]:
    if log_probs.ndim != 2:
        raise ValueError(f"CTC decoding: log_probs must have shape (T, V) (frames, labels incl. the blank); got "
                         f"{tuple(log_probs.shape)}. For a batch use ctc_greedy_batch or loop over utterances")
    T, V = log_probs.shape
    if not 0 <= blank < V:
        raise ValueError(f"CTC decoding: blank must be a label index in [0, V={V}); got {blank}")
    return T, V


def ctc_greedy(log_probs: Tensor, *, blank: int = 0) -> CTCHypothesis:
    """Best-path decoding of one utterance's (T, V) log-probabilities."""
    T, _ = _check(log_probs, blank)
    if T == 0:
        return CTCHypothesis(labels=(), log_prob=0.0)
    best, path = log_probs.max(dim=-1)                                     # (T,), (T,)
    labels, previous = [], None
    for v in path.tolist():
        if v != previous and v != blank:
            labels.append(v)
        previous = v
    return CTCHypothesis(labels=tuple(labels), log_prob=float(best.sum()))


def ctc_greedy_batch(log_probs: Tensor, lengths: Tensor | None = None, *, blank: int = 0) -> list[CTCHypothesis]:
    """Best-path decoding of a padded batch (B, T, V); `lengths` (B,): each utterance's own frames."""
    if log_probs.ndim != 3:
        raise ValueError(f"ctc_greedy_batch: log_probs must have shape (B, T, V); got {tuple(log_probs.shape)}")
    B, T, _ = log_probs.shape
    lengths = torch.full((B,), T) if lengths is None else lengths
    return [ctc_greedy(log_probs[b, : int(lengths[b])], blank=blank) for b in range(B)]


def ctc_prefix_beam_search(log_probs: Tensor, *, beam_size: int = 8, blank: int = 0,
                           prune: float | None = None) -> list[CTCHypothesis]:
    """The `beam_size` best labellings of one utterance's (T, V) log-probabilities, best first.

    prune: at each frame, extend prefixes only by labels with log p_t(c) >= prune (e.g. -12: a label that
    unlikely changes no ranking); None extends by every label, as the exact search needs.
    """
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"ctc_prefix_beam_search: beam_size must be an int >= 1; got {beam_size!r}")
    T, V = _check(log_probs, blank)
    lp = log_probs.detach().to(torch.float64).tolist()                     # (T, V) as floats: the loop is scalar
    logaddexp = _logaddexp
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, _NEG_INF)}   # prefix -> (log p_b, log p_nb)
    for t in range(T):
        frame = lp[t]
        labels = range(V) if prune is None else [c for c in range(V) if frame[c] >= prune or c == blank]
        next_beams: dict[tuple[int, ...], list[float]] = {}

        def add(prefix: tuple[int, ...], b: float, nb: float) -> None:
            entry = next_beams.get(prefix)
            if entry is None:
                next_beams[prefix] = [b, nb]
            else:
                entry[0], entry[1] = logaddexp(entry[0], b), logaddexp(entry[1], nb)

        for prefix, (p_b, p_nb) in beams.items():
            total = logaddexp(p_b, p_nb)
            last = prefix[-1] if prefix else None
            for c in labels:
                p = frame[c]
                if c == blank:
                    add(prefix, total + p, _NEG_INF)
                elif c == last:
                    add(prefix, _NEG_INF, p_nb + p)                         # the repeat merges into ℓ
                    add(prefix + (c,), _NEG_INF, p_b + p)                   # after a blank: a new c
                else:
                    add(prefix + (c,), _NEG_INF, total + p)
        alive = [item for item in next_beams.items() if logaddexp(*item[1]) > _NEG_INF]   # p = 0: unreachable
        ranked = sorted(alive, key=lambda item: -logaddexp(*item[1]))[:beam_size]
        beams = {prefix: (b, nb) for prefix, (b, nb) in ranked}
    ranked = sorted(beams.items(), key=lambda item: -logaddexp(*item[1]))
    return [CTCHypothesis(labels=prefix, log_prob=logaddexp(b, nb)) for prefix, (b, nb) in ranked]


def _logaddexp(a: float, b: float) -> float:
    if a == _NEG_INF:
        return b
    if b == _NEG_INF:
        return a
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))
