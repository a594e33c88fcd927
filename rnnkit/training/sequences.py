"""Variable-length sequences in batches: padding, a collate function that keeps the lengths, and length
bucketing.

    >>> loader = DataLoader(dataset, batch_sampler=BucketBatchSampler(lengths, batch_size=32, seed=0),
    ...                     collate_fn=pad_collate)
    >>> model.fit(loader, epochs=10)

``pad_collate`` turns samples ``(x_i, y_i[, w_i])`` with ``x_i`` of shape ``(T_i, *F)`` into one
:class:`~rnnkit.training.data.Batch`: ``x`` ``(B, max T_i, *F)`` zero-padded at the end, ``lengths``
``(B,)``, which reach the recurrent layers as ``lengths=`` (nothing past a sequence's end changes its
result). Padding to the longest sequence of the batch wastes work on the short ones; bucketing groups
sequences of similar length into the same batches (batches shuffled, and the order within a bucket too),
so a batch is padded little. ``bench/bucketing.py`` measures the gain.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Sampler

from rnnkit.training.data import Batch, check_sample_weight
from rnnkit.training.structure import is_structure

__all__ = ["BucketBatchSampler", "pad_collate", "pad_sequences"]


def pad_sequences(sequences: Sequence[Any], *, maxlen: int | None = None, dtype: Any = None,
                  padding: str = "post", truncating: str = "post", value: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Pad a list of ``(T_i, *F)`` (or ``(T_i,)`` token-id) sequences to ``(N, T, *F)``; returns (padded, lengths).

    As ``keras.utils.pad_sequences`` but with ``padding="post"`` by default (rnnkit's recurrences take the
    lengths; Keras pads in front because its masks did not reach every layer) and the lengths returned
    beside the array. ``truncating`` drops steps from the end ("post") or the front ("pre") of sequences
    longer than ``maxlen``.
    """
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(f"pad_sequences: padding and truncating must be 'pre' or 'post'; got {padding!r}, {truncating!r}.")
    if len(sequences) == 0:
        raise ValueError("pad_sequences: sequences is empty; pass at least one sequence.")
    items = [s.detach().cpu().numpy() if isinstance(s, Tensor) else np.asarray(s) for s in sequences]
    if any(item.ndim == 0 for item in items):
        raise ValueError("pad_sequences: every sequence must be array-like (T_i, ...); got a scalar.")
    tails = {item.shape[1:] for item in items}
    if len(tails) > 1:
        raise ValueError(f"pad_sequences: every sequence must have the same shape after the time axis; got {sorted(tails)}.")
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 1):
        raise ValueError(f"pad_sequences: maxlen must be a positive int or None; got {maxlen!r}.")
    T = maxlen if maxlen is not None else max(item.shape[0] for item in items)
    out_dtype = dtype if dtype is not None else np.result_type(*items)
    padded = np.full((len(items), T, *items[0].shape[1:]), value, dtype=out_dtype)
    lengths = np.zeros(len(items), dtype=np.int64)
    for i, item in enumerate(items):
        kept = item[:T] if truncating == "post" else item[max(0, item.shape[0] - T):]
        n = kept.shape[0]
        lengths[i] = n
        if padding == "post":
            padded[i, :n] = kept
        else:
            padded[i, T - n:] = kept
    return padded, lengths


def pad_collate(samples: Sequence[Any]) -> Batch:
    """``collate_fn`` for a DataLoader of ``(x, y)`` / ``(x, y, weight)`` / ``x`` samples of different lengths.

    ``x`` may be a tensor or array ``(T_i, *F)``; equal-length samples are stacked as they are (and get no
    lengths). ``y`` is stacked (labels, or per-step targets padded like ``x``).
    """
    if len(samples) == 0:
        raise ValueError("pad_collate: got an empty batch.")
    first = samples[0]
    parts = len(first) if isinstance(first, tuple) else 1
    if parts not in (1, 2, 3):
        raise ValueError(f"pad_collate: samples must be x, (x, y) or (x, y, sample_weight); got a tuple of {parts}.")
    columns = list(zip(*samples)) if isinstance(first, tuple) else [samples]
    if any(is_structure(v) for v in columns[0]):
        raise TypeError("pad_collate pads a single input per sample; for several inputs write a collate_fn that "
                        "returns rnnkit.training.data.Batch(x=(...), y=..., lengths=...).")
    x, lengths = _stack_or_pad(columns[0], "x")
    y = None
    if parts >= 2:
        y, _ = _stack_or_pad(columns[1], "y")
    weight = None
    if parts == 3:
        weight, _ = _stack_or_pad(columns[2], "sample_weight")
        weight = check_sample_weight(weight, x.shape[0], "pad_collate: sample_weight")
    return Batch(x, y, lengths, weight)


def _stack_or_pad(values: Sequence[Any], what: str) -> tuple[Tensor, Tensor | None]:
    tensors = [v if isinstance(v, Tensor) else torch.as_tensor(np.asarray(v)) for v in values]
    if all(t.shape == tensors[0].shape for t in tensors):
        stacked = torch.stack(tensors)
        return (stacked.float() if stacked.is_floating_point() else stacked), None
    if any(t.dim() == 0 for t in tensors):
        raise ValueError(f"pad_collate: {what} mixes scalars and sequences in one batch.")
    padded, lengths = pad_sequences(tensors)
    tensor = torch.as_tensor(padded)
    return (tensor.float() if tensor.is_floating_point() else tensor), torch.as_tensor(lengths)


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of sequences of similar length, for a DataLoader's ``batch_sampler=``.

    The indices are sorted by length (ties in random order), cut into batches of ``batch_size``, and the
    batches shuffled, a new order every epoch: ``seed`` and the epoch count fix it (or, with ``seed=None``,
    torch's generator at the time the iterator is made, which ``fit`` seeds per epoch). Every index is
    used exactly once per epoch; only the last batch may be smaller.
    """

    def __init__(self, lengths: Sequence[int], *, batch_size: int, shuffle: bool = True, seed: int | None = None) -> None:
        lengths = np.asarray(lengths)
        if lengths.ndim != 1 or lengths.size == 0 or not np.issubdtype(lengths.dtype, np.integer) or (lengths < 1).any():
            raise ValueError(f"BucketBatchSampler: lengths must be a non-empty list of ints >= 1; got {lengths[:5]!r}.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"BucketBatchSampler: batch_size must be a positive int; got {batch_size!r}.")
        self.lengths, self.batch_size, self.shuffle, self.seed = lengths, batch_size, bool(shuffle), seed
        self._epoch = 0

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        if self.seed is None:
            rng_seed = int(torch.randint(0, 2**62, ()).item())
        else:
            rng_seed = int(np.random.SeedSequence([self.seed, self._epoch]).generate_state(1)[0])
        self._epoch += 1
        rng = np.random.default_rng(rng_seed)
        tie_break = rng.random(len(self.lengths)) if self.shuffle else np.arange(len(self.lengths))
        order = np.lexsort((tie_break, self.lengths))  # by length, ties at random
        batches = [order[i:i + self.batch_size].tolist() for i in range(0, len(order), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return iter(batches)
