"""``Concatenate``: join several tensors along one axis (Keras' merging layer).

A layer of several inputs (see ``_multi_input``): it lives in a subclassed model's ``call``::

    merged = self.concatenate([encoder_state, features])        # Keras' list form
    merged = self.concatenate(encoder_state, features)          # the same
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit.layers._base import Shape, _fmt, training_mode
from rnnkit.layers._multi_input import MultiInputLayer

__all__ = ["Concatenate"]


class Concatenate(MultiInputLayer):
    """``y = concat([x_1, ..., x_n], axis)``: every input has the same shape except on ``axis``.

    ``axis`` counts with the batch axis (Keras' convention, default -1: the features); the batch axis
    itself (0) cannot be joined. Shapes: ``(B, T, I_1), (B, T, I_2) → (B, T, I_1 + I_2)`` for ``axis=-1``.
    """

    input_names = ("inputs",)

    def __init__(self, axis: int = -1, *, name: str | None = None) -> None:
        super().__init__(name=name)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate: axis must be an int; got {type(axis).__name__} {axis!r}.")
        if axis == 0:
            raise ValueError("Concatenate: axis=0 is the batch axis, which cannot be joined; use axis=-1 "
                             "(features) or axis=1 (time).")
        self.axis = axis

    def forward(self, *inputs: Any, training: bool | None = None) -> Tensor:
        if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
            inputs = tuple(inputs[0])  # Keras' form: layer([a, b])
        if len(inputs) < 2:
            raise ValueError(f"{self.display_name}: needs at least 2 inputs, as a list ([a, b]) or as arguments "
                             f"(a, b); got {len(inputs)}.")
        names = [f"inputs[{i}]" for i in range(len(inputs))]
        self.check_tensors(inputs, names)
        self._check_shapes([tuple(t.shape) for t in inputs], names, with_batch=True)
        self.build_for(inputs)
        if training is None or bool(training) == self.training:
            return self.call(*inputs)
        with training_mode(self, bool(training)):
            return self.call(*inputs)

    def call(self, *inputs: Tensor, lengths: Tensor | None = None) -> Tensor:
        return torch.cat(inputs, dim=self.axis)

    def _axis(self, ndim: int) -> int:
        """``axis`` as a non-negative index into shapes *with* the batch axis, for inputs of rank ``ndim``."""
        if not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(f"{self.display_name}: axis={self.axis} is out of range for {ndim}-D inputs, or is the "
                             "batch axis; use axis=-1 for the features.")
        return self.axis % ndim

    def _check_shapes(self, shapes: list[tuple], names: list[str], *, with_batch: bool) -> None:
        """Same rank, and the same size on every axis but ``axis`` (None matches anything)."""
        for shape, name in zip(shapes[1:], names[1:]):
            if len(shape) != len(shapes[0]):
                raise ValueError(f"{self.display_name}: every input must have the rank of {names[0]} (shape "
                                 f"{_fmt(shapes[0])}); {name} has shape {_fmt(shape)}.")
        offset = 0 if with_batch else 1
        axis = self._axis(len(shapes[0]) + offset) - offset
        for shape, name in zip(shapes[1:], names[1:]):
            if any(a != b and None not in (a, b) for d, (a, b) in enumerate(zip(shape, shapes[0])) if d != axis):
                raise ValueError(f"{self.display_name}: inputs must match on every axis but axis={self.axis}; "
                                 f"{names[0]} has shape {_fmt(shapes[0])}, {name} has {_fmt(shape)}.")

    def build(self, input_shapes: list[Shape]) -> None:
        self._check_shapes(input_shapes, [f"inputs[{i}]" for i in range(len(input_shapes))], with_batch=False)

    def compute_output_shape(self, input_shapes: list[Shape]) -> Shape:
        axis = self._axis(len(input_shapes[0]) + 1) - 1
        sizes = [s[axis] for s in input_shapes]
        joined = None if None in sizes else sum(sizes)
        return tuple(joined if d == axis else size for d, size in enumerate(input_shapes[0]))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis, **super().get_config()}
