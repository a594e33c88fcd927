"""``Dense`` (per time step on 3-D input), ``Dropout`` and ``Embedding`` (with ``mask_zero`` → lengths)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.layers import activations
from rnnkit.layers._base import Layer, Shape, check_units, glorot_uniform_

__all__ = ["Dense", "Dropout", "Embedding"]


class Dense(Layer):
    """``y = activation(x W + b)`` on the last axis: ``(B, I) → (B, units)``, ``(B, T, I) → (B, T, units)``.

    Weights start as Keras' do: ``W`` Glorot-uniform, ``b`` zeros.
    """

    def __init__(
        self, units: int, activation: str | None = None, *, use_bias: bool = True,
        name: str | None = None, input_shape: Any = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.units = check_units("Dense", "units", units)
        self.activation = activation
        self._activation = activations.get("Dense", activation)
        self.use_bias = bool(use_bias)
        if self.input_shape is not None:
            self.build_once(self.input_shape)

    def build(self, input_shape: Shape) -> None:
        I = input_shape[-1]
        if I is None:
            raise ValueError(f"{self.display_name}: the last input dimension (features) must be known; got None.")
        self.linear = nn.Linear(I, self.units, bias=self.use_bias)
        glorot_uniform_(self.linear.weight, I, self.units)
        if self.use_bias:
            nn.init.zeros_(self.linear.bias)

    def check_input_shape(self, input_shape: Shape) -> None:
        super().check_input_shape(input_shape)
        if self.built and input_shape[-1] != self.built_input_shape[-1]:
            raise ValueError(
                f"{self.display_name}: input must have {self.built_input_shape[-1]} features on the last axis "
                f"(the layer was built for them); got {input_shape[-1]}."
            )

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        return self._activation(self.linear(x))  # (..., units)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {"units": self.units, "activation": self.activation, "use_bias": self.use_bias, **super().get_config()}


class Dropout(Layer):
    """Zero a fraction ``rate`` of inputs during training (scaling the rest by ``1 / (1 - rate)``)."""

    def __init__(self, rate: float, *, name: str | None = None, input_shape: Any = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be a float in [0, 1); got {rate!r}.")
        self.rate = float(rate)

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        return nn.functional.dropout(x, self.rate, training=self.training)

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, **super().get_config()}


class Embedding(Layer):
    """Integer ids ``(B, T)`` → vectors ``(B, T, output_dim)``; Keras init U(-0.05, 0.05).

    With ``mask_zero=True`` the id 0 is padding: each row's length is the position after its last
    non-zero id, and those lengths flow to the recurrent layers as ``lengths=``. Padding must come
    at the end of each row (``padding="post"``); a zero before a non-zero id is an error, since
    ``lengths`` cannot express a hole.
    """

    input_ndim = 2

    def __init__(
        self, input_dim: int, output_dim: int, *, mask_zero: bool = False,
        name: str | None = None, input_shape: Any = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.input_dim = check_units("Embedding", "input_dim", input_dim)
        self.output_dim = check_units("Embedding", "output_dim", output_dim)
        self.mask_zero = bool(mask_zero)
        # an Embedding needs no input shape: build at once so that its weights exist
        self.build_once(self.input_shape or (None,))

    def build(self, input_shape: Shape) -> None:
        self.embedding = nn.Embedding(self.input_dim, self.output_dim)
        with torch.no_grad():
            self.embedding.weight.uniform_(-0.05, 0.05)

    def check_input_shape(self, input_shape: Shape) -> None:
        if len(input_shape) != 1:
            raise ValueError(
                f"{self.display_name}: input must be integer ids of shape (batch, timesteps); got shape "
                f"(None, {', '.join(map(str, input_shape))})."
            )

    def check_input_dtype(self, x: Tensor) -> None:
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"{self.display_name}: input must be integer ids; got dtype {x.dtype}. Use x.long().")

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        if x.numel() and not torch.compiler.is_exporting() and (int(x.min()) < 0 or int(x.max()) >= self.input_dim):
            raise ValueError(
                f"{self.display_name}: ids must be in [0, input_dim={self.input_dim}); got values in "
                f"[{int(x.min())}, {int(x.max())}]. Raise input_dim to the vocabulary size."
            )
        return self.embedding(x)  # (B, T, output_dim)

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        y = self(x, lengths=lengths)
        if self.mask_zero and lengths is None:
            lengths = self.lengths_from_ids(x)
        return y, lengths

    def lengths_from_ids(self, x: Tensor) -> Tensor:
        """``(B,)`` lengths of post-padded id rows ``(B, T)`` where 0 is padding."""
        B, T = x.shape
        nonzero = x != 0                                                # (B, T)
        positions = torch.arange(1, T + 1, device=x.device).expand(B, T)
        lengths = (positions * nonzero).amax(dim=1)                     # (B,) one past the last non-zero id
        if torch.compiler.is_exporting():   # traced for export (rnnkit.export): the checks below are eager-only
            return lengths.to(torch.int64)
        if int(lengths.min()) == 0:
            row = int((lengths == 0).nonzero()[0])
            raise ValueError(f"{self.display_name}: row {row} holds only padding (id 0); every sequence needs a token.")
        holes = (~nonzero) & (positions <= lengths.unsqueeze(1))
        if bool(holes.any()):
            row = int(holes.any(dim=1).nonzero()[0])
            raise ValueError(
                f"{self.display_name}: mask_zero=True needs padding at the end of each row; row {row} has id 0 "
                "before a non-zero id. Pad with padding='post', or reserve 0 for padding only."
            )
        return lengths.cpu()

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {"input_dim": self.input_dim, "output_dim": self.output_dim, "mask_zero": self.mask_zero, **super().get_config()}
