"""Where ``fit`` / ``evaluate`` / ``predict`` get their batches: arrays in memory, or a stream.

=================================  ==============================================================
input                              batches
=================================  ==============================================================
arrays (and tuples/dicts of them)  ``batch_size`` slices, reshuffled each epoch (``shuffle=True``)
``torch.utils.data.Dataset``       a ``DataLoader(batch_size, shuffle, collate_fn=pad_collate)``
``IterableDataset``                a ``DataLoader(batch_size, collate_fn=pad_collate)``, in order
``DataLoader``                     as the user built it (its batch size, sampler, workers, collate)
a generator / iterator             one batch per item, ``steps_per_epoch`` items per epoch
=================================  ==============================================================

Each item is ``(x, y)``, ``(x, y, sample_weight)``, an ``x`` alone (``predict``), or a
:class:`~rnnkit.training.data.Batch` (what :func:`~rnnkit.training.sequences.pad_collate` returns,
with the padded batch's ``lengths``). ``x`` and ``y`` may be tuples or dicts (several inputs/outputs).

Reproducibility: ``fit`` runs each epoch inside a generator seeded with ``(seed, epoch)``, and a
``DataLoader``'s iterator (its shuffling, and each worker's seed) is created inside that epoch, so
the same seed gives the same batches, worker processes included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, IterableDataset
from torch.utils.data import Dataset as TorchDataset

from rnnkit.training.data import Batch, Dataset, check_sample_weight, class_weights_for, convert_leaf
from rnnkit.training.structure import is_structure, map_structure

__all__ = ["ArraySource", "StreamSource", "is_stream", "stream_source"]


def is_stream(x: Any) -> bool:
    """Is ``x`` a torch Dataset, DataLoader or an iterator/generator rather than arrays?"""
    if isinstance(x, (TorchDataset, DataLoader)):
        return True
    return hasattr(x, "__next__") and not isinstance(x, (np.ndarray, Tensor))


class ArraySource:
    """In-memory samples, batched and (optionally) reshuffled each epoch."""

    def __init__(self, data: Dataset, *, batch_size: int, shuffle: bool) -> None:
        self.data, self.batch_size, self.shuffle = data, batch_size, shuffle
        self.rank, self.world = 0, 1

    def shard(self, rank: int, world: int, *, seed: int) -> None:
        """Distributed: this rank takes positions rank, rank + world, ... of each epoch's order, in batches
        of batch_size / world (so the ranks' batches together are the 1-process run's batch)."""
        del seed  # the permutation comes from the epoch's generator, seeded alike on every rank
        self.rank, self.world = rank, world

    @property
    def steps(self) -> int:
        return -(-len(range(self.rank, len(self.data), self.world)) // (self.batch_size // self.world))

    def first_batch(self) -> Batch:
        return self.data.take(torch.arange(min(self.batch_size, len(self.data))))

    def epoch(self, device: torch.device | None = None, *, epoch: int = 0) -> Iterator[Batch]:
        del epoch
        # randperm draws from the generator fit seeded for this epoch
        order = torch.randperm(len(self.data)) if self.shuffle else torch.arange(len(self.data))
        if self.world > 1:
            order = order[self.rank::self.world]
        return self.data.batches(self.batch_size // self.world, order, device)


class StreamSource:
    """Batches from a DataLoader (a new iterator each epoch) or a generator (one shared iterator)."""

    def __init__(self, make_iterator: Any, *, steps: int | None, shared: bool, where: str, require_y: bool,
                 class_weight: dict | None = None, loader: Any = None, shuffle: bool = False) -> None:
        self._make, self.steps, self.shared, self.where = make_iterator, steps, shared, where
        self.loader, self.shuffle = loader, shuffle
        self.require_y, self.class_weight = require_y, class_weight
        self._iterator: Iterator | None = None
        self._peeked: list[Any] = []
        self.exhausted = False
        self.sampler: Any = None  # a DistributedSampler to set_epoch, in a distributed run
        self.dataset: Any = None  # a map-style Dataset that a distributed run re-batches with a DistributedSampler
        self.batch_size: int | None = None

    def shard(self, rank: int, world: int, *, seed: int) -> None:
        """Distributed: a Dataset gets a DistributedSampler (seeded with the fit seed, set_epoch each epoch);
        a DataLoader must bring one; a generator is taken to yield this rank's own data."""
        from torch.utils.data.distributed import DistributedSampler

        if self.dataset is not None:
            self.sampler = DistributedSampler(self.dataset, num_replicas=world, rank=rank, shuffle=self.shuffle,
                                              seed=seed)
            from rnnkit.training.sequences import pad_collate

            loader = DataLoader(self.dataset, batch_size=self.batch_size // world, sampler=self.sampler,
                                collate_fn=pad_collate)
            self._make = lambda: loader
            self.steps = len(loader)
        elif isinstance(self.loader, DataLoader):
            if isinstance(self.loader.sampler, DistributedSampler):
                self.sampler = self.loader.sampler
            elif not isinstance(self.loader.dataset, IterableDataset):
                raise ValueError(f"{self.where}: in a distributed run a DataLoader must shard its data: build it "
                                 "with sampler=DistributedSampler(dataset) (or pass the Dataset itself, and fit "
                                 "shards it).")

    def _items(self) -> Iterator[Any]:
        if self.shared:
            if self._iterator is None:
                self._iterator = iter(self._make())
            return self._iterator
        return iter(self._make())

    def first_batch(self) -> Batch:
        """The first batch (to build a lazily-built model); a generator's item is kept for the first epoch."""
        iterator = self._items()
        try:
            item = next(iterator)
        except StopIteration:
            raise ValueError(f"{self.where}: the data yielded no batch; check that it is not empty.") from None
        if self.shared:
            self._peeked.append(item)
        return self.convert(item, 0)

    def epoch(self, device: torch.device | None = None, *, epoch: int = 0) -> Iterator[Batch]:
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)
        return self._batches(device)

    def _batches(self, device: torch.device | None) -> Iterator[Batch]:
        iterator = self._items()
        self.exhausted = False
        step = 0
        while self.steps is None or step < self.steps:
            if self._peeked:
                item = self._peeked.pop(0)
            else:
                try:
                    item = next(iterator)
                except StopIteration:
                    if self.steps is not None:
                        self.exhausted = True  # the loop reports it and stops training, as Keras does
                    return
            yield self.convert(item, step).to(device)
            step += 1

    def convert(self, item: Any, step: int) -> Batch:
        where = f"{self.where}, batch {step + 1}"
        if isinstance(item, Batch):
            batch = item
        else:
            # (x, y[, weight]); several inputs: ((x1, x2), y). torch's default collate turns the tuple into a list.
            if isinstance(item, (tuple, list)) and len(item) in (2, 3):
                x, y, weight = (*item, None) if len(item) == 2 else tuple(item)
            else:
                x, y, weight = item, None, None
            batch = Batch(_tensors(x, f"{where}: x", "auto"), None if y is None else _tensors(y, f"{where}: y", "labels"),
                          None, None if weight is None else check_sample_weight(weight, _count(x), f"{where}: sample_weight"))
        if batch.y is None and self.require_y:
            raise ValueError(f"{where}: expected (x, y) or (x, y, sample_weight) items for training/evaluation; "
                             "got x alone.")
        if self.class_weight is not None:
            weight = class_weights_for(batch.y, self.class_weight, batch.sample_weight, where=where)
            batch = Batch(batch.x, batch.y, batch.lengths, weight)
        return batch


