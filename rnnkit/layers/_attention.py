"""What the attention layers share: their inputs in either call form, masks from lengths or booleans, and
Keras' masked softmax.

Masks follow Keras: True = attend. The key (value) mask may be any boolean pattern, not only a prefix.
Masked scores get ``-1e9`` added (``-65504`` in float16) before the softmax, as Keras does, so a row
whose keys are all masked gives no NaN (in float32, where ``s - 1e9`` rounds to ``-1e9``, it attends
uniformly, as in Keras).

Shape legend: B batch, Tq query steps, Tv value (key) steps, D features.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit._checks import check_lengths
from rnnkit.layers._masks import check_mask, mask_from_lengths

__all__ = ["split_inputs", "resolve_mask", "causal_mask", "masked_softmax", "combine_masks"]


def split_inputs(owner: str, query: Any, value: Any, key: Any, mask: Any) -> tuple[Any, Any, Any, Any, Any]:
    """``(query, value, key, query_mask, value_mask)`` from ``layer(q, v[, k])`` or Keras' ``layer([q, v[, k]],
    mask=[q_mask, v_mask])``."""
    query_mask = value_mask = None
    if isinstance(query, (list, tuple)):
        if value is not None or key is not None:
            raise TypeError(f"{owner}: pass the inputs as a list [query, value(, key)] or as arguments, not both.")
        if len(query) not in (2, 3):
            raise ValueError(f"{owner}: the input list must be [query, value] or [query, value, key]; got {len(query)} "
                             "tensors.")
        query, value, key = (*query, None)[:3]
    if value is None:
        raise TypeError(f"{owner}: value is required: call layer(query, value) or layer([query, value]).")
    if mask is not None:
        if not isinstance(mask, (list, tuple)) or len(mask) != 2:
            raise ValueError(f"{owner}: mask must be a list [query_mask, value_mask] (either may be None), as in Keras; "
                             f"got {type(mask).__name__}.")
        query_mask, value_mask = mask
    return query, value, value if key is None else key, query_mask, value_mask


def resolve_mask(owner: str, lengths: Any, mask: Any, B: int, T: int, *, what: str, device: Any) -> Tensor | None:
    """A ``(B, T)`` bool mask from ``<what>_lengths`` (a prefix) or ``<what>_mask`` (any pattern), or None."""
    if lengths is not None and mask is not None:
        raise ValueError(f"{owner}: pass {what}_lengths= or {what}_mask=, not both.")
    if lengths is not None:
        return mask_from_lengths(check_lengths(f"{owner}: {what}_lengths", lengths, B, T), T, device)
    if mask is not None:
        return check_mask(owner, f"{what}_mask", mask, B, T).to(device)
    return None


def causal_mask(Tq: int, Tv: int, device: Any) -> Tensor:
    """``(Tq, Tv)`` bool: query step i may attend to key steps j <= i (Keras' ``use_causal_mask``)."""
    rows = torch.arange(Tq, device=device).unsqueeze(1)
    cols = torch.arange(Tv, device=device).unsqueeze(0)
    return rows >= cols


def combine_masks(*masks: Tensor | None) -> Tensor | None:
    """The logical AND of the masks given (broadcasting), or None when none is given."""
    out = None
    for m in masks:
        if m is not None:
            out = m if out is None else out & m
    return out


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """``softmax(scores - big · (1 - mask))`` over the last axis; ``mask`` broadcasts against ``scores``."""
    if mask is not None:
        big = 65504.0 if scores.dtype == torch.float16 else 1.0e9       # Keras' constants
        scores = scores - big * (~mask).to(scores.dtype)
    return torch.softmax(scores, dim=-1)
