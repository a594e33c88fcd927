"""The one recurrent layer: stacking, directions, lengths, inter-layer dropout and state handling,
written once around a cell's sequence kernel or the generic per-step loop.

A cell plugs in through three things (see ``RNN``, ``LSTM``, ``GRU``): ``gate_count`` (G = gate_count × H),
``state_count`` (1 for h, 2 for (h, c)), and ``_sequence`` / ``_step`` running one layer-direction.

Shape legend: B batch, T time, I input features, H hidden units, G gates × H, D directions, L layers.
"""

from __future__ import annotations

import abc
import math
import operator
from functools import partial
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit._checks import (
    check_choice,
    check_float_tensor,
    check_lengths,
    check_positive_int,
    check_probability,
    check_same_dtype,
    check_state_shape,
    shape_str,
)
from rnnkit.cells.loop import run_steps
from rnnkit.cells.scan import scan_steps
from rnnkit.kernels._record import python_kernels, recording_hidden_gradients
from rnnkit.kernels.compiled.stream import compiled_step
from rnnkit.nn import init as _init
from rnnkit.nn._state import detach_state, repack, stack_states

__all__ = ["RecurrentLayer", "BACKENDS", "Noise", "detach_state"]

BACKENDS = ("auto", "kernel", "reference", "native")
State = tuple[Tensor, ...]


class Noise(NamedTuple):
    """One layer-direction's regularisation noise: recurrent dropout mask d (B, H) and zoneout keep
    probabilities k (T, B, H) per state entry; None where off."""

    recurrent_mask: Tensor | None
    zoneout: tuple[Tensor, ...] | None


def _suffix(layer: int, direction: int) -> str:
    return f"_l{layer}" + ("_reverse" if direction == 1 else "")


