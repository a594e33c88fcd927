"""What a decoder must offer to be searched: one step of the model, and a way to pick batch rows of its state.

    >>> class MyDecoder:
    ...     def step(self, state, tokens):        # tokens (N,) int64 -> logits (N, V), the state after them
    ...         ...
    ...     def reorder(self, state, index):      # index (M,) int64 rows of the batch -> the state of those rows
    ...         ...

The searches (greedy, sampling, beam search) are written once against this interface (OpenNMT-py / fairseq
style): a language model, a translation decoder or a speech decoder supplies ``step`` and ``reorder``; none
of them carries its own search loop. ``step`` may return logits or log-probabilities: every search
normalises with ``log_softmax`` (which leaves log-probabilities unchanged).

Shape legend: N rows being decoded (batch, or batch × beams), V vocabulary, S decoded steps.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

__all__ = ["Decoder", "check_decoder", "check_logits", "reorder_rows"]


@runtime_checkable
class Decoder(Protocol):
    """``step(state, tokens) -> (logits (N, V), state)`` and ``reorder(state, index) -> state``."""

    def step(self, state: Any, tokens: Tensor) -> tuple[Tensor, Any]: ...

    def reorder(self, state: Any, index: Tensor) -> Any: ...


def reorder_rows(state: Any, index: Tensor, *, dim: int = 0) -> Any:
    """``index_select(dim, index)`` on every tensor of a (nested tuple/list/dict) state; None stays None.

    An LSTM's ``(h, c)``, each ``(L, N, H)``, is reordered with ``dim=1``.
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.index_select(dim, index.to(state.device))
    if isinstance(state, dict):
        return {k: reorder_rows(v, index, dim=dim) for k, v in state.items()}
    if isinstance(state, (tuple, list)):
        return type(state)(reorder_rows(s, index, dim=dim) for s in state)
    raise TypeError(f"reorder_rows: state must be a tensor or a tuple/list/dict of tensors; got {type(state).__name__}.")


def check_decoder(where: str, decoder: Any, tokens: Any, *, needs_reorder: bool = False) -> Tensor:
    """The start tokens as a (N,) int64 tensor, after checking that ``decoder`` has what the search calls."""
    names = ("step", "reorder") if needs_reorder else ("step",)
    missing = [name for name in names if not callable(getattr(decoder, name, None))]
    if missing:
        raise TypeError(f"{where}: decoder must have {' and '.join(f'{n}()' for n in names)} (see "
                        f"rnnkit.decoding.Decoder); {type(decoder).__name__} lacks {', '.join(missing)}.")
    if not isinstance(tokens, Tensor):
        tokens = torch.as_tensor(tokens)
    if tokens.dim() != 1 or tokens.numel() == 0 or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
        raise ValueError(f"{where}: tokens must be a non-empty 1-D integer tensor (N,) of the last token of each "
                         f"row; got shape {tuple(tokens.shape)}, dtype {tokens.dtype}.")
    return tokens.long()


def check_logits(where: str, logits: Any, rows: int) -> Tensor:
    """The decoder's output must be (N, V) floats."""
    if not isinstance(logits, Tensor) or logits.dim() != 2 or logits.shape[0] != rows or not logits.is_floating_point():
        got = f"shape {tuple(logits.shape)}, dtype {logits.dtype}" if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"{where}: decoder.step must return logits of shape (N={rows}, V) as floats; got {got}.")
    return logits
