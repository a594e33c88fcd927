"""Greedy decoding: the most probable token at every step, ``y_t = argmax_v log p(v | y_<t)``."""

from __future__ import annotations

from typing import Any

from rnnkit.decoding._loop import Decoded, decode_loop

__all__ = ["greedy"]


def greedy(decoder: Any, state: Any, tokens: Any, *, max_length: int, eos_id: int | None = None,
           pad_id: int = 0, max_lengths: Any = None) -> Decoded:
    """Decode ``max_length`` tokens (fewer where every row reached ``eos_id``) after the start ``tokens`` (N,).

    Ties go to the lowest token id (``argmax``), so greedy decoding is deterministic. ``max_lengths`` (N,):
    a limit per row (used with ``eos_id``), e.g. a ratio of each source's length.
    """
    return decode_loop("greedy", decoder, state, tokens, max_length=max_length, eos_id=eos_id, pad_id=pad_id,
                       max_lengths=max_lengths, choose=lambda log_probs: log_probs.argmax(dim=-1))
