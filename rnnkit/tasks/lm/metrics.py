r"""Scores of a language model and its baselines on the same held-out text, state carried throughout.

    nats/token = −(1/N) Σ_i log p(x_i | x_<i)         over the N tokens after the first (which has no context)
    bits = nats / ln 2         perplexity = exp(nats/token)         nats/char = total nats / characters scored

Characters make models with different tokenizers comparable: a subword model's nats per character is its
total nats divided by the number of characters those tokens spell.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.tasks.lm.ngram import KneserNey, unigram_log_probs

__all__ = ["baseline_scores", "score", "stream_nats"]


@torch.no_grad()
def stream_nats(model: Any, ids: np.ndarray, *, streams: int = 1, warmup: int = 0) -> float:
    """Σ −log p(ids[i] | ids[:i]) over i >= 1, the state carried through the text.

    ``streams=1`` reads the text as one stream (exact). ``streams=S`` cuts the scored positions into S
    contiguous segments read side by side (one batch, S times fewer sequential steps); each segment's stream
    starts ``warmup`` tokens before it, on text whose losses are not counted, so that it does not start cold.
    """
    model.eval()
    tokens = torch.as_tensor(np.asarray(ids, dtype=np.int64))
    N = len(tokens) - 1                                                # scored positions 1 .. N
    streams = max(1, min(streams, N))
    bounds = np.linspace(0, N, streams + 1).round().astype(int)        # segment j scores targets bounds[j]..bounds[j+1]
    starts = np.maximum(bounds[:-1] - warmup, 0)
    L = int((bounds[1:] - starts).max())
    x = torch.zeros((streams, L), dtype=torch.long)                    # (S, L)
    y = torch.zeros((streams, L), dtype=torch.long)
    counted = torch.zeros((streams, L), dtype=torch.float64)
    for j, (first, begin, end) in enumerate(zip(starts, bounds[:-1], bounds[1:])):
        n = end - first
        x[j, :n], y[j, :n] = tokens[first:end], tokens[first + 1:end + 1]
        counted[j, begin - first:n] = 1.0
    chunk_len = max(64, min(L, 2 ** 22 // (streams * model.vocab_size)))     # logits of a chunk: <= 16 MB
    total, state = 0.0, None
    for start in range(0, L, chunk_len):
        logits, state = model.forward_chunk(x[:, start:start + chunk_len], state)      # (S, t, V)
        losses = F.cross_entropy(logits.transpose(1, 2), y[:, start:start + chunk_len], reduction="none")
        total += float((losses.double() * counted[:, start:start + chunk_len]).sum())
    return total


def score(total_nats: float, *, tokens: int, chars: int) -> dict[str, float]:
    """The usual views of one total: per token, per character, in nats and bits, and perplexity."""
    per_token = total_nats / tokens
    return {"nats_per_token": per_token, "bits_per_token": per_token / math.log(2),
            "nats_per_char": total_nats / chars, "bits_per_char": total_nats / chars / math.log(2),
            "perplexity": math.exp(per_token), "tokens": tokens, "chars": chars}


def baseline_scores(train_ids: np.ndarray, val_ids: np.ndarray, *, vocab_size: int, order: int,
                    chars: int) -> dict[str, dict[str, float]]:
    """Add-one unigram and interpolated Kneser–Ney of ``order`` on the tokens the model is scored on
    (``val_ids[1:]``, the n-gram history read from ``val_ids`` as the model's state is)."""
    tokens = len(val_ids) - 1
    unigram = -float(unigram_log_probs(train_ids, val_ids[1:], vocab_size).sum())
    out = {"unigram": {**score(unigram, tokens=tokens, chars=chars), "method": "add-one unigram"}}
    if order >= 1:
        kn = KneserNey(order=order, vocab_size=vocab_size).fit(train_ids)
        nats = -float(kn.log_probs(val_ids)[1:].sum())
        discounts = [round(t.discount, 3) for t in kn.raw]
        out[f"kneser_ney_{order}"] = {**score(nats, tokens=tokens, chars=chars),
                                      "method": f"interpolated Kneser-Ney, order {order}, discounts n1/(n1+2n2) "
                                                f"per order {discounts}"}
    return out
