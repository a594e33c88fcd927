"""``MultiInputLayer``: the base of layers that take several tensors (``Concatenate``, ``Attention``, ...).

``Layer.forward(x, *, lengths)`` takes one tensor; a layer of several inputs defines its own public
``forward`` (its call signature) and builds from the list of its inputs' shapes. Such a layer cannot
sit in a ``Sequential`` (which hands each layer one tensor): it is called inside a subclassed model's
``call``, e.g. ``context = self.attention(query, value, value_lengths=lengths)``.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

from torch import Tensor

from rnnkit.layers._base import Layer, _fmt

__all__ = ["MultiInputLayer"]


class MultiInputLayer(Layer):
    """Base class: subclasses define ``forward`` (the public signature), ``build(input_shapes)``,
    ``call`` (the math on checked tensors) and ``compute_output_shape(input_shapes)``."""

    #: names of the tensor inputs, for error messages and ``build`` (e.g. ``("query", "value", "key")``)
    input_names: tuple[str, ...] = ()

    def build_once(self, input_shape: Any) -> None:
        if _is_one_shape(input_shape):
            raise ValueError(self._single_input_error())
        if self.built:
            return
        shapes = [tuple(s) for s in input_shape]
        self.build(shapes)
        self.built_input_shape = tuple(shapes)
        self.built = True

    def check_input_shape(self, input_shape: Any) -> None:
        if _is_one_shape(input_shape):
            raise ValueError(self._single_input_error())

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        raise ValueError(self._single_input_error())

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}  # no input_shape: the inputs' shapes come from the call

    def _single_input_error(self) -> str:
        names = ", ".join(self.input_names) or "several tensors"
        return (
            f"{self.display_name} takes several inputs ({names}), so it cannot sit in a Sequential model, which "
            "passes one tensor from layer to layer. Call it in the call() of a subclassed rnnkit.Model."
        )

    def check_tensors(self, tensors: Sequence[Any], names: Sequence[str], *, ndim: int | None = None) -> None:
        """Each input a floating-point tensor of rank ``ndim`` (with the batch axis), all of one batch size."""
        for tensor, name in zip(tensors, names):
            if not isinstance(tensor, Tensor):
                raise TypeError(f"{self.display_name}: {name} must be a torch.Tensor; got {type(tensor).__name__}.")
            if not tensor.is_floating_point():
                raise TypeError(f"{self.display_name}: {name} must be a floating-point tensor; got dtype {tensor.dtype}. "
                                f"Use {name}.float().")
            if ndim is not None and tensor.dim() != ndim:
                raise ValueError(f"{self.display_name}: {name} must be {ndim}-D" + (
                    " (batch, timesteps, features)" if ndim == 3 else "") + f"; got shape {_fmt(tuple(tensor.shape))}.")
        first = tensors[0]
        for tensor, name in zip(tensors[1:], names[1:]):
            if tensor.shape[0] != first.shape[0]:
                raise ValueError(f"{self.display_name}: {names[0]} and {name} must have the same batch size; got "
                                 f"{first.shape[0]} and {tensor.shape[0]}.")
            if tensor.dtype != first.dtype:
                raise TypeError(f"{self.display_name}: {names[0]} and {name} must have the same dtype; got "
                                f"{first.dtype} and {tensor.dtype}.")
        self.check_input_dtype(first)

    def build_for(self, tensors: Sequence[Tensor]) -> None:
        """Build on the first call from the inputs' shapes (without the batch axis)."""
        if not self.built:
            self.build_once([tuple(t.shape[1:]) for t in tensors])


def _is_one_shape(shape: Any) -> bool:
    """A Shape is a tuple of ints / None; a list of shapes holds tuples."""
    return isinstance(shape, (tuple, list)) and all(d is None or isinstance(d, int) for d in shape)