class RecurrentLayer(nn.Module, metaclass=abc.ABCMeta):
    """Base of ``RNN``, ``LSTM`` and ``GRU``; not used directly."""

    gate_count: int = 1
    state_count: int = 1
    native_class: type[nn.Module] | None = None        # torch.nn's twin, for backend="native"
    # backend="auto" on CPU hands layers this wide to torch.nn's twin, where that was measured faster;
    # None: never (no cell sets it today, see LSTM).
    native_from_hidden_size: int | None = None
    # the cell in the compiled streaming step (rnnkit.kernels.compiled.stream): LSTM, GRU, ELMAN; None: none
    stream_cell: int | None = None
    _stream_relu: bool = False

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        init: str = "default",
        chrono_max: int | None = None,
        forget_bias: float | None = None,
        backend: str = "auto",
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.input_size = check_positive_int(owner, "input_size", input_size)
        self.hidden_size = check_positive_int(owner, "hidden_size", hidden_size)
        self.num_layers = check_positive_int(owner, "num_layers", num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = check_probability(owner, "dropout", dropout)
        self.bidirectional = bool(bidirectional)
        self.recurrent_dropout = check_probability(owner, "recurrent_dropout", recurrent_dropout)
        self.zoneout = check_probability(owner, "zoneout", zoneout)
        self.backend = check_choice(owner, "backend", backend, BACKENDS)
        # named initialisation (rnnkit.nn.init), applied by reset_parameters after the default
        self.init, self.chrono_max, self.forget_bias = _init.check_options(
            owner, self.gate_count, self.bias, init, chrono_max, forget_bias)
        if backend == "native" and (self.native_class is None or self.recurrent_dropout or self.zoneout):
            raise ValueError(
                f"{owner}: backend='native' runs torch.nn's own layer, which has no "
                f"{'counterpart of this cell' if self.native_class is None else 'recurrent_dropout or zoneout'}; "
                f"use backend='kernel'."
            )
        factory = {"device": device, "dtype": dtype}
        self._weight_names: dict[tuple[int, int], tuple[str | None, ...]] = {}   # kernel order, None: no bias
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.num_directions * self.hidden_size
            for direction in range(self.num_directions):
                names: list[str | None] = []
                for name, shape in self._parameter_shapes(layer_input):
                    names.append(name + _suffix(layer, direction))
                    self.register_parameter(names[-1], nn.Parameter(torch.empty(shape, **factory)))
                if not self.bias:
                    names[2:2] = [None, None]
                self._weight_names[layer, direction] = tuple(names)
        # the streaming step's weights, W_ih, W_hh[, b_ih, b_hh] of each layer (first direction), as one lookup
        self._stream_weights = operator.itemgetter(*(n for layer in range(self.num_layers)
                                                     for n in self._weight_names[layer, 0][:4] if n is not None))
        self.reset_parameters()

    # -- the cell's part -----------------------------------------------------------------------------
    @abc.abstractmethod
    def _sequence(self, x: Tensor, state: State, weights: tuple, mask: Tensor | None, reverse: bool,
                  noise: Noise) -> tuple[Tensor, State]:
        """Run the cell's hand-derived kernel over one layer-direction; returns (y, final state)."""

    @abc.abstractmethod
    def _step(self, x_t: Tensor, state: State, weights: tuple, recurrent_mask: Tensor | None = None) -> State:
        """One step of the cell with autograd ops (the reference); returns the candidate state."""

    def _parameter_shapes(self, layer_input: int) -> list[tuple[str, tuple[int, ...]]]:
        """Names (without the _l{k} suffix) and shapes of one layer-direction's parameters, in kernel order."""
        G, H = self.gate_count * self.hidden_size, self.hidden_size
        shapes = [("weight_ih", (G, layer_input)), ("weight_hh", (G, H))]
        if self.bias:
            shapes += [("bias_ih", (G,)), ("bias_hh", (G,))]
        return shapes

    # -- shared machinery ----------------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        """U(-1/√H, 1/√H) for every weight and bias, as torch.nn does; layer-norm gains 1 and biases 0.
        Then the named initialisation, where one was asked for (see ``rnnkit.nn.init.apply_options``):
        ``init="orthogonal"`` (each gate block of W_hh orthogonal), ``init="identity"`` (IRNN, Elman only),
        ``chrono_max=T_max`` (chrono gate biases, LSTM/GRU), ``forget_bias=b`` (LSTM forget-gate bias)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name, p in self.named_parameters():
            if "_ln_" in name:
                nn.init.ones_(p) if name.startswith("weight") else nn.init.zeros_(p)
            else:
                nn.init.uniform_(p, -bound, bound)
        _init.apply_options(self, self.init, self.chrono_max, self.forget_bias)

    def flatten_parameters(self) -> None:
        """No-op, kept so code written for torch.nn's cuDNN layers runs unchanged."""

    def layer_weights(self, layer: int, direction: int = 0) -> tuple:
        """``(W_ih, W_hh, b_ih, b_hh, ...)`` of one layer and direction, in kernel order (biases None
        when bias=False)."""
        params = self._parameters
        return tuple(None if name is None else params[name] for name in self._weight_names[layer, direction])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False),
                              ("recurrent_dropout", 0.0), ("zoneout", 0.0), ("init", "default"),
                              ("chrono_max", None), ("forget_bias", None)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)!r}"
        if self.backend != "auto":
            s += f", backend={self.backend!r}"
        return s

    def prepare_call(self, input: Tensor | PackedSequence, hx: Any = None, lengths: Any = None
                     ) -> tuple[Tensor, Any, Tensor | None, Tensor | None, PackedSequence | None]:
        """What ``forward`` runs on: x (T, B, I), the initial state (each (L*D, B, H)), the length mask (T, B) or
        None (no lengths, or none shorter than T), the checked lengths and the packed input (or None)."""
        owner = type(self).__name__
        packed = input if isinstance(input, PackedSequence) else None
        if packed is not None:
            if lengths is not None:
                raise ValueError(f"{owner}: pass lengths= or a PackedSequence, not both; the packed input already has lengths.")
            input, lengths = pad_packed_sequence(packed, batch_first=self.batch_first)
        x = self._check_input(input)
        if self.batch_first:
            x = x.transpose(0, 1)
        T, B, _ = x.shape                                                     # x: (T, B, I)
        mask = None
        if lengths is not None and torch.compiler.is_exporting():
            # a traced graph (rnnkit.export): lengths are a graph input, so no value checks and always a mask
            steps = torch.arange(T, device=x.device).unsqueeze(1)             # (T, 1)
            mask = (steps < lengths.to(x.device).unsqueeze(0)).to(x.dtype)    # (T, B)
        elif lengths is not None:
            lengths = check_lengths(owner, lengths, B, T)
            if int(lengths.min()) < T:
                steps = torch.arange(T).unsqueeze(1)                          # (T, 1)
                mask = (steps < lengths.unsqueeze(0)).to(device=x.device, dtype=x.dtype)   # (T, B)
        return x, self._initial_state(hx, B, x), mask, lengths, packed

    def forward(self, input: Tensor | PackedSequence, hx: Any = None, *, lengths: Any = None):
        x, state, mask, lengths, packed = self.prepare_call(input, hx, lengths)
        if self.path_for(x) == "native":
            output, h_n = self._native_forward(x, state, lengths if mask is not None else None)
        else:
            output, h_n = self._own_forward(x, state, mask)
        if self.batch_first:
            output = output.transpose(0, 1)
        if packed is not None:
            output = repack(output, lengths, packed, self.batch_first)
        return output, self._public_state(h_n)

    def path_for(self, x: Tensor) -> str:
        """Which implementation runs this call: "kernel" (our hand-derived BPTT, compiled where it can be
        built), "reference" (the per-step autograd loop) or "native" (torch.nn's layer on our parameters).

        backend="auto" takes "native" where torch.nn covers the call (no recurrent dropout or zoneout) and
        is faster: on an accelerator (cuDNN), or on CPU from ``native_from_hidden_size`` hidden units up.
        While hidden-state gradients are recorded (``rnnkit.diagnostics``), "kernel" whatever the backend: the
        Python kernels, whose BPTT reports dh_t (``rnnkit.kernels._record``).
        """
        if recording_hidden_gradients() or torch.compiler.is_exporting():
            return "kernel"
        if self.backend != "auto":
            return self.backend
        covered = self.native_class is not None and not self.recurrent_dropout and not self.zoneout
        wide = self.native_from_hidden_size is not None and self.hidden_size >= self.native_from_hidden_size
        return "native" if covered and (x.device.type != "cpu" or wide) else "kernel"

    def _own_forward(self, x: Tensor, state: State, mask: Tensor | None) -> tuple[Tensor, State]:
        """Layers × directions around the kernel (or the reference loop); x (T, B, I) -> (T, B, D*H)."""
        T, B, _ = x.shape
        D = self.num_directions
        finals: list[State] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(D):
                k = layer * D + direction
                s0 = tuple(s[k] for s in state)
                noise = self._noise(T, B, x)
                y, s_n = self._run(layer_input, s0, self.layer_weights(layer, direction), mask, direction == 1, noise)
                outputs.append(y)
                finals.append(s_n)
            layer_input = outputs[0] if D == 1 else torch.cat(outputs, dim=2)  # (T, B, D*H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        h_n = stack_states(finals, self.state_count)
        return layer_input, h_n

    def _native_forward(self, x: Tensor, state: State, lengths: Tensor | None) -> tuple[Tensor, State]:
        """torch.nn's own layer on this layer's parameters (same names), through torch.func.functional_call."""
        native = self.__dict__.get("_native")
        if native is None:
            native = self.native_class(
                self.input_size, self.hidden_size, self.num_layers, bias=self.bias, dropout=self.dropout,
                bidirectional=self.bidirectional, device="meta", **self._native_options(),
            )
            self.__dict__["_native"] = native                  # not a submodule: no state_dict entries
        native.train(self.training)
        hx = state[0] if self.state_count == 1 else state
        inp = x if lengths is None else pack_padded_sequence(x, lengths, enforce_sorted=False)
        output, h_n = torch.func.functional_call(native, dict(self.named_parameters()), (inp, hx))
        if lengths is not None:
            output, _ = pad_packed_sequence(output, total_length=x.shape[0])
        return output, (h_n,) if self.state_count == 1 else tuple(h_n)

    def _native_options(self) -> dict[str, Any]:
        return {}

    def step(self, x_t: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """Advance a unidirectional layer by one time step with the same weights (streaming, decoders).

        x_t: (B, I); state: as ``hx`` of ``forward``, or None for zeros. Returns ``(y_t (B, H), new_state)``;
        feeding ``new_state`` back step after step gives the same numbers as ``forward`` on the sequence.

        Under ``torch.no_grad()`` (or ``inference_mode``) the whole stack runs as one compiled call (see
        ``_stream_step``); otherwise, or where that does not apply, the sequence kernel with T = 1 per layer.
        """
        if not torch.is_grad_enabled():
            out = self._stream_step(x_t, state)
            if out is not None:
                return out
        owner = type(self).__name__
        if self.bidirectional:
            raise ValueError(f"{owner}.step: a bidirectional layer needs the whole sequence; use forward() instead.")
        x_t = check_float_tensor(owner, "x_t", x_t)
        if x_t.dim() != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(
                f"{owner}.step: x_t must have shape (B, input_size={self.input_size}); got {shape_str(x_t.shape)}."
            )
        check_same_dtype(owner, "x_t", x_t, self._param_dtype())
        B = x_t.shape[0]
        states = self._initial_state(state, B, x_t)
        finals: list[State] = []
        layer_input = x_t
        for layer in range(self.num_layers):
            s0 = tuple(s[layer] for s in states)
            # The sequence kernel with T = 1: the same code path (and, compiled, one call) as forward().
            y, s = self._run(layer_input.unsqueeze(0), s0, self.layer_weights(layer), None, False,
                             self._noise(1, B, x_t))
            finals.append(s)
            layer_input = y[0]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        h_n = stack_states(finals, self.state_count)
        return layer_input, self._public_state(h_n)

    def _stream_step(self, x_t: Any, state: Any) -> tuple[Tensor, Any] | None:
        """All layers in one compiled call (streaming inference), or None where that does not apply: a cell
        without a compiled step, bidirectional, backend "reference"/"native", noise drawn in training
        (recurrent dropout, zoneout, inter-layer dropout), or arguments the compiled step does not take
        (the general path then runs, checks them, and says what is wrong)."""
        if (self.stream_cell is None or self.bidirectional or self.backend not in ("auto", "kernel")
                or (self.training and (self.recurrent_dropout or self.zoneout or (self.dropout and self.num_layers > 1)))):
            return None
        step = compiled_step()
        if step is None:
            return None
        return step(self.stream_cell, x_t, state, self._stream_weights(self._parameters), self.num_layers,
                    1.0 - self.zoneout, self._stream_relu)

    def _run(self, x: Tensor, state: State, weights: tuple, mask: Tensor | None, reverse: bool, noise: Noise):
        if torch.compiler.is_exporting():  # traced for export: the reference step as one scan node (dynamic T)
            step = partial(self._step, recurrent_mask=noise.recurrent_mask)
            return scan_steps(step, x, state, weights, mask, reverse, zoneout=noise.zoneout)
        if recording_hidden_gradients():   # the Python kernels, not the compiled ones: they report dh_t
            return python_kernels(self._sequence)(x, state, weights, mask, reverse, noise)
        if self.backend == "reference":
            return self._reference(x, state, weights, mask, reverse, noise)
        return self._sequence(x, state, weights, mask, reverse, noise)

    def _reference(self, x: Tensor, state: State, weights: tuple, mask: Tensor | None, reverse: bool, noise: Noise):
        step = partial(self._step, recurrent_mask=noise.recurrent_mask)
        return run_steps(step, x, state, weights, mask, reverse, zoneout=noise.zoneout)

    def _noise(self, T: int, B: int, x: Tensor) -> Noise:
        """Draw one layer-direction's recurrent dropout mask (B, H), one per sequence, scaled by 1/(1-p),
        and zoneout keep tensors (T, B, H) per state entry: Bernoulli(z) in training, z at inference."""
        H, p, z = self.hidden_size, self.recurrent_dropout, self.zoneout
        recurrent_mask = None
        if p > 0 and self.training:
            recurrent_mask = x.new_empty(B, H).bernoulli_(1 - p).div_(1 - p)
        zoneout = None
        if z > 0:
            if self.training:
                zoneout = tuple(x.new_empty(T, B, H).bernoulli_(z) for _ in range(self.state_count))
            else:
                zoneout = (x.new_full((1, 1, 1), z).expand(T, B, H),) * self.state_count
        return Noise(recurrent_mask, zoneout)

    def _param_dtype(self) -> torch.dtype:
        return self.weight_ih_l0.dtype

    def _check_input(self, input: Any) -> Tensor:
        owner = type(self).__name__
        x = check_float_tensor(owner, "input", input)
        legend = f"(B, T, input_size={self.input_size})" if self.batch_first else f"(T, B, input_size={self.input_size})"
        if x.dim() != 3:
            fix = "For one feature per step use x[..., None]"
            fix += "; for one unbatched sequence use x.unsqueeze(0)." if self.batch_first else "; for one unbatched sequence use x.unsqueeze(1)."
            raise ValueError(f"{owner}: input must have shape {legend}; got a {x.dim()}-D tensor of shape {shape_str(x.shape)}. {fix}")
        if x.shape[2] != self.input_size:
            raise ValueError(
                f"{owner}: input must have shape {legend}; got {shape_str(x.shape)} with {x.shape[2]} features "
                f"on the last axis. Check input_size, or batch_first={self.batch_first} if the axes are swapped."
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{owner}: input is empty, shape {shape_str(x.shape)}; pass at least one sequence of at least one step.")
        check_same_dtype(owner, "input", x, self._param_dtype())
        return x

    def _initial_state(self, hx: Any, B: int, x: Tensor) -> State:
        owner = type(self).__name__
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        if hx is None:
            zeros = x.new_zeros(LD, B, H)
            return (zeros,) * self.state_count
        if self.state_count == 1:
            parts, names = (hx,), ("hx",)
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != self.state_count:
                raise TypeError(f"{owner}: hx must be a tuple (h_0, c_0) of tensors; got {type(hx).__name__}.")
            parts, names = tuple(hx), ("hx[0] (h_0)", "hx[1] (c_0)")
        legend = "(num_layers * num_directions, B, hidden_size)"
        checked = []
        for part, name in zip(parts, names):
            part = check_state_shape(owner, name, part, (LD, B, H), legend)
            check_same_dtype(owner, name, part, x.dtype)
            checked.append(part)
        return tuple(checked)

    def _public_state(self, h_n: State) -> Any:
        return h_n[0] if self.state_count == 1 else h_n
