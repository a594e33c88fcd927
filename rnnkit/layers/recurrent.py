"""``SimpleRNN``, ``LSTM``, ``GRU``: Keras-style layers around ``rnnkit.nn.RNN / LSTM / GRU``.

These layers hold no recurrence of their own: each builds one ``rnnkit.nn`` module
(``batch_first=True``) and adds what Keras users expect around it — ``return_sequences``,
``return_state``, input ``dropout`` (one mask per sequence, shared across time steps, as in Keras),
Keras' initialisers (kernel Glorot-uniform, recurrent kernel orthogonal, biases zero, LSTM forget
bias one) and the padded-batch ``lengths`` that the core takes as ``lengths=``.

Shapes: input (B, T, I) → output (B, T, D*H) with ``return_sequences=True``, else (B, D*H): the
state after each sequence's own last step.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit import nn as rnn_core
from rnnkit.layers._base import Layer, Shape, _fmt, check_units, glorot_uniform_
from rnnkit.nn.recurrent import BACKENDS  # the core's list: "kernel" (hand-derived BPTT), "reference", ...

__all__ = ["SimpleRNN", "LSTM", "GRU", "RecurrentLayer"]


class RecurrentLayer(Layer):
    """Shared wrapper logic; subclasses name their ``rnnkit.nn`` class and its allowed activations."""

    input_ndim = 3
    core_class: type[nn.Module]
    activations: tuple[str, ...] = ("tanh",)

    def __init__(
        self,
        units: int,
        activation: str = "tanh",
        *,
        use_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        backend: str = "auto",
        name: str | None = None,
        input_shape: Any = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        owner = type(self).__name__
        self.units = check_units(owner, "units", units)
        if activation not in self.activations:
            raise ValueError(
                f"{owner}: activation must be one of {list(self.activations)}; got {activation!r}. "
                + ("Use SimpleRNN for a relu recurrence." if owner != "SimpleRNN" else "")
            )
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.dropout = _probability(owner, "dropout", dropout)
        self.recurrent_dropout = _probability(owner, "recurrent_dropout", recurrent_dropout)
        if self.recurrent_dropout > 0 and "recurrent_dropout" not in inspect.signature(self.core_class).parameters:
            raise ValueError(
                f"{owner}: recurrent_dropout={recurrent_dropout} needs rnnkit.nn.{self.core_class.__name__}"
                "(recurrent_dropout=...), which this version of the core does not have yet; use recurrent_dropout=0.0."
            )
        if backend not in BACKENDS:
            raise ValueError(f"{owner}: backend must be one of {list(BACKENDS)}; got {backend!r}.")
        self.backend = backend
        self.directions = 1  # Bidirectional sets 2 before the layer is built
        if self.input_shape is not None:
            self.build_once(self.input_shape)

    # --- building ---------------------------------------------------------------------------
    def core_kwargs(self) -> dict[str, Any]:
        return {}

    def build(self, input_shape: Shape) -> None:
        I = input_shape[-1]
        kwargs: dict[str, Any] = {"bias": self.use_bias, "batch_first": True,
                                  "bidirectional": self.directions == 2, "backend": self.backend, **self.core_kwargs()}
        if self.recurrent_dropout > 0:  # only when asked, so the layer runs on cores without it
            kwargs["recurrent_dropout"] = self.recurrent_dropout
        self.core = self.core_class(I, self.units, **kwargs)
        self.keras_initialize()

    def keras_initialize(self) -> None:
        """Kernel Glorot-uniform over (I, G), recurrent kernel orthogonal, biases zero (Keras' defaults)."""
        G, I = self.core.weight_ih_l0.shape
        with torch.no_grad():
            for name, p in self.core.named_parameters():
                if name.startswith("weight_ih"):
                    glorot_uniform_(p, I, G)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(p)  # (G, H) with orthonormal columns: the transpose of Keras' (H, G)
                else:
                    nn.init.zeros_(p)

    def check_input_shape(self, input_shape: Shape) -> None:
        super().check_input_shape(input_shape)
        expected = self.built_input_shape[-1] if self.built else (self.input_shape[-1] if self.input_shape else None)
        if expected is not None and input_shape[-1] != expected:
            raise ValueError(
                f"{self.display_name}: input must have shape (batch, timesteps, features={expected}); got "
                f"{_fmt((None, *input_shape))}. Check input_shape, or the number of features in x."
            )

    def _rank_error(self, input_shape: Shape) -> str:
        got = _fmt((None, *input_shape))
        if len(input_shape) == 1:
            fix = "For one feature per time step, use x[..., None] (shape (batch, timesteps, 1))."
        elif len(input_shape) == 0:
            fix = "x holds one number per sample; a recurrent layer needs sequences: x[:, None, None] for length-1 sequences."
        else:
            fix = "Flatten the extra axes into features, e.g. x.reshape(batch, timesteps, -1)."
        return (
            f"{self.display_name}: input must be 3-D (batch, timesteps, features); got {len(input_shape) + 1}-D "
            f"shape {got}. {fix}"
        )

    # --- running ----------------------------------------------------------------------------
    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Any:
        B, T, I = x.shape
        if self.dropout > 0 and self.training:
            keep = 1.0 - self.dropout
            x = x * x.new_empty(B, 1, I).bernoulli_(keep) / keep  # one mask per sequence, shared over T
        output, state = self.core(x, lengths=lengths)                 # output (B, T, D*H)
        states = state if isinstance(state, tuple) else (state,)      # each (D, B, H)
        h_n = states[0]
        y = output if self.return_sequences else torch.cat(list(h_n), dim=-1)  # (B, T, D*H) or (B, D*H)
        if self.return_state:
            return (y, *(s[-1] for s in states))  # Keras order: output, h (, c); each state (B, H)
        return y

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        y = self(x, lengths=lengths)
        return y, (lengths if self.return_sequences else None)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        features = self.directions * self.units
        return (input_shape[0], features) if self.return_sequences else (features,)

    def get_config(self) -> dict[str, Any]:
        return {
            "units": self.units, "activation": self.activation, "use_bias": self.use_bias,
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "backend": self.backend,
            **super().get_config(),
        }


def _probability(owner: str, arg: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{owner}: {arg} must be a float in [0, 1); got {value!r}.")
    return float(value)


class SimpleRNN(RecurrentLayer):
    """Elman RNN layer around ``rnnkit.nn.RNN``: ``h_t = activation(W_ih x_t + W_hh h_{t-1} + b)``."""

    core_class = rnn_core.RNN
    activations = ("tanh", "relu")

    def core_kwargs(self) -> dict[str, Any]:
        return {"nonlinearity": self.activation}


class LSTM(RecurrentLayer):
    """LSTM layer around ``rnnkit.nn.LSTM``; ``return_state=True`` gives ``(output, h, c)``."""

    core_class = rnn_core.LSTM

    def keras_initialize(self) -> None:
        super().keras_initialize()
        H = self.units
        with torch.no_grad():
            for name, p in self.core.named_parameters():
                if name.startswith("bias_ih"):
                    p[H : 2 * H].fill_(1.0)  # Keras unit_forget_bias: gate order i, f, g, o


class GRU(RecurrentLayer):
    """GRU layer around ``rnnkit.nn.GRU`` (the "reset after" form, Keras' default ``reset_after=True``)."""

    core_class = rnn_core.GRU
