r"""``ConvLSTM2D`` and ``ConvGRU2D``: convolutional recurrences over image sequences, in torch.nn's style
(PyTorch has none: pytorch#1706), running rnnkit's hand-derived BPTT kernels (``rnnkit.kernels.conv_lstm``,
``conv_gru``) for stacking, both directions, ``lengths=`` and an initial state.

ConvLSTM (Shi et al. 2015, eq. 3; ∗ a "same" 2-D convolution, ⊙ the Hadamard product; peepholes optional):

    i = σ(W_xi ∗ x_t + W_hi ∗ h_{t-1} + w_ci ⊙ c_{t-1} + b_i)      f = σ(W_xf ∗ x_t + W_hf ∗ h_{t-1} + w_cf ⊙ c_{t-1} + b_f)
    g = tanh(W_xg ∗ x_t + W_hg ∗ h_{t-1} + b_g)                     c_t = f ⊙ c_{t-1} + i ⊙ g
    o = σ(W_xo ∗ x_t + W_ho ∗ h_{t-1} + w_co ⊙ c_t + b_o)           h_t = o ⊙ tanh(c_t)

ConvGRU (PyTorch's "reset after" GRU with convolutions): r, z, n as ``rnnkit.nn.GRU`` with ∗ for every product.

What ``forward`` computes, as a plain loop (one layer, one direction; ``cells.conv_steps`` has the step)::

    for t in range(T):                              # reverse: T-1 .. 0
        h_new, c_new = conv_lstm_step(x[t], (h, c), weights)
        h, c = lerp(h, h_new, m[t]), lerp(c, c_new, m[t])   # m[t] (B,): 1 while t < lengths[b]
        y[t] = m[t] * h

so padded steps keep the state and output zeros, and the reverse direction starts at each sequence's own
last step (its padded steps come first in reverse order and leave the initial state untouched).

Parameters, named and laid out like torch.nn.LSTM / GRU (G = 4H for the LSTM, 3H for the GRU; gate order
i, f, g, o and r, z, n): ``weight_ih_l{k}[_reverse]`` (G, C_in, k_y, k_x), ``weight_hh_l{k}`` (G, H, k_y, k_x),
``bias_ih_l{k}``, ``bias_hh_l{k}`` (G,), and with ``peephole=True`` ``peephole_l{k}`` (3, H, 1, 1): w_ci, w_cf,
w_co as one weight per hidden channel, shared over the frame. That departs from Shi et al. on purpose
(their w_c are full (H, Y, X) maps, tying the layer to one frame size); per-channel peepholes keep the
layer size-independent, as the peephole LSTM of Gers et al. has one weight per cell. C_in is
``input_channels`` for layer 0 and D·H above. Kernels must be odd (the "same" padding k // 2 keeps the
frame size). All start U(-1/√(H k_y k_x), 1/√(H k_y k_x)): torch.nn's 1/√H with the recurrent fan-in.

Shapes (batch_first=True; legend B batch, T time, C channels, H hidden channels, Y × X the frame, D
directions, L layers): x (B, T, C, Y, X) · state h_0, c_0 (L·D, B, H, Y, X) · y (B, T, D·H, Y, X) ·
h_n, c_n (L·D, B, H, Y, X), the state after each sequence's own last step (forward) / first step (reverse).
"""

from __future__ import annotations

import abc
import math
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit._checks import check_float_tensor, check_lengths, check_positive_int, check_same_dtype, check_state_shape, shape_str
from rnnkit.cells.conv_steps import conv_gru_step, conv_lstm_step
from rnnkit.kernels.conv_gru import conv_gru_sequence
from rnnkit.kernels.conv_lstm import conv_lstm_sequence

__all__ = ["ConvLSTM2D", "ConvGRU2D", "kernel_pair"]

State = tuple[Tensor, ...]


def kernel_pair(owner: str, kernel_size: Any) -> tuple[int, int]:
    """``kernel_size`` as (k_y, k_x): an odd int or a pair of odd ints."""
    pair = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    if len(pair) != 2:
        raise ValueError(f"{owner}: kernel_size must be an int or a pair (k_y, k_x); got {kernel_size!r}.")
    ky, kx = (check_positive_int(owner, "kernel_size", k) for k in pair)
    if ky % 2 == 0 or kx % 2 == 0:
        raise ValueError(f"{owner}: kernel_size must be odd on both axes, so 'same' padding keeps the frame size; "
                         f"got {kernel_size!r}. Use {ky + 1 - ky % 2} × {kx + 1 - kx % 2} (or 1 for a 1 × 1 kernel).")
    return ky, kx


def _suffix(layer: int, direction: int) -> str:
    return f"_l{layer}" + ("_reverse" if direction == 1 else "")


