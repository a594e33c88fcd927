r"""``ConvLSTM2D`` and ``ConvGRU2D``: Keras-style layers around ``rnnkit.nn.ConvLSTM2D / ConvGRU2D`` for video
clips, channels last like Keras: input (B, T, Y, X, C).

As ``LSTM`` / ``GRU`` do for vectors, these layers hold no recurrence of their own; they add Keras' arguments
around the core (``batch_first=True``; frames moved to (C, Y, X) for it and back):

- ``return_sequences``: output (B, T, Y, X, D·filters), else (B, Y, X, D·filters), the state after each
  clip's own last frame (``lengths`` of a padded batch, as for the other recurrent layers).
- ``return_state``: also Keras' states, ``[h, c]`` (``[h]`` for the GRU), each (B, Y, X, filters), per
  direction; ``initial_state=`` takes the same list.
- ``go_backwards``: read each clip from its last frame (within its length) and return the outputs in that
  order, as ``rnnkit.layers.LSTM`` does.
- ``dropout``: input dropout with one mask per clip (B, 1, Y, X, C), shared over the frames, as Keras does.
- ``Bidirectional(ConvLSTM2D(...))`` runs the core with ``bidirectional=True``; "concat" merges along channels.

Departures, on purpose: ``padding`` defaults to "same" and only "same" is accepted (the recurrence needs
the state and the input on one grid; Keras' default "valid" would shrink the frame once, before the
recurrence), ``strides`` and ``dilation_rate`` are 1, the activations are Keras' defaults (tanh, sigmoid),
and ``recurrent_dropout`` / ``stateful`` are not offered. ``ConvLSTM2D(peephole=True)`` adds the
per-channel peepholes of ``rnnkit.nn.ConvLSTM2D`` (Shi et al. 2015), started at zero.

Initial weights as Keras: kernel Glorot-uniform (fan_in k_y k_x C, fan_out k_y k_x G), recurrent kernel
orthogonal over (G, H k_y k_x), biases zero, the LSTM's forget-gate bias one. Weights are the core's
(``core.weight_ih_l0`` (G, C, k_y, k_x), torch layout); a Keras ConvLSTM2D ``kernel`` (k_y, k_x, C, 4H)
imports as ``kernel.permute(3, 2, 0, 1)`` (the same gate order i, f, c, o), ``recurrent_kernel`` likewise,
with its one ``bias`` in ``bias_ih_l0`` and ``bias_hh_l0`` zero.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit import nn as rnn_core
from rnnkit._checks import shape_str
from rnnkit.layers._base import Layer, Shape, _fmt, check_units, glorot_uniform_, normalize_input_shape
from rnnkit.layers._recurrent_state import keras_states, reverse_within_lengths, state_names
from rnnkit.layers.recurrent import RecurrentLayer, _probability
from rnnkit.nn.conv_recurrent import kernel_pair

__all__ = ["ConvLSTM2D", "ConvGRU2D"]


class _ConvRecurrentLayer(RecurrentLayer):
    """Shared by ``ConvLSTM2D`` and ``ConvGRU2D``; subclasses name their ``rnnkit.nn`` class."""

    input_ndim = 5

    def __init__(
        self, filters: int, kernel_size: int | tuple[int, int] = 3, strides: int | tuple[int, int] = 1,
        padding: str = "same", *, use_bias: bool = True, return_sequences: bool = False, return_state: bool = False,
        go_backwards: bool = False, dropout: float = 0.0, data_format: str = "channels_last", name: str | None = None,
        input_shape: Any = None,
    ) -> None:
        owner = type(self).__name__
        super().__init__(check_units(owner, "filters", filters), use_bias=use_bias, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards, name=name)   # built below
        self.filters = self.units
        self.kernel_size = kernel_pair(owner, kernel_size)
        if strides not in (1, (1, 1), [1, 1]):
            raise ValueError(f"{owner}: strides must be 1 (the state keeps the frame's size); got {strides!r}. "
                             "Downsample with a MaxPooling2D or a strided Conv2D inside TimeDistributed instead.")
        if padding != "same":
            raise ValueError(f"{owner}: padding must be 'same' (the recurrent state keeps the frame's size); got "
                             f"{padding!r}. For a smaller output put a TimeDistributed(Conv2D(...)) before or after it.")
        self.padding = padding
        if data_format != "channels_last":
            raise ValueError(f"{owner}: data_format must be 'channels_last' (B, T, Y, X, C); got {data_format!r}. For "
                             "(B, T, C, Y, X) clips use x.permute(0, 1, 3, 4, 2), or rnnkit.nn." + owner + " directly.")
        self.data_format = data_format
        self.dropout = _probability(owner, "dropout", dropout)
        self.input_shape = normalize_input_shape(owner, input_shape)
        if self.input_shape is not None:
            self.build_once(self.input_shape)

    def core_kwargs(self) -> dict[str, Any]:
        return {}

    def build(self, input_shape: Shape) -> None:
        C = input_shape[-1]
        if C is None:
            raise ValueError(f"{self.display_name}: the number of input channels (last axis) must be known; got None.")
        self.core = self.core_class(C, self.filters, self.kernel_size, bias=self.use_bias,
                                    bidirectional=self.directions == 2, batch_first=True, **self.core_kwargs())
        self.keras_initialize()

    def keras_initialize(self) -> None:
        G, C, ky, kx = self.core.weight_ih_l0.shape
        with torch.no_grad():
            for name, p in self.core.named_parameters():
                if name.startswith("weight_ih"):
                    glorot_uniform_(p, ky * kx * C, ky * kx * G)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(p)                    # flattened to (G, H k_y k_x)
                else:
                    nn.init.zeros_(p)                         # biases, peepholes

    def check_input_shape(self, input_shape: Shape) -> None:
        Layer.check_input_shape(self, input_shape)
        expected = self.built_input_shape[-1] if self.built else (self.input_shape[-1] if self.input_shape else None)
        if expected is not None and input_shape[-1] != expected:
            raise ValueError(f"{self.display_name}: input must have shape (batch, frames, rows, cols, channels={expected}); "
                             f"got {_fmt((None, *input_shape))}. Check that the channels are last (channels_last).")

    def _rank_error(self, input_shape: Shape) -> str:
        got = _fmt((None, *input_shape))
        fix = ("For grey frames add the channel axis: x[..., None]." if len(input_shape) == 3 else
               "Reshape the clips to (batch, frames, rows, cols, channels).")
        return (f"{self.display_name}: input must be 5-D (batch, frames, rows, cols, channels); got "
                f"{len(input_shape) + 1}-D shape {got}. {fix}")

    def call(self, x: Tensor, *, lengths: Tensor | None = None, initial_state: Any = None) -> Any:
        B, T, Y, X, C = x.shape
        if self.dropout > 0 and self.training:
            keep = 1.0 - self.dropout
            x = x * x.new_empty(B, 1, Y, X, C).bernoulli_(keep) / keep       # one mask per clip, shared over T
        hx = None if initial_state is None else self._core_state(initial_state, B, Y, X, x)
        if self.go_backwards:
            x = reverse_within_lengths(x, lengths)
        output, state = self.core(x.permute(0, 1, 4, 2, 3), hx, lengths=lengths)   # (B, T, D·H, Y, X)
        h_n = state[0] if isinstance(state, tuple) else state                 # (D, B, H, Y, X)
        if self.return_sequences:
            y = output.permute(0, 1, 3, 4, 2)                                 # (B, T, Y, X, D·H)
        else:
            y = torch.cat(list(h_n), dim=1).permute(0, 2, 3, 1)               # (B, Y, X, D·H)
        if self.return_state:
            return (y, *(s.permute(0, 2, 3, 1) for s in keras_states(state)))  # each (B, Y, X, H)
        return y

    def _core_state(self, initial_state: Any, B: int, Y: int, X: int, x: Tensor) -> Any:
        """Keras' list of D · state_count tensors (B, Y, X, H) → the core's (D, B, H, Y, X) per entry."""
        names, H = state_names(self.state_count, self.directions), self.filters
        if isinstance(initial_state, Tensor) and len(names) == 1:
            initial_state = [initial_state]
        if not isinstance(initial_state, (list, tuple)) or len(initial_state) != len(names):
            raise ValueError(f"{self.display_name}: initial_state must be a list of {len(names)} tensors {names}, each "
                             f"(B, Y, X, filters) = ({B}, {Y}, {X}, {H}); got {type(initial_state).__name__}.")
        for i, (s, n) in enumerate(zip(initial_state, names)):
            if not isinstance(s, Tensor) or s.dtype != x.dtype:
                raise TypeError(f"{self.display_name}: initial_state[{i}] ({n}) must be a tensor of dtype {x.dtype}; got "
                                f"{type(s).__name__}" + (f" of dtype {s.dtype}." if isinstance(s, Tensor) else "."))
            if tuple(s.shape) != (B, Y, X, H):
                raise ValueError(f"{self.display_name}: initial_state[{i}] ({n}) must have shape (B, Y, X, filters) = "
                                 f"({B}, {Y}, {X}, {H}); got {shape_str(s.shape)}.")
        k = self.state_count
        stacked = tuple(torch.stack([initial_state[d * k + j].permute(0, 3, 1, 2) for d in range(self.directions)])
                        .to(x.device) for j in range(k))                      # each (D, B, H, Y, X)
        return stacked[0] if k == 1 else stacked

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        T, Y, X, _ = input_shape
        features = self.directions * self.filters
        return (T, Y, X, features) if self.return_sequences else (Y, X, features)

    def get_config(self) -> dict[str, Any]:
        return {
            "filters": self.filters, "kernel_size": list(self.kernel_size), "padding": self.padding,
            "use_bias": self.use_bias, "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "dropout": self.dropout, "data_format": self.data_format,
            **self.core_kwargs(), **Layer.get_config(self),
        }


class ConvLSTM2D(_ConvRecurrentLayer):
    """``ConvLSTM2D(filters, kernel_size=3, padding="same", return_sequences=False, ...)`` around
    ``rnnkit.nn.ConvLSTM2D``: (B, T, Y, X, C) → (B[, T], Y, X, filters); ``return_state`` adds h, c."""

    core_class = rnn_core.ConvLSTM2D

    def __init__(self, filters: int, kernel_size: int | tuple[int, int] = 3, strides: int | tuple[int, int] = 1,
                 padding: str = "same", *, peephole: bool = False, **kwargs: Any) -> None:
        self._peephole = bool(peephole)   # a plain bool attribute: read by core_kwargs during build
        super().__init__(filters, kernel_size, strides, padding, **kwargs)

    def core_kwargs(self) -> dict[str, Any]:
        return {"peephole": self._peephole}

    def keras_initialize(self) -> None:
        super().keras_initialize()
        H = self.filters
        with torch.no_grad():
            for name, p in self.core.named_parameters():
                if name.startswith("bias_ih"):
                    p[H : 2 * H].fill_(1.0)   # Keras unit_forget_bias: gate order i, f, g, o


class ConvGRU2D(_ConvRecurrentLayer):
    """``ConvGRU2D(filters, kernel_size=3, padding="same", ...)`` around ``rnnkit.nn.ConvGRU2D`` (reset after;
    Keras has no ConvGRU2D, the arguments follow its ConvLSTM2D)."""

    core_class = rnn_core.ConvGRU2D