def _count(x: Any) -> int:
    first = next(iter(x.values())) if isinstance(x, dict) else (x[0] if isinstance(x, tuple) else x)
    return int(np.shape(first)[0])


def _tensors(value: Any, what: str, kind: str) -> Any:
    def leaf(v: Any) -> Tensor:
        if isinstance(v, Tensor):
            if v.is_floating_point() and not bool(torch.isfinite(v).all()):
                raise ValueError(f"{what} contains NaN or infinite values; clean the data or fix the pipeline.")
            return v if not v.is_floating_point() or v.dtype in (torch.float32, torch.float64) else v.float()
        return convert_leaf(np.asarray(v), what, kind=kind)

    return map_structure(leaf, value) if is_structure(value) else leaf(value)


def stream_source(x: Any, *, batch_size: int | None, shuffle: bool, steps: int | None, where: str,
                  require_y: bool, class_weight: dict | None = None) -> StreamSource:
    """A :class:`StreamSource` for a torch Dataset/IterableDataset/DataLoader or a generator."""
    from rnnkit.training.sequences import pad_collate

    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"{where}: steps must be a positive int; got {steps!r}.")
    if isinstance(x, DataLoader):
        return StreamSource(lambda: x, steps=steps or _len(x), shared=False, where=where, require_y=require_y,
                            class_weight=class_weight, loader=x)
    if isinstance(x, IterableDataset):
        loader = DataLoader(x, batch_size=batch_size, collate_fn=pad_collate)
        return StreamSource(lambda: loader, steps=steps or _len(loader), shared=False, where=where,
                            require_y=require_y, class_weight=class_weight, loader=loader)
    if isinstance(x, TorchDataset):
        if not hasattr(x, "__len__"):
            raise TypeError(f"{where}: a map-style torch Dataset needs __len__; got {type(x).__name__}.")
        if len(x) == 0:
            raise ValueError(f"{where}: the Dataset is empty (0 samples); pass at least one sample.")
        loader = DataLoader(x, batch_size=batch_size, shuffle=shuffle, collate_fn=pad_collate)
        source = StreamSource(lambda: loader, steps=steps or len(loader), shared=False, where=where,
                              require_y=require_y, class_weight=class_weight, loader=loader, shuffle=shuffle)
        source.dataset, source.batch_size = x, batch_size
        return source
    if steps is None and not hasattr(x, "__len__"):
        raise ValueError(f"{where}: a generator has no length, so the epoch's end is unknown; pass "
                         "steps_per_epoch= (and validation_steps= / steps= for evaluate and predict).")
    return StreamSource(lambda: x, steps=steps, shared=True, where=where, require_y=require_y,
                        class_weight=class_weight)


def _len(loader: Iterable) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None  # an IterableDataset without __len__: the epoch ends when it does
