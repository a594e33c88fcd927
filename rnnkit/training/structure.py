"""Nested inputs and targets: a tensor, a tuple of them, or a dict of them (one level, as Keras' common case).

A model with several inputs takes a tuple ``(x1, x2)`` or a dict ``{"ids": ..., "mask": ...}``; one with
several outputs returns them the same way, and ``compile`` then takes a loss (and metrics, loss weights)
per output. A *list* is not a structure: ``fit`` reads a list as samples (e.g. variable-length sequences),
which is what the seed and NumPy users pass; several inputs go in a tuple or dict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["count", "is_structure", "flatten", "map_structure", "first_leaf", "keys_of", "pick", "same_keys"]


def is_structure(value: Any) -> bool:
    return isinstance(value, (tuple, dict))


def flatten(value: Any) -> list[Any]:
    """The leaves in a fixed order (tuple order, or dict insertion order)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def keys_of(value: Any) -> list[Any] | None:
    """The positions (tuple) or names (dict) of a structure; None for a single leaf."""
    if isinstance(value, tuple):
        return list(range(len(value)))
    if isinstance(value, dict):
        return list(value)
    return None


def map_structure(fn: Callable[[Any], Any], value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(fn(v) for v in value)
    if isinstance(value, dict):
        return {k: fn(v) for k, v in value.items()}
    return fn(value)


def pick(value: Any, key: Any) -> Any:
    """The leaf at ``key`` (None: the value itself)."""
    return value if key is None else value[key]


def first_leaf(value: Any) -> Tensor:
    leaves = [leaf for leaf in flatten(value) if isinstance(leaf, Tensor)]
    if not leaves:
        raise ValueError(f"expected a tensor or a tuple/dict of tensors; got {type(value).__name__}")
    return leaves[0]


def count(value: Any) -> int:
    """The number of samples: the first axis of the first leaf (a tensor, or an array of raw texts)."""
    leaves = [leaf for leaf in flatten(value) if isinstance(leaf, (Tensor, np.ndarray))]
    if not leaves:
        raise ValueError(f"expected a tensor or a tuple/dict of tensors; got {type(value).__name__}")
    return int(leaves[0].shape[0])


def same_keys(a: Any, b: Any) -> bool:
    return type(a) is type(b) and keys_of(a) == keys_of(b) if is_structure(a) or is_structure(b) else True


def to_device(value: Any, device: torch.device | None) -> Any:
    if device is None:
        return value
    return map_structure(lambda t: t.to(device) if isinstance(t, Tensor) else t, value)
