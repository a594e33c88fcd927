"""Helpers shared by the compiled kernels' Python wrappers."""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.kernels._sequence import update_weights

__all__ = ["as_mask", "full_update", "needs_graph"]


def as_mask(mask: Tensor | None, x: Tensor) -> Tensor | None:
    return None if mask is None else mask.to(x.dtype).contiguous()


def full_update(mask: Tensor | None, keep: Tensor | None, x: Tensor, H: int) -> Tensor | None:
    """u = m (1 - k) as a (T, B, H) tensor when zoneout is on; None otherwise (the C++ then uses m_t)."""
    if keep is None:
        return None
    T, B, _ = x.shape
    return update_weights(mask, keep).expand(T, B, H).contiguous()


def needs_graph(*tensors) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
