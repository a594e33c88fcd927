"""``Bidirectional``: run a recurrent layer over the sequence both ways and merge the two outputs.

The wrapped layer builds its ``rnnkit.nn`` module with ``bidirectional=True``, so directions,
lengths (the backward pass starts at each sequence's own last step) and stacking stay in the core.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rnnkit.layers._base import Layer, Shape
from rnnkit.layers.recurrent import RecurrentLayer

__all__ = ["Bidirectional"]

MERGE_MODES = ("concat", "sum", "mul", "ave")


class Bidirectional(Layer):
    """``Bidirectional(LSTM(32), merge_mode="concat")``: output features ``2 H`` for concat, else ``H``."""

    input_ndim = 3

    def __init__(
        self, layer: RecurrentLayer, merge_mode: str = "concat", *, name: str | None = None, input_shape: Any = None
    ) -> None:
        if not isinstance(layer, RecurrentLayer):
            raise TypeError(f"Bidirectional: layer must be SimpleRNN, LSTM or GRU; got {type(layer).__name__}.")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {list(MERGE_MODES)}; got {merge_mode!r}.")
        if layer.return_state:
            raise ValueError("Bidirectional: the wrapped layer must have return_state=False; got return_state=True.")
        super().__init__(name=name, input_shape=input_shape or layer.input_shape)
        self.merge_mode = merge_mode
        layer.directions = 2
        if layer.built:  # built from its own input_shape with one direction: build again with two
            shape = layer.built_input_shape
            del layer.core
            layer.built = False
            layer.build_once(shape)
        self.layer = layer
        if self.input_shape is not None:
            self.build_once(self.input_shape)

    def build(self, input_shape: Shape) -> None:
        self.layer.build_once(input_shape)

    def check_input_shape(self, input_shape: Shape) -> None:
        self.layer.check_input_shape(input_shape)

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        y = self.layer(x, lengths=lengths)  # (..., 2H): forward half, then backward half
        if self.merge_mode == "concat":
            return y
        forward, backward = y.chunk(2, dim=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        return (forward + backward) / 2

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        y = self(x, lengths=lengths)
        return y, (lengths if self.layer.return_sequences else None)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = self.layer.compute_output_shape(input_shape)  # last axis 2H
        return shape if self.merge_mode == "concat" else (*shape[:-1], shape[-1] // 2)

    def get_config(self) -> dict[str, Any]:
        from rnnkit.layers import serialize  # the registry lives in the package

        return {"layer": serialize(self.layer), "merge_mode": self.merge_mode, **super().get_config()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        from rnnkit.layers import deserialize

        config = dict(config)
        return cls(deserialize(config.pop("layer")), **config)
