"""Masks and lengths: the one place where Keras' boolean masks meet rnnkit's per-sequence ``lengths``.

rnnkit describes a padded batch by ``lengths`` ``(B,)``: sequence ``b`` holds its data in steps
``0 .. lengths[b] - 1`` and padding after them. A Keras mask ``(B, T)`` (True = a real step) says the
same thing when it is a *prefix* mask, ``mask[b, t] = t < lengths[b]``; only then can it become
lengths. Layers that need an arbitrary mask (the key mask of attention) take it as a mask.

Shape legend: B batch, T time.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit._checks import check_lengths, shape_str

__all__ = ["mask_from_lengths", "lengths_from_mask", "check_mask", "resolve_lengths"]


def mask_from_lengths(lengths: Tensor, T: int, device: Any = None) -> Tensor:
    """``mask[b, t] = t < lengths[b]``: ``(B,)`` → ``(B, T)`` bool."""
    steps = torch.arange(T, device=device)                           # (T,)
    return steps.unsqueeze(0) < lengths.to(device).unsqueeze(1)      # (B, T)


def check_mask(owner: str, name: str, mask: Any, B: int, T: int) -> Tensor:
    """``mask`` as a bool tensor ``(B, T)`` (0/1 integers are accepted), or a clear error."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{owner}: {name} must be a bool tensor of shape (B, T) = ({B}, {T}); got {type(mask).__name__}.")
    if mask.is_floating_point() or mask.is_complex():
        raise TypeError(f"{owner}: {name} must be a bool tensor (True = a real step); got dtype {mask.dtype}. "
                        f"Use {name} != 0, or {name}.bool().")
    if tuple(mask.shape) != (B, T):
        raise ValueError(f"{owner}: {name} must have shape (B, T) = ({B}, {T}); got {shape_str(mask.shape)}.")
    if mask.dtype != torch.bool:
        if bool(((mask != 0) & (mask != 1)).any()):
            raise ValueError(f"{owner}: {name} must hold True/False (or 0/1); got other integers. Use {name} != 0.")
        mask = mask != 0
    return mask


def lengths_from_mask(owner: str, mask: Any, B: int, T: int, *, name: str = "mask") -> Tensor:
    """``(B,)`` int64 CPU lengths of a prefix mask ``(B, T)``; a mask with a hole or an empty row is an error.

    ``lengths[b] = sum_t mask[b, t]``, valid only when ``mask[b] = [True] * lengths[b] + [False] * rest``.
    """
    mask = check_mask(owner, name, mask, B, T)
    lengths = mask.sum(dim=1)                                           # (B,)
    prefix = mask_from_lengths(lengths, T, mask.device)                 # (B, T)
    holes = (mask != prefix).any(dim=1)
    if bool(holes.any()):
        row = int(holes.nonzero()[0])
        raise ValueError(
            f"{owner}: {name} must be a prefix mask (True for each sequence's first steps, then False), since rnnkit "
            f"passes padded batches on as per-sequence lengths; row {row} has a False step before a True one. "
            "Put padding at the end of each sequence (padding='post'), or pass lengths= directly."
        )
    if int(lengths.min()) == 0:
        row = int((lengths == 0).nonzero()[0])
        raise ValueError(f"{owner}: {name} row {row} is all False (padding only); every sequence needs a step.")
    return lengths.to("cpu", torch.int64)


def resolve_lengths(owner: str, lengths: Any, mask: Any, B: int, T: int) -> Tensor | None:
    """The lengths of a call given ``lengths=`` or ``mask=`` (not both), checked: ``(B,)`` in ``[1, T]``."""
    if lengths is not None and mask is not None:
        raise ValueError(f"{owner}: pass lengths= or mask=, not both; a prefix mask is converted to lengths.")
    if mask is not None:
        return lengths_from_mask(owner, mask, B, T)
    if lengths is not None:
        return check_lengths(owner, lengths, B, T)
    return None
