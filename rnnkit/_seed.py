"""One call to make a run reproducible: ``rnnkit.set_seed(42)``.

Seeds Python's ``random``, NumPy's global generator and torch's global generator, and remembers
the seed so that ``fit`` derives its shuffling (and dropout) randomness from ``seed + epoch``.
That derivation is what makes ``fit(..., initial_epoch=k)`` after a checkpoint give the same
weights as an uninterrupted run.
"""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["set_seed", "get_seed"]

_GLOBAL_SEED: int | None = None


def set_seed(seed: int) -> None:
    """Seed ``random``, ``numpy`` and ``torch`` (CPU and, if present, CUDA) with ``seed``."""
    global _GLOBAL_SEED
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_seed: seed must be an int; got {type(seed).__name__} {seed!r}.")
    if not 0 <= int(seed) < 2**63:
        raise ValueError(f"set_seed: seed must be in [0, 2**63); got {seed}.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # NumPy's legacy seeding only takes 32 bits
    torch.manual_seed(seed)
    _GLOBAL_SEED = seed


def get_seed() -> int | None:
    """The seed last given to :func:`set_seed`, or ``None`` if it was never called."""
    return _GLOBAL_SEED
