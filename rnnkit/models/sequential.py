"""``Sequential``: a stack of layers with Keras' ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

A ``Sequential`` is an :class:`~rnnkit.models.Model` whose ``call`` runs its layers in order, passing the
padded batch's ``lengths`` along (``Layer.propagate``). It is also a ``torch.nn.Module``
(``model.parameters()``, ``state_dict()``, ``model(x)`` work as usual). Unlike a subclassed model it knows
its input shape before seeing data (``input_shape=`` on the first layer, or ``build``), so it can be built,
summarised with output shapes and saved without a forward pass.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.layers import Conv1D, Embedding, Layer, Masking, MultiInputLayer, TimeDistributed
from rnnkit.layers._base import snake_case
from rnnkit.layers.recurrent import RecurrentLayer
from rnnkit.layers.wrappers import Bidirectional
from rnnkit.models.model import Model
from rnnkit.saving.registry import register_serializable

__all__ = ["Sequential"]


@register_serializable(package="rnnkit")
class Sequential(Model):
    """``Sequential([SimpleRNN(10, input_shape=(T, I)), Dense(1, activation="sigmoid")])``."""

    def __init__(self, layers: Iterable[Layer] | None = None, *, name: str | None = None) -> None:
        super().__init__(name=name or "sequential")
        self.layers = nn.ModuleList()
        for layer in layers or []:
            self.add(layer)

    # --- structure --------------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add: expected an rnnkit layer (rnnkit.layers.Dense, LSTM, ...); got {type(layer).__name__}."
            )
        if isinstance(layer, MultiInputLayer):
            raise TypeError(
                f"Sequential.add: {type(layer).__name__} takes several inputs, and a Sequential passes one tensor from "
                "layer to layer; subclass rnnkit.Model and call it in call() instead."
            )
        if isinstance(layer, Bidirectional) and layer.merge_mode is None:
            raise ValueError(
                "Sequential.add: Bidirectional(merge_mode=None) returns two tensors, which a Sequential cannot pass on; "
                "use merge_mode='concat' (or 'sum', 'ave', 'mul'), or subclass rnnkit.Model."
            )
        if self.layers and getattr(self.layers[-1], "return_state", False):
            raise ValueError("Sequential: a layer with return_state=True must be the last one; its output is a tuple.")
        if getattr(layer, "return_state", False):
            raise ValueError(
                f"Sequential: {type(layer).__name__}(return_state=True) returns a tuple, which a Sequential model "
                "cannot pass on or train; call the layer directly to get its states."
            )
        if self.layers and layer.input_shape is not None:
            raise ValueError(
                f"Sequential: only the first layer may set input_shape; {type(layer).__name__} at position "
                f"{len(self.layers)} has input_shape={layer.input_shape}. Remove it; the shape is inferred."
            )
        if layer.name is None:
            layer.name = self._unique_name(snake_case(type(layer).__name__))
        elif any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"Sequential: layer names must be unique; {layer.name!r} is already used.")
        self.layers.append(layer)
        if len(self.layers) == 1 and layer.input_shape is not None:
            self.build(layer.input_shape)
        elif self.built_input_shape is not None:
            self.build(self.built_input_shape)

    def _unique_name(self, base: str) -> str:
        taken = {layer.name for layer in self.layers}
        if base not in taken:
            return base
        k = 1
        while f"{base}_{k}" in taken:
            k += 1
        return f"{base}_{k}"

    @property
    def built_input_shape(self) -> tuple | None:
        return self.layers[0].built_input_shape if self.layers and self.layers[0].built else None

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    def build(self, input_shape: Sequence[int | None]) -> None:
        """Create every layer's weights for inputs ``(batch, *input_shape)``, without running data."""
        shape = tuple(input_shape)
        for layer in self.layers:
            layer.build_once(shape)
            shape = layer.compute_output_shape(shape)

    def build_from_data(self, x: Any, lengths: Tensor | None = None) -> None:
        if not self.layers:
            raise ValueError("Sequential: the model has no layers; add some with add() or Sequential([...]).")
        if isinstance(x, (tuple, dict)):
            raise ValueError("Sequential: a Sequential model takes one input; got a "
                             f"{type(x).__name__} of inputs. Subclass rnnkit.Model for several inputs.")
        if not self.built:
            self.build(tuple(x.shape[1:]) if isinstance(x, (Tensor, np.ndarray)) else ())

    def check_input_shape(self, input_shape: tuple) -> None:
        if not self.layers:
            raise ValueError("Sequential: the model has no layers; add some with add() or Sequential([...]).")
        self.layers[0].check_input_shape(input_shape)

    def expects_ids(self) -> bool:
        return bool(self.layers) and isinstance(self.layers[0], Embedding)

    def input_kind(self) -> str:
        if self.layers and callable(getattr(self.layers[0], "vectorize", None)):
            return "text"  # a TextVectorization first layer reads raw strings
        return "ids" if self.expects_ids() else "features"

    def expects_sequences(self) -> bool:
        return bool(self.layers) and isinstance(self.layers[0], (RecurrentLayer, Bidirectional, Conv1D, Masking,
                                                                 TimeDistributed))

    def requires_feature_axis(self) -> bool:
        return True

    def check_input_structure(self, x: Any) -> None:
        raise ValueError("Sequential: a Sequential model takes one input; got a "
                         f"{type(x).__name__} of inputs. Subclass rnnkit.Model for several inputs.")

    def output_shapes(self) -> list[tuple]:
        if not self.built:
            raise ValueError("Sequential: the model is not built yet; give the first layer input_shape=, "
                             "call build(input_shape), or fit / predict once.")
        shapes, shape = [], self.built_input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
            shapes.append(shape)
        return shapes

    # --- running ----------------------------------------------------------------------------
    def forward_with_lengths(self, x: Tensor, *, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Output and the lengths that still apply to it (for a sequence output of a padded batch)."""
        if not self.layers:
            raise ValueError("Sequential: the model has no layers; add some with add() or Sequential([...]).")
        if isinstance(x, Tensor) and x.is_floating_point() and not self.expects_ids():
            x = x.to(self.float_dtype())       # float32, or float64 for a model converted with .double()
        for layer in self.layers:
            x, lengths = layer.propagate(x, lengths)
        return x, lengths

    def forward(self, x: Tensor, *, lengths: Tensor | None = None, training: bool | None = None) -> Tensor:
        del training  # dropout follows the module's train()/eval() mode, as every layer here does
        return self.forward_with_lengths(x, lengths=lengths)[0]

    def call(self, inputs: Tensor, training: bool = False, lengths: Tensor | None = None) -> Tensor:
        return self.forward_with_lengths(inputs, lengths=lengths)[0]

    # --- persistence -------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        from rnnkit.layers import serialize

        return {
            "name": self.name,
            "layers": [serialize(layer) for layer in self.layers],
            "build_input_shape": list(self.built_input_shape) if self.built_input_shape else None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        from rnnkit.layers import deserialize

        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("the 'model' metadata must be an object with a 'layers' list")
        name = config.get("name")
        model = cls([deserialize(spec) for spec in config["layers"]], name=name if isinstance(name, str) else None)
        if config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model

    def build_from_spec(self, spec: Any) -> None:
        """A Sequential is built from its config's input shape; nothing to run."""