class _ConvRecurrent(nn.Module, metaclass=abc.ABCMeta):
    """Base of ``ConvLSTM2D`` and ``ConvGRU2D``: parameters, checks, layers × directions; not used directly."""

    gate_count: int = 4
    state_count: int = 2
    state_names: tuple[str, ...] = ("h_0", "c_0")

    def __init__(self, input_channels: int, hidden_channels: int, kernel_size: int | tuple[int, int] = 3, *,
                 num_layers: int = 1, bias: bool = True, peephole: bool = False, bidirectional: bool = False,
                 batch_first: bool = True) -> None:
        super().__init__()
        owner = type(self).__name__
        self.input_channels = check_positive_int(owner, "input_channels", input_channels)
        self.hidden_channels = check_positive_int(owner, "hidden_channels", hidden_channels)
        self.kernel_size = kernel_pair(owner, kernel_size)
        self.num_layers = check_positive_int(owner, "num_layers", num_layers)
        self.bias = bool(bias)
        self.peephole = bool(peephole)
        self.bidirectional = bool(bidirectional)
        self.batch_first = bool(batch_first)
        G, H, (ky, kx) = self.gate_count * self.hidden_channels, self.hidden_channels, self.kernel_size
        for layer in range(self.num_layers):
            C_in = self.input_channels if layer == 0 else self.num_directions * H
            for direction in range(self.num_directions):
                s = _suffix(layer, direction)
                self.register_parameter("weight_ih" + s, nn.Parameter(torch.empty(G, C_in, ky, kx)))
                self.register_parameter("weight_hh" + s, nn.Parameter(torch.empty(G, H, ky, kx)))
                if self.bias:
                    self.register_parameter("bias_ih" + s, nn.Parameter(torch.empty(G)))
                    self.register_parameter("bias_hh" + s, nn.Parameter(torch.empty(G)))
                if self.peephole:
                    self.register_parameter("peephole" + s, nn.Parameter(torch.empty(3, H, 1, 1)))
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        """U(-1/√(H k_y k_x), 1/√(H k_y k_x)) for every parameter."""
        bound = 1.0 / math.sqrt(self.hidden_channels * self.kernel_size[0] * self.kernel_size[1])
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def layer_weights(self, layer: int, direction: int = 0) -> tuple[Tensor | None, ...]:
        """``(W_ih, W_hh, b_ih, b_hh[, peephole])`` of one layer and direction (None where off): the weights
        tuple of ``cells.conv_steps`` and the kernels."""
        s, params = _suffix(layer, direction), self._parameters
        names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] + (["peephole"] if self.state_count == 2 else [])
        return tuple(params.get(n + s) for n in names)

    def extra_repr(self) -> str:
        s = f"{self.input_channels}, {self.hidden_channels}, kernel_size={self.kernel_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("peephole", False), ("bidirectional", False),
                              ("batch_first", True)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    # -- the cell's part (subclasses) -----------------------------------------------------------
    @abc.abstractmethod
    def _sequence(self, x: Tensor, state: State, weights: tuple, mask: Tensor | None, reverse: bool) -> tuple[Tensor, State]:
        """One layer, one direction over the whole sequence (the cell's kernel)."""

    @abc.abstractmethod
    def _step(self, x_t: Tensor, state: State, weights: tuple) -> State:
        """One step of the cell (``cells.conv_steps``)."""

    # -- running ----------------------------------------------------------------------------------
    def forward(self, x: Tensor, state: Any = None, *, lengths: Any = None) -> tuple[Tensor, Any]:
        x = self._check_input(x)
        if self.batch_first:
            x = x.transpose(0, 1)
        T, B, _, Y, X = x.shape                                               # x: (T, B, C, Y, X)
        mask = None
        if lengths is not None:
            lengths = check_lengths(type(self).__name__, lengths, B, T)
            if int(lengths.min()) < T:
                mask = (torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)).to(device=x.device, dtype=x.dtype)  # (T, B)
        states = self._initial_state(state, self.num_layers * self.num_directions, B, Y, X, x, "state")
        finals: list[State] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                y, s_n = self._sequence(layer_input, tuple(s[k] for s in states), self.layer_weights(layer, direction),
                                        mask, direction == 1)
                outputs.append(y)                                             # (T, B, H, Y, X)
                finals.append(s_n)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)   # (T, B, D·H, Y, X)
        y = layer_input.transpose(0, 1) if self.batch_first else layer_input
        return y, self._public(tuple(torch.stack([f[j] for f in finals]) for j in range(self.state_count)))

    def step(self, x_t: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """Advance a unidirectional stack by one frame (streaming): ``x_t`` (B, C, Y, X), ``state`` as in
        ``forward`` ((L, B, H, Y, X) tensors) or None for zeros. Returns ``(y_t (B, H, Y, X), new_state)``;
        feeding ``new_state`` back frame after frame gives ``forward``'s outputs. Runs ``cells.conv_steps``."""
        owner = type(self).__name__
        if self.bidirectional:
            raise ValueError(f"{owner}.step: a bidirectional layer needs the whole sequence; use forward() instead.")
        x_t = check_float_tensor(owner, "x_t", x_t)
        if x_t.dim() != 4 or x_t.shape[1] != self.input_channels:
            raise ValueError(f"{owner}.step: x_t must have shape (B, input_channels={self.input_channels}, Y, X); got "
                             f"{shape_str(x_t.shape)}. For a sequence use forward().")
        check_same_dtype(owner, "x_t", x_t, self.weight_ih_l0.dtype)
        B, _, Y, X = x_t.shape
        states = self._initial_state(state, self.num_layers, B, Y, X, x_t, "step state")
        finals: list[State] = []
        layer_input = x_t
        for layer in range(self.num_layers):
            s = self._step(layer_input, tuple(entry[layer] for entry in states), self.layer_weights(layer))
            finals.append(s)
            layer_input = s[0]                                                # (B, H, Y, X)
        return layer_input, self._public(tuple(torch.stack([f[j] for f in finals]) for j in range(self.state_count)))

    def _public(self, state: State) -> Any:
        return state if self.state_count == 2 else state[0]

    def _check_input(self, x: Any) -> Tensor:
        owner = type(self).__name__
        x = check_float_tensor(owner, "x", x)
        C = self.input_channels
        legend = f"(B, T, C={C}, Y, X)" if self.batch_first else f"(T, B, C={C}, Y, X)"
        if x.dim() != 5:
            fix = ("For one clip add the batch axis: x.unsqueeze(0)." if x.dim() == 4 and self.batch_first else
                   "For one clip add the batch axis: x.unsqueeze(1)." if x.dim() == 4 else
                   "Reshape the frames to (channels, rows, cols); a grey frame has C = 1.")
            raise ValueError(f"{owner}: x must have shape {legend}; got a {x.dim()}-D tensor of shape "
                             f"{shape_str(x.shape)}. {fix}")
        if x.shape[2] != C:
            hint = (" The channels look last (Keras' layout): use x.permute(0, 1, 4, 2, 3)." if x.shape[-1] == C else
                    f" Check input_channels, or batch_first={self.batch_first} if the axes are swapped.")
            raise ValueError(f"{owner}: x must have shape {legend}; got {shape_str(x.shape)} with {x.shape[2]} channels "
                             f"on axis 2.{hint}")
        if 0 in x.shape:
            raise ValueError(f"{owner}: x is empty, shape {shape_str(x.shape)}; pass at least one clip of one frame.")
        check_same_dtype(owner, "x", x, self.weight_ih_l0.dtype)
        return x

    def _initial_state(self, state: Any, LD: int, B: int, Y: int, X: int, x: Tensor, arg: str) -> State:
        owner = type(self).__name__
        H = self.hidden_channels
        if state is None:
            zeros = x.new_zeros(LD, B, H, Y, X)
            return (zeros,) * self.state_count
        if self.state_count == 1:
            parts = (state,)
        else:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError(f"{owner}: {arg} must be a tuple (h_0, c_0) of tensors; got {type(state).__name__}.")
            parts = tuple(state)
        legend = f"({'num_layers * num_directions' if arg == 'state' else 'num_layers'}, B, hidden_channels, Y, X)"
        checked = []
        for part, name in zip(parts, self.state_names):
            part = check_state_shape(owner, f"{arg} {name}", part, (LD, B, H, Y, X), legend)
            check_same_dtype(owner, f"{arg} {name}", part, x.dtype)
            checked.append(part.to(x.device))
        return tuple(checked)


class ConvLSTM2D(_ConvRecurrent):
    """``ConvLSTM2D(input_channels, hidden_channels, kernel_size=3, *, num_layers=1, bias=True, peephole=False,
    bidirectional=False, batch_first=True)``; ``forward(x, state=None, *, lengths=None) -> (y, (h_n, c_n))``."""

    gate_count = 4
    state_count = 2
    state_names = ("h_0", "c_0")

    def _sequence(self, x, state, weights, mask, reverse):
        W_ih, W_hh, b_ih, b_hh, peephole = weights
        y, h, c = conv_lstm_sequence(x, state[0], state[1], W_ih, W_hh, b_ih, b_hh, peephole, mask, reverse)
        return y, (h, c)

    def _step(self, x_t, state, weights):
        return conv_lstm_step(x_t, state, weights)


class ConvGRU2D(_ConvRecurrent):
    """``ConvGRU2D(input_channels, hidden_channels, kernel_size=3, *, num_layers=1, bias=True, bidirectional=False,
    batch_first=True)``; ``forward(x, state=None, *, lengths=None) -> (y, h_n)``."""

    gate_count = 3
    state_count = 1
    state_names = ("h_0",)

    def __init__(self, input_channels: int, hidden_channels: int, kernel_size: int | tuple[int, int] = 3, *,
                 num_layers: int = 1, bias: bool = True, bidirectional: bool = False, batch_first: bool = True) -> None:
        super().__init__(input_channels, hidden_channels, kernel_size, num_layers=num_layers, bias=bias,
                         bidirectional=bidirectional, batch_first=batch_first)

    def _sequence(self, x, state, weights, mask, reverse):
        y, h = conv_gru_sequence(x, state[0], *weights, mask, reverse)
        return y, (h,)

    def _step(self, x_t, state, weights):
        return conv_gru_step(x_t, state, weights)
