"""Turn what users pass to ``fit`` / ``evaluate`` / ``predict`` into tensors, with clear errors.

Accepted for ``x`` and ``y``: NumPy arrays, torch tensors, pandas DataFrames / Series, nested lists,
and — for ``x`` — a list of variable-length sequences, which is zero-padded at the end and gets
``lengths`` ``(N,)`` that reach the recurrent layers as ``lengths=``. Every check runs before the
first training step: NaN / inf, wrong label count, wrong rank, a bad ``validation_split``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

__all__ = ["Dataset", "Batch", "to_dataset", "split_validation", "sequence_mask"]


@dataclass(frozen=True)
class Batch:
    x: Tensor                  # (B, ...) float32 features or int64 ids
    y: Tensor | None           # (B, ...) labels / targets
    lengths: Tensor | None     # (B,) int64 sequence lengths of a padded batch, or None


@dataclass(frozen=True)
class Dataset:
    x: Tensor
    y: Tensor | None
    lengths: Tensor | None

    def __len__(self) -> int:
        return self.x.shape[0]

    def take(self, index: Tensor, device: torch.device | None = None) -> Batch:
        """Samples ``index``, with x and y on ``device`` (lengths stay on the CPU, as the core wants them)."""
        x = self.x[index].to(device)
        y = None if self.y is None else self.y[index].to(device)
        return Batch(x, y, None if self.lengths is None else self.lengths[index])

    def batches(self, batch_size: int, order: Tensor | None = None, device: torch.device | None = None) -> Iterator[Batch]:
        order = torch.arange(len(self)) if order is None else order
        for start in range(0, len(self), batch_size):
            yield self.take(order[start : start + batch_size], device)

    def num_batches(self, batch_size: int) -> int:
        return math.ceil(len(self) / batch_size)


def to_dataset(x: Any, y: Any = None, *, model: Any, where: str, require_y: bool = True) -> Dataset:
    """Validate and convert ``x`` (and ``y``) for ``model``; ``where`` names the call in errors."""
    if x is None:
        raise ValueError(f"{where}: x is required; got None.")
    ids = model.expects_ids()
    x_array, lengths = _as_array(x, f"{where}: x", allow_ragged=True)
    if x_array.ndim == 0:
        raise ValueError(f"{where}: x must be an array of samples; got a single number {x_array.item()!r}.")
    if x_array.shape[0] == 0:
        raise ValueError(f"{where}: x is empty (0 samples); pass at least one sample.")
    if x_array.ndim == 1:
        if model.expects_sequences():
            raise ValueError(
                f"{where}: x must be 3-D (batch, timesteps, features) for this recurrent model; got 1-D shape "
                f"{x_array.shape}. If x is one sequence use x[None, :, None]; if it is one value per sample, "
                "x[:, None, None]."
            )
        raise ValueError(
            f"{where}: x must be at least 2-D (batch, features); got 1-D shape {x_array.shape}. "
            "For one feature per sample use x[:, None]."
        )
    x_tensor = _to_tensor(x_array, f"{where}: x", kind="ids" if ids else "features")
    try:
        model.check_input_shape(tuple(x_tensor.shape[1:]))
    except ValueError as error:
        raise ValueError(f"{where}: x has shape {tuple(x_tensor.shape)}, which the model cannot take. {error}") from None
    y_tensor = None
    if y is not None:
        y_array, _ = _as_array(y, f"{where}: y", allow_ragged=False)
        n_y = y_array.shape[0] if y_array.ndim else 0
        if n_y != x_tensor.shape[0]:
            raise ValueError(
                f"{where}: y must have one label per sample of x: expected {x_tensor.shape[0]}, got {n_y} "
                f"(x shape {tuple(x_tensor.shape)}, y shape {y_array.shape}). Check that x and y match."
            )
        y_tensor = _to_tensor(y_array, f"{where}: y", kind="labels")
    elif require_y:
        raise ValueError(f"{where}: y is required; got None. Pass the labels as the second argument.")
    return Dataset(x_tensor, y_tensor, lengths)


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
    cut = lambda t, s: None if t is None else t[s]  # noqa: E731
    train = Dataset(data.x[:split_at], cut(data.y, slice(None, split_at)), cut(data.lengths, slice(None, split_at)))
    val = Dataset(data.x[split_at:], cut(data.y, slice(split_at, None)), cut(data.lengths, slice(split_at, None)))
    return train, val


def sequence_mask(y_pred: Tensor, lengths: Tensor | None) -> Tensor | None:
    """``(B, T)`` True on real steps, for sequence outputs ``(B, T, C)`` of a padded batch; else None."""
    if lengths is None or y_pred.dim() != 3:
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


def _to_tensor(array: np.ndarray, what: str, *, kind: str) -> Tensor:
    """``kind``: "ids" (int64 token ids), "features" (float32) or "labels" (integers stay int64 class ids)."""
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
    if kind == "labels" and (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
        return torch.as_tensor(array.astype(np.int64))
    return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float32))
