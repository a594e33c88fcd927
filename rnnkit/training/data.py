"""Turn what users pass to ``fit`` / ``evaluate`` / ``predict`` into tensors, with clear errors.

Accepted for ``x`` and ``y``: NumPy arrays, torch tensors, pandas DataFrames / Series, nested lists,
a tuple or dict of those (several inputs or outputs, see :mod:`rnnkit.training.structure`), and —
for a single ``x`` — a list of variable-length sequences, which is zero-padded at the end and gets
``lengths`` ``(N,)`` that reach the recurrent layers as ``lengths=``. ``sample_weight`` is ``(N,)``
(or ``(N, T)`` for sequence outputs). Every check runs before the first training step: NaN / inf,
wrong label count, wrong rank, a bad ``validation_split``, negative weights.

Data that does not fit in one array (a ``torch.utils.data.Dataset`` or ``DataLoader``, an
``IterableDataset``, a generator) goes through :mod:`rnnkit.training.sources` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from rnnkit.training.structure import count, flatten, is_structure, keys_of, map_structure, to_device

__all__ = ["Dataset", "Batch", "to_dataset", "split_validation", "sequence_mask", "class_weights_for",
           "convert_leaf", "check_sample_weight"]


@dataclass(frozen=True)
class Batch:
    """One batch: ``x`` and ``y`` are tensors or tuples/dicts of tensors (several inputs/outputs)."""

    x: Any                            # (B, ...) float32 features or int64 ids, or a structure of them
    y: Any = None                     # (B, ...) labels / targets, or a structure of them, or None
    lengths: Tensor | None = None     # (B,) int64 sequence lengths of a padded batch, or None
    sample_weight: Tensor | None = None   # (B,) or (B, T) float32, or None

    @property
    def size(self) -> int:
        return count(self.x)

    def to(self, device: torch.device | None) -> Batch:
        """x, y and weights on ``device``; lengths stay on the CPU, as the core wants them."""
        if device is None:
            return self
        weight = None if self.sample_weight is None else self.sample_weight.to(device)
        return Batch(to_device(self.x, device), to_device(self.y, device), self.lengths, weight)


@dataclass(frozen=True)
class Dataset:
    """Samples held in memory; ``x`` / ``y`` may be structures whose leaves share the first axis."""

    x: Any
    y: Any
    lengths: Tensor | None
    sample_weight: Tensor | None = field(default=None)

    def __len__(self) -> int:
        return count(self.x)

    def take(self, index: Tensor, device: torch.device | None = None) -> Batch:
        """Samples ``index``, with x, y and weights on ``device`` (lengths stay on the CPU; raw texts are a
        NumPy array of str, for a model whose first layer vectorises them)."""
        def pick(t: Any) -> Any:
            if isinstance(t, np.ndarray):
                return t[index.numpy()]
            # the same rows as t[index]; index_select skips advanced indexing's general machinery (4x faster
            # at B32 for a (N, T, I) tensor, bench/fit_overhead.py)
            return t.index_select(0, index) if isinstance(t, Tensor) and t.dim() else t[index]

        cut = lambda value: None if value is None else map_structure(pick, value)  # noqa: E731
        batch = Batch(cut(self.x), cut(self.y), None if self.lengths is None else pick(self.lengths),
                      None if self.sample_weight is None else pick(self.sample_weight))
        return batch.to(device)

    def batches(self, batch_size: int, order: Tensor | None = None, device: torch.device | None = None) -> Iterator[Batch]:
        order = torch.arange(len(self)) if order is None else order
        for start in range(0, len(order), batch_size):
            yield self.take(order[start : start + batch_size], device)

    def num_batches(self, batch_size: int) -> int:
        return math.ceil(len(self) / batch_size)

    def slice(self, part: slice) -> Dataset:  # noqa: A003 - the Dataset's own slice
        cut = lambda value: None if value is None else map_structure(lambda t: t[part], value)  # noqa: E731
        return Dataset(cut(self.x), cut(self.y), None if self.lengths is None else self.lengths[part],
                       None if self.sample_weight is None else self.sample_weight[part])


def to_dataset(x: Any, y: Any = None, *, model: Any, where: str, require_y: bool = True,
               sample_weight: Any = None, class_weight: dict | None = None) -> Dataset:
    """Validate and convert ``x`` (and ``y``, ``sample_weight``) for ``model``; ``where`` names the call in errors."""
    if x is None:
        raise ValueError(f"{where}: x is required; got None.")
    lengths = None
    if is_structure(x):
        x_tensor = map_structure(lambda leaf: _convert_x(leaf, model, f"{where}: x", ragged=False)[0],
                                 _named(x, f"{where}: x"))
        model.check_input_structure(x_tensor)
    else:
        x_tensor, lengths = _convert_x(x, model, f"{where}: x", ragged=True)
        try:
            model.check_input_shape(tuple(x_tensor.shape[1:]))
        except ValueError as error:
            raise ValueError(f"{where}: x has shape {tuple(x_tensor.shape)}, which the model cannot take. {error}") from None
    N = _check_same_count(x_tensor, f"{where}: x")
    y_tensor = None
    if y is not None:
        y_tensor = map_structure(lambda leaf: _convert_y(leaf, N, x_tensor, f"{where}: y"), _named(y, f"{where}: y"))
    elif require_y:
        raise ValueError(f"{where}: y is required; got None. Pass the labels as the second argument.")
    weight = None if sample_weight is None else check_sample_weight(sample_weight, N, f"{where}: sample_weight")
    if class_weight is not None:
        weight = class_weights_for(y_tensor, class_weight, weight, where=where)
    return Dataset(x_tensor, y_tensor, lengths, weight)


def _named(value: Any, what: str) -> Any:
    if isinstance(value, dict) and not all(isinstance(k, str) for k in value):
        raise TypeError(f"{what}: a dict of inputs/outputs needs str keys; got {[type(k).__name__ for k in value]}.")
    if is_structure(value) and not flatten(value):
        raise ValueError(f"{what}: an empty {type(value).__name__}; pass at least one array.")
    return value


def _convert_x(leaf: Any, model: Any, what: str, *, ragged: bool) -> tuple[Any, Tensor | None]:
    if model.input_kind() == "text":
        return _texts(leaf, what), None
    array, lengths = _as_array(leaf, what, allow_ragged=ragged)
    if array.ndim == 0:
        raise ValueError(f"{what} must be an array of samples; got a single number {array.item()!r}.")
    if array.shape[0] == 0:
        raise ValueError(f"{what} is empty (0 samples); pass at least one sample.")
    if array.ndim == 1 and not is_structure(leaf) and model.expects_sequences():
        raise ValueError(
            f"{what} must be 3-D (batch, timesteps, features) for this recurrent model; got 1-D shape "
            f"{array.shape}. If x is one sequence use x[None, :, None]; if it is one value per sample, "
            "x[:, None, None]."
        )
    if array.ndim == 1 and model.requires_feature_axis():
        raise ValueError(
            f"{what} must be at least 2-D (batch, features); got 1-D shape {array.shape}. "
            "For one feature per sample use x[:, None]."
        )
    return convert_leaf(array, what, kind=model.input_kind(), float_dtype=model.float_dtype()), lengths


def _texts(leaf: Any, what: str) -> np.ndarray:
    """Raw texts for a model that vectorises them itself: a (N,) NumPy array of str."""
    if isinstance(leaf, Tensor) or isinstance(leaf, str):
        raise TypeError(f"{what} must be a list or array of str (one text per sample) for this model, whose first "
                        f"layer turns text into ids; got {type(leaf).__name__}.")
    if hasattr(leaf, "to_numpy") and type(leaf).__module__.startswith("pandas"):
        leaf = leaf.to_numpy()
    texts = np.asarray(list(leaf.reshape(len(leaf), -1)[:, 0]) if isinstance(leaf, np.ndarray) and leaf.ndim == 2
                       else list(leaf), dtype=object)
    if texts.ndim != 1 or len(texts) == 0:
        raise ValueError(f"{what} must hold at least one text, as a list of str; got shape {texts.shape}.")
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"{what}: every sample must be a str for this model; sample {bad} is {type(texts[bad]).__name__}.")
    return texts


def _convert_y(leaf: Any, N: int, x: Any, what: str) -> Tensor:
    array, _ = _as_array(leaf, what, allow_ragged=False)
    n_y = array.shape[0] if array.ndim else 0
    if n_y != N:
        shape = tuple(x.shape) if isinstance(x, Tensor) else [tuple(t.shape) for t in flatten(x)]
        raise ValueError(
            f"{what} must have one label per sample of x: expected {N}, got {n_y} "
            f"(x shape {shape}, y shape {array.shape}). Check that x and y match."
        )
    return convert_leaf(array, what, kind="labels")


def _check_same_count(x: Any, what: str) -> int:
    counts = {int(t.shape[0]) for t in flatten(x)}
    if len(counts) > 1:
        raise ValueError(f"{what}: every input must have the same number of samples; got {sorted(counts)} "
                         f"for {keys_of(x)}.")
    return counts.pop()


def check_sample_weight(value: Any, N: int, what: str) -> Tensor:
    """``(N,)`` or ``(N, T)`` finite, non-negative float32 weights."""
    array, _ = _as_array(value, what, allow_ragged=False)
    if array.ndim not in (1, 2) or array.shape[0] != N:
        raise ValueError(f"{what} must have shape ({N},) (one weight per sample) or ({N}, T) (per time step); "
                         f"got {array.shape}.")
    weight = convert_leaf(array, what, kind="features")
    if bool((weight < 0).any()):
        raise ValueError(f"{what} must be >= 0; got a minimum of {float(weight.min()):g}.")
    return weight


def class_weights_for(y: Any, class_weight: dict, sample_weight: Tensor | None, *, where: str) -> Tensor:
    """Keras' ``class_weight``: each sample's (or step's) weight times the weight of its class."""
    if not isinstance(class_weight, dict) or not class_weight:
        raise TypeError(f"{where}: class_weight must be a dict {{class id: weight}}; got {class_weight!r}.")
    if y is None or is_structure(y):
        raise ValueError(f"{where}: class_weight needs a single output's labels y; for several outputs pass "
                         "sample_weight instead.")
    labels = y.argmax(dim=-1) if y.is_floating_point() and y.dim() >= 2 and y.shape[-1] > 1 else y
    labels = labels.reshape(labels.shape[0], -1) if labels.dim() > 1 else labels
    if labels.dim() == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.is_floating_point() and not torch.equal(labels, labels.round()):
        raise ValueError(f"{where}: class_weight needs integer class ids (or one-hot) in y; got non-integer labels.")
    labels = labels.long()
    table = {int(k): float(v) for k, v in class_weight.items()}
    missing = sorted(set(labels.unique().tolist()) - set(table))
    if missing:
        raise ValueError(f"{where}: class_weight has no weight for class(es) {missing[:5]}; give every class in y "
                         f"a weight (got keys {sorted(table)}).")
    lookup = torch.zeros(max(table) + 1, dtype=torch.float32)
    for k, v in table.items():
        if k < 0 or v < 0:
            raise ValueError(f"{where}: class_weight keys and weights must be >= 0; got {k}: {v}.")
        lookup[k] = v
    weight = lookup[labels]
    if sample_weight is not None:
        weight = weight * (sample_weight if sample_weight.dim() == weight.dim() else sample_weight.reshape(
            sample_weight.shape[0], *([1] * (weight.dim() - 1))))
    return weight


def split_validation(data: Dataset, validation_split: Any) -> tuple[Dataset, Dataset | None]:
    """Hold out the *last* ``validation_split`` fraction of samples (before shuffling), as Keras does."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)):
        raise TypeError(f"fit: validation_split must be a float in [0, 1); got {type(validation_split).__name__}.")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(
            f"fit: validation_split must be in [0, 1); got {validation_split}. It is the fraction of samples "
            "held out for validation, e.g. validation_split=0.2."
        )
    if validation_split == 0:
        return data, None
    N = len(data)
    split_at = int(math.floor(N * (1.0 - validation_split)))
    if split_at == 0 or split_at == N:
        raise ValueError(
            f"fit: validation_split={validation_split} of {N} samples leaves {split_at} for training and "
            f"{N - split_at} for validation; both need at least one. Use more data or another split."
        )
    return data.slice(slice(None, split_at)), data.slice(slice(split_at, None))


def sequence_mask(y_pred: Tensor, lengths: Tensor | None) -> Tensor | None:
    """``(B, T)`` True on real steps, for sequence outputs ``(B, T, C)`` of a padded batch; else None."""
    if lengths is None or not isinstance(y_pred, Tensor) or y_pred.dim() != 3:
        return None
    T = y_pred.shape[1]
    return torch.arange(T, device=y_pred.device).unsqueeze(0) < lengths.to(y_pred.device).unsqueeze(1)


def _as_array(value: Any, what: str, *, allow_ragged: bool) -> tuple[np.ndarray, Tensor | None]:
    """A NumPy array (and lengths if ``value`` was a list of variable-length sequences)."""
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy(), None
    if hasattr(value, "to_numpy") and type(value).__module__.startswith("pandas"):
        return value.to_numpy(), None
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return _as_array(list(value), what, allow_ragged=allow_ragged)
        return value, None
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"{what} is an empty list; pass at least one sample.")
        items = [v.detach().cpu().numpy() if isinstance(v, Tensor) else np.asarray(v) for v in value]
        if all(item.shape == items[0].shape for item in items):
            return np.stack(items), None
        if not allow_ragged:
            raise ValueError(f"{what}: a list of variable-length sequences is only supported for x; got one for y.")
        return _pad(items, what)
    raise TypeError(
        f"{what} must be a NumPy array, torch tensor, pandas DataFrame/Series or list of sequences; "
        f"got {type(value).__name__}."
    )


def _pad(items: list[np.ndarray], what: str) -> tuple[np.ndarray, Tensor]:
    """Zero-pad sequences ``(T_i, *F)`` at the end to ``(N, max T_i, *F)``."""
    if any(item.ndim == 0 for item in items):
        raise ValueError(f"{what}: each sequence must be array-like; got a scalar.")
    tails = {item.shape[1:] for item in items}
    if len(tails) > 1:
        raise ValueError(f"{what}: every sequence must have the same shape after the time axis; got {sorted(tails)}.")
    lengths = np.array([item.shape[0] for item in items])
    if lengths.min() == 0:
        raise ValueError(f"{what}: sequence {int(np.argmin(lengths))} is empty; every sequence needs at least one step.")
    dtype = np.result_type(*items)
    padded = np.zeros((len(items), int(lengths.max()), *items[0].shape[1:]), dtype=dtype)
    for i, item in enumerate(items):
        padded[i, : item.shape[0]] = item
    return padded, torch.as_tensor(lengths, dtype=torch.int64)


def convert_leaf(array: np.ndarray, what: str, *, kind: str, float_dtype: torch.dtype = torch.float32) -> Tensor:
    """``kind``: "ids" (int64 token ids), "features" (float32), "labels" (integers stay int64 class ids) or
    "auto" (integers stay int64, e.g. token ids; floats become ``float_dtype``: the model's own, float32
    unless its weights are float64)."""
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{what} must hold numbers; got dtype {array.dtype}. Convert text or categories to numbers first.")
    if np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.complexfloating):
        bad = ~np.isfinite(array)
        if bad.any():
            sample = int(np.argwhere(bad)[0][0])
            kind = "NaN" if np.isnan(array).any() else "infinite"
            raise ValueError(
                f"{what} contains {kind} values ({int(bad.sum())} of them, first in sample {sample}); "
                "remove or impute them before training, e.g. with np.nan_to_num or pandas' fillna."
            )
    if kind == "ids":
        if not np.issubdtype(array.dtype, np.integer):
            if not np.array_equal(array, np.round(array)):
                raise TypeError(f"{what} must hold integer token ids for an Embedding; got non-integer values.")
        return torch.as_tensor(array.astype(np.int64))
    if kind in ("labels", "auto") and (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
        return torch.as_tensor(array.astype(np.int64))
    if kind == "auto" and float_dtype == torch.float64:
        return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float64))
    return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float32))
