"""The token-by-token loop that greedy decoding and sampling share: choose a token per row, feed it back.

Rows that produce ``eos_id`` stop: their later positions hold ``pad_id`` and their ``lengths`` count the
tokens up to and including the eos. The loop ends after ``max_length`` tokens, or when every row has stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnkit.decoding.interface import check_decoder, check_logits

__all__ = ["Decoded", "at_least_float32", "check_length", "decode_loop"]


@dataclass(frozen=True)
class Decoded:
    """What a search returns."""

    tokens: Tensor      # (N, S) int64 decoded tokens (pad after a row's eos)
    lengths: Tensor     # (N,) int64 tokens per row, its eos included
    scores: Tensor      # (N,) float64 sum of log p(token | prefix) of each row's tokens under the model
    state: Any          # the decoder state after the last step (the rows that stopped keep stepping on pad)


def at_least_float32(logits: Tensor) -> Tensor:
    """float64 logits stay float64 (exact searches in tests); half precision is widened to float32."""
    return logits if logits.dtype == torch.float64 else logits.float()


def check_length(where: str, max_length: Any) -> int:
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"{where}: max_length must be an int >= 1; got {max_length!r}.")
    return max_length


def decode_loop(where: str, decoder: Any, state: Any, tokens: Any, *, max_length: int,
                choose: Callable[[Tensor], Tensor], eos_id: int | None = None, pad_id: int = 0,
                max_lengths: Any = None) -> Decoded:
    """Step ``decoder`` from ``tokens`` (N,), ``choose(log_probs (N, V)) -> (N,)`` picking each next token.
    ``max_lengths`` (N,), optional: each row stops after that many tokens (at most ``max_length``)."""
    from rnnkit.decoding.beam import row_limits

    tokens = check_decoder(where, decoder, tokens)
    max_length = check_length(where, max_length)
    N = tokens.shape[0]
    limits = None if max_lengths is None else row_limits(where, max_length, max_lengths, N)
    if limits is not None:
        max_length = int(limits.max())
    chosen_steps: list[Tensor] = []                    # (N,) per step
    picked_steps: list[Tensor] = []                    # (N,) log p of each chosen token
    alive = torch.ones(N, dtype=torch.bool, device=tokens.device)
    lengths = torch.full((N,), max_length, dtype=torch.long)
    for t in range(max_length):
        logits, state = decoder.step(state, tokens)
        log_probs = torch.log_softmax(at_least_float32(check_logits(where, logits, N)), dim=-1)      # (N, V)
        chosen = choose(log_probs).reshape(N).to(device=log_probs.device, dtype=torch.long)          # (N,)
        picked = log_probs.gather(1, chosen[:, None])[:, 0]
        if eos_id is None:
            chosen_steps.append(chosen)
            picked_steps.append(picked)
            tokens = chosen
            continue
        chosen = chosen.masked_fill(~alive, pad_id)    # rows that stopped emit pad, and score nothing
        chosen_steps.append(chosen)
        picked_steps.append(picked.masked_fill(~alive, 0.0))
        ended = alive & (chosen == eos_id)
        if limits is not None:
            ended = ended | (alive & (limits == t + 1).to(alive.device))
        lengths[ended.cpu()] = t + 1
        alive = alive & ~ended
        tokens = chosen
        if not bool(alive.any()):
            break
    out = torch.stack(chosen_steps, dim=1).cpu()                                    # (N, S)
    scores = torch.stack(picked_steps, dim=1).double().sum(dim=1).cpu()             # (N,)
    return Decoded(tokens=out, lengths=torch.clamp(lengths, max=out.shape[1]), scores=scores, state=state)
