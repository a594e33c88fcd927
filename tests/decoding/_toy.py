"""A tiny hand-built decoder whose next-token distribution depends on the last two tokens and the position,
so that greedy, beam and exhaustive search can disagree; its state is the prefix itself."""

from __future__ import annotations

import itertools
import math

import torch

from rnnkit.decoding import length_normalizer, reorder_rows


class ToyDecoder:
    def __init__(self, vocab: int = 4, seed: int = 0, scale: float = 2.0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.V = vocab
        self.last = torch.randn(vocab, vocab, generator=g, dtype=torch.float64) * scale      # (V, V)
        self.second = torch.randn(vocab, vocab, generator=g, dtype=torch.float64) * scale    # (V, V)
        self.position = torch.randn(64, vocab, generator=g, dtype=torch.float64) * scale     # (T, V)

    def step(self, state, tokens):
        prefix = torch.cat([state, tokens[:, None]], dim=1)                                  # (N, t + 1)
        logits = self.last[prefix[:, -1]] + self.position[prefix.shape[1] - 1]
        if prefix.shape[1] > 1:
            logits = logits + self.second[prefix[:, -2]]
        return logits, prefix

    def reorder(self, state, index):
        return reorder_rows(state, index)

    def log_prob(self, start: int, sequence: tuple[int, ...]) -> float:
        """Σ log p(y_t | start, y_<t) by stepping one row."""
        state, token, total = torch.zeros((1, 0), dtype=torch.long), torch.tensor([start]), 0.0
        for y in sequence:
            logits, state = self.step(state, token)
            total += float(torch.log_softmax(logits, -1)[0, y])
            token = torch.tensor([y])
        return total


def exhaustive(decoder: ToyDecoder, start: int, *, max_length: int, eos_id: int | None, alpha: float = 0.0):
    """Every hypothesis (ended by eos, or of max_length tokens), best first: (normalised, score, tokens)."""
    found = []
    for length in range(1, max_length + 1):
        for sequence in itertools.product(range(decoder.V), repeat=length):
            has_eos = eos_id is not None and eos_id in sequence
            if has_eos and sequence.index(eos_id) != length - 1:
                continue                                   # nothing follows an eos
            if not has_eos and length != max_length:
                continue                                   # unfinished hypotheses only at max_length
            score = decoder.log_prob(start, sequence)
            found.append((score / length_normalizer(length, alpha), score, sequence))
    return sorted(found, key=lambda f: -f[0])


def start_state(n: int) -> torch.Tensor:
    return torch.zeros((n, 0), dtype=torch.long)


__all__ = ["ToyDecoder", "exhaustive", "start_state", "math"]
