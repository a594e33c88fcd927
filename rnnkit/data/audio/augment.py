"""SpecAugment-style masking (Park et al. 2019, section 2: time and frequency masking; no time warping).

    >>> x = spec_augment(features, time_masks=2, time_width=10, freq_masks=2, freq_width=4, generator=g)

Each mask sets a band of whole frames (or coefficients) to zero, the mean of normalised features: a band
width is drawn uniformly from [0, width], its start uniformly among the positions where it fits.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["spec_augment"]


def spec_augment(x: Tensor, *, time_masks: int = 2, time_width: int = 10, freq_masks: int = 2, freq_width: int = 4,
                 generator: torch.Generator | None = None) -> Tensor:
    """(T, I) -> (T, I), a copy with `time_masks` bands of <= time_width frames and `freq_masks` bands of
    <= freq_width coefficients zeroed. A time band never covers more than a fifth of the frames, so a short
    utterance keeps most of itself (the paper's upper bound p on the masked share)."""
    T, I = x.shape
    out = x.clone()

    def band(size: int, width: int) -> slice:
        w = int(torch.randint(0, width + 1, (1,), generator=generator))
        start = int(torch.randint(0, size - w + 1, (1,), generator=generator))
        return slice(start, start + w)

    for _ in range(freq_masks):
        out[:, band(I, min(freq_width, I))] = 0.0
    for _ in range(time_masks):
        out[band(T, min(time_width, T // 5)), :] = 0.0
    return out
