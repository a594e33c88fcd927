"""Argument checks shared by every layer: each error names the argument, says what was expected and
what was received, and suggests a fix where one exists."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "check_positive_int",
    "check_probability",
    "check_choice",
    "check_float_tensor",
    "check_same_dtype",
    "check_state_shape",
    "check_lengths",
    "shape_str",
]


def shape_str(shape: Sequence[int]) -> str:
    dims = [str(int(s)) for s in shape]
    return "(" + dims[0] + ",)" if len(dims) == 1 else "(" + ", ".join(dims) + ")"


def check_positive_int(owner: str, name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be an int; got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}; got {value}.")
    return int(value)


def check_probability(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{owner}: {name} must be a float in [0, 1); got {type(value).__name__} {value!r}.")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{owner}: {name} must be in [0, 1); got {value}.")
    return float(value)


def check_choice(owner: str, name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{owner}: {name} must be one of {options}; got {value!r}.")
    return value


def check_float_tensor(owner: str, name: str, value: Any) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{owner}: {name} must be a torch.Tensor; got {type(value).__name__}. "
            f"Convert it with torch.as_tensor({name}, dtype=torch.float32)."
        )
    if not value.is_floating_point():
        raise TypeError(
            f"{owner}: {name} must be a floating-point tensor; got dtype {value.dtype}. "
            f"Convert it with {name}.float()."
        )
    return value


def check_same_dtype(owner: str, name: str, value: Tensor, expected: torch.dtype) -> None:
    if value.dtype != expected:
        raise TypeError(
            f"{owner}: {name} has dtype {value.dtype} but the layer's parameters are {expected}. "
            f"Convert the tensor with {name}.to({expected}) or the layer with layer.to({value.dtype})."
        )


def check_state_shape(owner: str, name: str, value: Any, expected: Sequence[int], legend: str) -> Tensor:
    value = check_float_tensor(owner, name, value)
    if tuple(value.shape) != tuple(expected):
        raise ValueError(
            f"{owner}: {name} must have shape {legend} = {shape_str(expected)}; got {shape_str(value.shape)}. "
            f"Pass hx=None to start from zeros."
        )
    return value


def check_lengths(owner: str, lengths: Any, B: int, T: int) -> Tensor:
    """Return ``lengths`` as a CPU int64 tensor (B,) with values in [1, T]."""
    if isinstance(lengths, (list, tuple)):
        lengths = np.asarray(lengths)
    if isinstance(lengths, np.ndarray):
        if lengths.dtype.kind not in "iu":
            raise TypeError(f"{owner}: lengths must hold integers; got dtype {lengths.dtype}. Use lengths.astype(int).")
        lengths = torch.from_numpy(lengths.astype(np.int64))
    if not isinstance(lengths, Tensor):
        raise TypeError(f"{owner}: lengths must be a tensor, array or list of ints; got {type(lengths).__name__}.")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{owner}: lengths must hold integers; got dtype {lengths.dtype}. Use lengths.long().")
    if lengths.dim() != 1 or lengths.shape[0] != B:
        raise ValueError(
            f"{owner}: lengths must have shape (B,) = ({B},), one length per sequence; got {shape_str(lengths.shape)}."
        )
    if torch.compiler.is_exporting():   # a graph input (rnnkit.export): its values are not known while tracing
        return lengths.to(torch.int64)
    lengths = lengths.to("cpu", torch.int64)
    bad = ((lengths < 1) | (lengths > T)).nonzero().flatten()
    if len(bad):
        b = int(bad[0])
        raise ValueError(
            f"{owner}: lengths must be in [1, T={T}]; got lengths[{b}] = {int(lengths[b])}. "
            f"Each sequence needs at least one step and at most the padded length T."
        )
    return lengths
