"""``Bidirectional``: run a recurrent layer over the sequence both ways and merge the two outputs.

The wrapped layer builds its ``rnnkit.nn`` module with ``bidirectional=True``, so directions,
lengths (the backward pass starts at each sequence's own last step) and stacking stay in the core.
The backward outputs are aligned with the input's time steps (at step t: the state after reading the
sequence from its end back to t), as Keras aligns them.

``merge_mode``: "concat" (forward then backward features), "sum", "mul", "ave", or None (the two
outputs as a tuple, Keras' list). With the wrapped layer's ``return_state=True`` the call returns
``(output, *forward states, *backward states)`` as Keras does: ``(y, h_fwd, h_bwd)`` for a GRU,
``(y, h_fwd, c_fwd, h_bwd, c_bwd)`` for an LSTM (with merge_mode=None, ``y`` is two tensors).
``initial_state`` takes the states in the same order; ``stateful`` and ``reset_states()`` act on
both directions.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rnnkit.layers._base import Layer, Shape
from rnnkit.layers.recurrent import RecurrentLayer

__all__ = ["Bidirectional"]

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """``Bidirectional(LSTM(32), merge_mode="concat")``: output features ``2 H`` for concat, else ``H``."""

    input_ndim = 3
    call_options = ("initial_state",)

    def __init__(
        self, layer: RecurrentLayer, merge_mode: str | None = "concat", *, name: str | None = None,
        input_shape: Any = None,
    ) -> None:
        if not isinstance(layer, RecurrentLayer):
            raise TypeError(f"Bidirectional: layer must be SimpleRNN, LSTM or GRU; got {type(layer).__name__}.")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {list(MERGE_MODES)}; got {merge_mode!r}.")
        if layer.go_backwards:
            raise ValueError("Bidirectional: the wrapped layer must have go_backwards=False; Bidirectional reads the "
                             "sequence both ways itself.")
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
        try:
            self.layer.check_input_shape(input_shape)
        except ValueError as error:
            raise ValueError(f"{self.display_name}: {error}") from None

    @property
    def return_state(self) -> bool:
        return self.layer.return_state

    @property
    def stateful(self) -> bool:
        return self.layer.stateful

    def reset_states(self, states: list[Tensor] | None = None) -> None:
        """stateful: start from zeros (or Keras' list of states, forward then backward) at the next call."""
        self.layer.reset_states(states)

    def call(self, x: Tensor, *, lengths: Tensor | None = None, initial_state: Any = None) -> Any:
        out = self.layer(x, lengths=lengths, initial_state=initial_state)  # (..., 2H): forward half, then backward
        y, states = (out[0], out[1:]) if self.return_state else (out, ())
        y = self.merge(y)
        if not states:
            return y
        return (*y, *states) if self.merge_mode is None else (y, *states)

    def merge(self, y: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        if self.merge_mode == "concat":
            return y
        forward, backward = y.chunk(2, dim=-1)
        if self.merge_mode is None:
            return forward, backward
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        return (forward + backward) / 2

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if self.merge_mode is None or self.return_state:
            raise ValueError(f"{self.display_name}: merge_mode=None and return_state=True give several tensors, which a "
                             "Sequential model cannot pass on; call the layer in a subclassed model's call().")
        y = self(x, lengths=lengths)
        return y, (lengths if self.layer.return_sequences else None)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = self.layer.compute_output_shape(input_shape)  # last axis 2H (the output, without states)
        return shape if self.merge_mode == "concat" else (*shape[:-1], shape[-1] // 2)

    def get_config(self) -> dict[str, Any]:
        from rnnkit.layers import serialize  # the registry lives in the package

        return {"layer": serialize(self.layer), "merge_mode": self.merge_mode, **super().get_config()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        from rnnkit.layers import deserialize

        config = dict(config)
        return cls(deserialize(config.pop("layer")), **config)
