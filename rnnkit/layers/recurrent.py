"""``SimpleRNN``, ``LSTM``, ``GRU``: Keras-style layers around ``rnnkit.nn.RNN / LSTM / GRU``.

These layers hold no recurrence of their own: each builds one ``rnnkit.nn`` module
(``batch_first=True``) and adds what Keras users expect around it — ``return_sequences``,
``return_state``, input ``dropout`` (one mask per sequence, shared across time steps, as in Keras),
Keras' initialisers (kernel Glorot-uniform, recurrent kernel orthogonal, biases zero, LSTM forget
bias one) and the padded-batch ``lengths`` that the core takes as ``lengths=``.

Shapes: input (B, T, I) → output (B, T, D*H) with ``return_sequences=True``, else (B, D*H): the
state after each sequence's own last step.

Keras' recurrent options (state plumbing in ``_recurrent_state``):

- ``layer(x, initial_state=[h, c])``: the states to start from, each (B, H) (``[h]`` for SimpleRNN
  and GRU); zeros by default.
- ``go_backwards=True``: read each sequence from its last step to its first, and return the outputs in
  that (processing) order. Without padding this is Keras exactly (``x`` reversed in time). With lengths
  rnnkit reverses each sequence *within its length*, so the padding stays at the end and the lengths
  still describe the output; Keras reverses the padded array (the padding comes first and is skipped
  through its mask), so its final state is the same as ours but its output sequence is shifted by
  ``T - L`` steps.
- ``stateful=True``: the final states of a call are the initial states of the next (detached: truncated
  BPTT), so a long series can be fed in consecutive chunks. Sample ``b`` of each batch must continue
  sample ``b`` of the previous one: train with ``shuffle=False`` and a batch size that divides the
  number of samples; call ``reset_states()`` at the start of each pass over the series (e.g. each
  epoch). The first call fixes the batch size (a different one is an error until ``reset_states()``).
  The carried states are not saved with the model; a loaded model starts from zeros.
- ``zoneout=z`` (Krueger et al. 2016): in training each state unit keeps its previous value with
  probability z; at inference the expectation ``z s_{t-1} + (1 - z) s_t`` (``rnnkit.nn``'s zoneout).

Initialisation options (saved in the config; ``rnnkit.nn.init`` has the equations):

- ``recurrent_initializer="orthogonal"`` (default, Keras': the (G, H) recurrent weight with orthonormal
  columns) or ``"identity"`` (SimpleRNN only: W_hh = I, the IRNN of Le et al. 2015 with
  ``activation="relu"``; as in Keras only the recurrent kernel changes, the kernel stays Glorot-uniform).
- LSTM: ``unit_forget_bias=True`` (default, Keras': forget-gate bias 1).
- LSTM and GRU: ``chrono_max=T_max`` (default None: off), the chrono initialisation of Tallec & Ollivier
  2018: LSTM b_f ~ log(U[1, T_max - 1]) and b_i = -b_f, GRU b_z ~ log(U[1, T_max - 1]). It replaces the
  forget-gate bias that ``unit_forget_bias`` would set. Needs ``use_bias=True``.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit import nn as rnn_core
from rnnkit.layers._base import Layer, Shape, _fmt, check_units, glorot_uniform_
from rnnkit.layers._recurrent_state import core_state, keras_states, reverse_within_lengths
from rnnkit.nn import init as nn_init
from rnnkit.nn._state import detach_state
from rnnkit.nn.recurrent import BACKENDS  # the core's list: "kernel" (hand-derived BPTT), "reference", ...

__all__ = ["SimpleRNN", "LSTM", "GRU", "LayerNormLSTM", "LayerNormGRU", "RecurrentLayer", "RECURRENT_INITIALIZERS"]

RECURRENT_INITIALIZERS = ("orthogonal", "identity")


class RecurrentLayer(Layer):
    """Shared wrapper logic; subclasses name their ``rnnkit.nn`` class and its allowed activations."""

    input_ndim = 3
    call_options = ("initial_state",)
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
        zoneout: float = 0.0,
        go_backwards: bool = False,
        stateful: bool = False,
        backend: str = "auto",
        recurrent_initializer: str = "orthogonal",
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
        self.zoneout = _probability(owner, "zoneout", zoneout)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        if backend not in BACKENDS:
            raise ValueError(f"{owner}: backend must be one of {list(BACKENDS)}; got {backend!r}.")
        self.backend = backend
        if recurrent_initializer not in RECURRENT_INITIALIZERS:
            raise ValueError(f"{owner}: recurrent_initializer must be one of {list(RECURRENT_INITIALIZERS)}; got "
                             f"{recurrent_initializer!r}.")
        if recurrent_initializer == "identity" and self.core_class.gate_count != 1:
            raise ValueError(
                f"{owner}: recurrent_initializer='identity' (IRNN) applies to SimpleRNN; an {owner}'s recurrent "
                "kernel feeds every gate. Keep recurrent_initializer='orthogonal' and use chrono_max=T_max"
                + (" or unit_forget_bias=True." if self.core_class.gate_count == 4 else ".")
            )
        self.recurrent_initializer = recurrent_initializer
        self.directions = 1  # Bidirectional sets 2 before the layer is built
        self._carried: Any = None  # stateful: the core's hx for the next call (not a buffer: never saved)
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
        if self.zoneout > 0:
            kwargs["zoneout"] = self.zoneout
        self.core = self.core_class(I, self.units, **kwargs)
        self.keras_initialize()

    def keras_initialize(self) -> None:
        """Kernel Glorot-uniform over (I, G), recurrent kernel orthogonal, biases zero (Keras' defaults);
        layer-norm gains one and biases zero. recurrent_initializer="identity": W_hh = I instead."""
        G, I = self.core.weight_ih_l0.shape
        with torch.no_grad():
            for name, p in self.core.named_parameters():
                if "_ln_" in name:
                    nn.init.ones_(p) if name.startswith("weight") else nn.init.zeros_(p)
                elif name.startswith("weight_ih"):
                    glorot_uniform_(p, I, G)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(p)  # (G, H) with orthonormal columns: the transpose of Keras' (H, G)
                else:
                    nn.init.zeros_(p)
        if self.recurrent_initializer == "identity":
            nn_init.identity_(self.core, input_std=None)   # W_hh = I; the kernel stays Glorot, biases 0

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
    def call(self, x: Tensor, *, lengths: Tensor | None = None, initial_state: Any = None) -> Any:
        B, T, I = x.shape
        if self.dropout > 0 and self.training:
            keep = 1.0 - self.dropout
            x = x * x.new_empty(B, 1, I).bernoulli_(keep) / keep  # one mask per sequence, shared over T
        if initial_state is not None:
            hx = core_state(self.display_name, initial_state, self.state_count, self.directions, B, self.units, x)
        else:
            hx = self._carried_state(B, x) if self.stateful else None
        if self.go_backwards:
            x = reverse_within_lengths(x, lengths)                    # read each sequence from its end
        output, state = self.core(x, hx, lengths=lengths)             # output (B, T, D*H)
        if self.stateful:
            self._carried = detach_state(state)                       # truncated BPTT: no graph across calls
        h_n = state[0] if isinstance(state, tuple) else state         # (D, B, H)
        y = output if self.return_sequences else torch.cat(list(h_n), dim=-1)  # (B, T, D*H) or (B, D*H)
        if self.return_state:
            return (y, *keras_states(state))  # Keras order: output, h (, c) per direction; each (B, H)
        return y

    @property
    def state_count(self) -> int:
        return self.core_class.state_count

    def _carried_state(self, B: int, x: Tensor) -> Any:
        if self._carried is None:
            return None
        carried = self._carried if isinstance(self._carried, tuple) else (self._carried,)
        if carried[0].shape[1] != B:
            raise ValueError(
                f"{self.display_name}: stateful=True carries the states of batch size {carried[0].shape[1]} from the "
                f"last call; got a batch of {B}. Use one batch size (a batch_size that divides the number of samples, "
                "and shuffle=False), or call reset_states() before changing it."
            )
        moved = tuple(s.to(x.device) for s in carried)
        return moved[0] if len(moved) == 1 else moved

    @property
    def states(self) -> list[Tensor] | None:
        """stateful: the states the next call starts from, Keras' list of (B, H); None after ``reset_states()``."""
        return None if self._carried is None else keras_states(self._carried)

    def reset_states(self, states: list[Tensor] | None = None) -> None:
        """stateful: start the next call from zeros (``states=None``) or from Keras' list of (B, H) ``states``."""
        if not self.stateful:
            raise ValueError(f"{self.display_name}: reset_states() applies to stateful layers; this one has "
                             "stateful=False (its state starts from zeros, or initial_state=, at each call).")
        if states is None:
            self._carried = None
            return
        if not self.built:
            raise ValueError(f"{self.display_name}: build the layer (call it once) before setting its states.")
        first = states[0] if isinstance(states, (list, tuple)) and states else states
        B = first.shape[0] if isinstance(first, Tensor) and first.dim() == 2 else -1
        weight = self.core.weight_ih_l0
        x = torch.empty(0, device=weight.device, dtype=weight.dtype)
        self._carried = detach_state(core_state(self.display_name, states, self.state_count, self.directions, B,
                                                self.units, x))

    reset_state = reset_states  # Keras 3's name

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
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "zoneout": self.zoneout,
            "go_backwards": self.go_backwards, "stateful": self.stateful, "backend": self.backend,
            "recurrent_initializer": self.recurrent_initializer, **super().get_config(),
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


def _chrono_max(owner: str, chrono_max: Any, use_bias: Any) -> int | None:
    if chrono_max is None:
        return None
    chrono_max = nn_init.check_chrono_max(owner, "chrono_max", chrono_max)
    if not use_bias:
        raise ValueError(f"{owner}: chrono_max={chrono_max} sets gate biases, and use_bias=False leaves the layer "
                         "without any; use use_bias=True or chrono_max=None.")
    return chrono_max


class LSTM(RecurrentLayer):
    """LSTM layer around ``rnnkit.nn.LSTM``; ``return_state=True`` gives ``(output, h, c)``.

    Extra keyword arguments: ``unit_forget_bias=True`` (forget-gate bias 1, Keras'), ``chrono_max=None``
    (an int T_max >= 2: chrono biases instead, b_f ~ log(U[1, T_max - 1]), b_i = -b_f).
    """

    core_class = rnn_core.LSTM

    def __init__(self, units: int, activation: str = "tanh", *, unit_forget_bias: bool = True,
                 chrono_max: int | None = None, **options: Any) -> None:
        owner = type(self).__name__
        if not isinstance(unit_forget_bias, bool):
            raise TypeError(f"{owner}: unit_forget_bias must be True or False; got {type(unit_forget_bias).__name__} "
                            f"{unit_forget_bias!r}.")
        # plain attributes set before the base constructor, which builds (keras_initialize) given input_shape
        self.unit_forget_bias = unit_forget_bias
        self.chrono_max = _chrono_max(owner, chrono_max, options.get("use_bias", True))
        super().__init__(units, activation, **options)

    def keras_initialize(self) -> None:
        super().keras_initialize()
        if self.chrono_max is not None:
            nn_init.chrono_(self.core, self.chrono_max)       # b_f, and b_i = -b_f, in bias_ih
        elif self.unit_forget_bias and self.use_bias:
            nn_init.unit_forget_bias_(self.core)             # Keras: b_f = 1 in bias_ih (gate order i, f, g, o)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias, "chrono_max": self.chrono_max}


class GRU(RecurrentLayer):
    """GRU layer around ``rnnkit.nn.GRU`` (the "reset after" form, Keras' default ``reset_after=True``), or with
    ``reset_after=False`` around ``rnnkit.nn.GRUResetBefore`` (r applied to h_{t-1} before W_hn; no hand-derived
    kernel: the per-step reference with autograd).

    Extra keyword arguments: ``reset_after=True``; ``chrono_max=None`` (an int T_max >= 2: chrono update-gate bias,
    b_z ~ log(U[1, T_max - 1]), z being the fraction of h_{t-1} kept).
    """

    core_class = rnn_core.GRU

    def __init__(self, units: int, activation: str = "tanh", *, reset_after: bool = True,
                 chrono_max: int | None = None, **options: Any) -> None:
        if not isinstance(reset_after, bool):
            raise TypeError(f"GRU: reset_after must be True or False; got {reset_after!r}.")
        self.reset_after = reset_after
        if not reset_after:
            self.core_class = rnn_core.GRUResetBefore
        self.chrono_max = _chrono_max(type(self).__name__, chrono_max, options.get("use_bias", True))
        super().__init__(units, activation, **options)

    def keras_initialize(self) -> None:
        super().keras_initialize()
        if self.chrono_max is not None:
            nn_init.chrono_(self.core, self.chrono_max)       # b_z in bias_ih

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reset_after": self.reset_after, "chrono_max": self.chrono_max}


class LayerNormLSTM(LSTM):
    """Layer-normalised LSTM (Ba et al. 2016) around ``rnnkit.nn.LayerNormLSTM``; arguments as ``LSTM``.

    ``G_t = LN(W_ih x_t) + LN(W_hh h_{t-1}) + b_ih + b_hh``, ``h_t = o ⊙ tanh(LN(c_t))``; gains start at 1.
    """

    core_class = rnn_core.LayerNormLSTM


class LayerNormGRU(GRU):
    """Layer-normalised GRU around ``rnnkit.nn.LayerNormGRU``; arguments as ``GRU``."""

    core_class = rnn_core.LayerNormGRU
