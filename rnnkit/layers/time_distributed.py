"""``TimeDistributed(layer)``: apply one layer, with one set of weights, to every time step.

    y[:, t] = layer(x[:, t])        for t = 0 .. T - 1

computed as one call on the steps folded into the batch: ``(B, T, *S) → (B·T, *S) → layer →
(B·T, *S') → (B, T, *S')``. Any rnnkit layer can be wrapped (``Dense``, ``Conv1D``, ``Flatten``, a
future ``Conv2D`` over video frames ``(B, T, H, W, C)``, even a recurrent layer over sub-sequences).
The weights are the wrapped layer's (``layer.<name>`` in the state dict), as in Keras, so a Keras
``TimeDistributed`` imports as its inner layer does.

Lengths of a padded batch pass through unchanged, at any output rank (frames past a length are
computed like the others and ignored downstream); the wrapped layer itself sees no lengths, since
its "batch" is made of single steps.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rnnkit.layers._base import Layer, Shape, _fmt
from rnnkit.layers._multi_input import MultiInputLayer

__all__ = ["TimeDistributed"]


class TimeDistributed(Layer):
    """``TimeDistributed(Dense(8))``: ``(B, T, I) → (B, T, 8)``; ``(B, T, *S) → (B, T, *layer_output(S))``."""

    def __init__(self, layer: Layer, *, name: str | None = None, input_shape: Any = None) -> None:
        if not isinstance(layer, Layer) or isinstance(layer, MultiInputLayer):
            raise TypeError(f"TimeDistributed: layer must be an rnnkit layer of one input (Dense, Conv1D, ...); got "
                            f"{type(layer).__name__}.")
        if getattr(layer, "return_state", False):
            raise ValueError("TimeDistributed: the wrapped layer must return one tensor; got return_state=True.")
        if layer.input_shape is not None:
            raise ValueError(f"TimeDistributed: give input_shape= to TimeDistributed (with the time axis), not to the "
                             f"wrapped {type(layer).__name__}; got input_shape={layer.input_shape} on it.")
        super().__init__(name=name, input_shape=input_shape)
        self.layer = layer
        if self.input_shape is not None:
            self.build_once(self.input_shape)

    def check_input_shape(self, input_shape: Shape) -> None:
        if len(input_shape) < 2:
            raise ValueError(f"{self.display_name}: input must be at least 3-D (batch, timesteps, ...); got shape "
                             f"{_fmt((None, *input_shape))}. For one feature per step use x[..., None].")
        try:
            self.layer.check_input_shape(tuple(input_shape[1:]))
        except ValueError as error:
            raise ValueError(f"{self.display_name}: input {_fmt((None, *input_shape))} gives each time step the shape "
                             f"{_fmt((None, *input_shape[1:]))}, which the wrapped layer refuses: {error}") from None

    def check_input_dtype(self, x: Tensor) -> None:
        self.layer.check_input_dtype(x)  # an inner Embedding takes ids

    def build(self, input_shape: Shape) -> None:
        self.check_input_shape(input_shape)
        self.layer.build_once(tuple(input_shape[1:]))

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        B, T = x.shape[:2]
        y = self.layer(x.reshape(B * T, *x.shape[2:]))                  # (B·T, *S')
        if not isinstance(y, Tensor):
            raise TypeError(f"{self.display_name}: the wrapped layer must return one tensor; got {type(y).__name__}.")
        return y.reshape(B, T, *y.shape[1:])                             # (B, T, *S')

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return self(x, lengths=lengths), lengths  # the time axis survives at any rank

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *self.layer.compute_output_shape(tuple(input_shape[1:])))

    def get_config(self) -> dict[str, Any]:
        from rnnkit.layers import serialize  # the registry lives in the package

        return {"layer": serialize(self.layer), **super().get_config()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        from rnnkit.layers import deserialize

        config = dict(config)
        return cls(deserialize(config.pop("layer")), **config)
