r"""Initialisers for recurrent layers, acting in place on a layer's parameters in PyTorch's layout.

Each function takes the layer (``rnnkit.nn.RNN / LSTM / GRU / LayerNormLSTM / LayerNormGRU``, or torch.nn's
``RNN / LSTM / GRU`` without ``proj_size``: the layout is the same) and sets the parameters of every layer and
direction: ``weight_ih_l{k}[_reverse]`` (G, I), ``weight_hh_l{k}[_reverse]`` (G, H), ``bias_ih_l{k}`` and
``bias_hh_l{k}`` (G,), gate blocks of H rows in the order i, f, g, o (LSTM) and r, z, n (GRU). Parameters a
function does not name are left as they are (layer-norm gains and biases included).

- ``orthogonal_``: every (H, H) gate block of W_hh orthogonal (Saxe et al. 2014); any cell.
- ``identity_``: the IRNN, W_hh = I (Le et al. 2015); Elman RNNs only.
- ``chrono_``: gate biases that spread the memory time scales over [1, T_max] (Tallec & Ollivier 2018);
  LSTM and GRU.
- ``unit_forget_bias_``: forget-gate bias 1 (Jozefowicz et al. 2015); LSTM only.

A function given a cell it does not apply to raises a ``ValueError`` naming the function and the cell.
Two bias vectors add up in every gate (b = b_ih + b_hh), so a function that sets a gate's bias b puts b in
``bias_ih`` and 0 in the same rows of ``bias_hh`` (the Keras-style layers keep their one Keras bias in
``bias_ih`` too). Random draws are made in float64 on the CPU (``generator`` for a fixed seed) and then
copied to the parameter's device and dtype.

Shape legend: I input features, H hidden units, G gates × H.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["orthogonal_", "identity_", "chrono_", "unit_forget_bias_", "INITS", "check_options", "apply_options",
           "check_chrono_max", "cell_name"]

#: the ``init=`` choices of the ``rnnkit.nn`` layers (see ``apply_options``)
INITS = ("default", "orthogonal", "identity")

_CELLS = {1: "Elman RNN", 3: "GRU", 4: "LSTM"}       # gate count -> cell
_GATES = {"LSTM": "ifgo", "GRU": "rzn", "Elman RNN": "h"}
_NAME = re.compile(r"^(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$")


def cell_name(gate_count: int) -> str:
    """"Elman RNN", "GRU" or "LSTM" from the number of gate blocks (1, 3, 4)."""
    return _CELLS[gate_count]


def _layer_directions(what: str, module: Any) -> tuple[str, int, list[dict[str, Tensor | None]]]:
    """The cell, H, and per layer-direction {"weight_ih", "weight_hh", "bias_ih", "bias_hh"} (None: no bias)."""
    params = dict(module.named_parameters(recurse=False)) if isinstance(module, nn.Module) else {}
    if "weight_hh_l0" not in params or not isinstance(getattr(module, "hidden_size", None), int):
        raise TypeError(
            f"{what}: module must be a recurrent layer in PyTorch's parameter layout (rnnkit.nn.RNN/LSTM/GRU, "
            f"their LayerNorm variants, or torch.nn.RNN/LSTM/GRU); got {type(module).__name__}."
        )
    H = module.hidden_size
    G, columns = params["weight_hh_l0"].shape
    if columns != H or G % H or G // H not in _CELLS:
        raise ValueError(
            f"{what}: weight_hh_l0 must have shape (G, H) with G = 1, 3 or 4 gates × hidden_size={H}; got "
            f"({G}, {columns}). An LSTM with proj_size has no square recurrent blocks; use proj_size=0."
        )
    groups: dict[str, dict[str, Tensor | None]] = {}
    for name, p in params.items():
        match = _NAME.match(name)
        if match:
            kind, part, layer, reverse = match.groups()
            groups.setdefault(f"l{layer}{reverse or ''}", {"bias_ih": None, "bias_hh": None})[f"{kind}_{part}"] = p
    return _CELLS[G // H], H, list(groups.values())


def _require(what: str, cell: str, allowed: tuple[str, ...], fix: str) -> None:
    if cell not in allowed:
        raise ValueError(f"{what} applies to {' and '.join(allowed)} layers; got a{'n' if cell[0] in 'AEL' else ''} "
                         f"{cell}. {fix}")


def _biases(what: str, direction: dict[str, Tensor | None]) -> tuple[Tensor, Tensor | None]:
    b_ih, b_hh = direction["bias_ih"], direction["bias_hh"]
    if b_ih is None:
        raise ValueError(f"{what} sets gate biases, and this layer has none (bias=False); build it with bias=True.")
    return b_ih, b_hh


def _set_gate_bias(b_ih: Tensor, b_hh: Tensor | None, rows: slice, value: Tensor | float) -> None:
    """b_ih[rows] = value and b_hh[rows] = 0, so that the gate's total bias b_ih + b_hh is the value."""
    if isinstance(value, Tensor):
        b_ih[rows].copy_(value)
    else:
        b_ih[rows].fill_(value)
    if b_hh is not None:
        b_hh[rows].zero_()


def _gate(cell: str, gate: str, H: int) -> slice:
    k = _GATES[cell].index(gate)
    return slice(k * H, (k + 1) * H)


@torch.no_grad()
def orthogonal_(module: Any, *, gain: float = 1.0, generator: torch.Generator | None = None) -> Any:
    r"""Make every (H, H) gate block of every W_hh a (scaled) random orthogonal matrix (Saxe et al. 2014,
    "Exact solutions to the nonlinear dynamics of learning in deep linear networks").

        A ~ N(0, 1)^{H×H},  A = Q R (QR),  Q ← Q diag(sign(diag R)),  W_hh[k H:(k+1) H] = gain · Q

    so ``W_k W_kᵀ = gain² I`` for each gate k (i, f, g, o or r, z, n), the recurrent map of each gate
    preserving the norm of h_{t-1}; the sign fix makes Q Haar-distributed. torch.nn.init.orthogonal_ on the
    whole (G, H) matrix, Keras' default, gives orthonormal columns of the stack instead, not of each gate.
    W_ih and the biases are left as they are. Applies to every cell.
    """
    _, H, directions = _layer_directions("orthogonal_", module)
    for direction in directions:
        W_hh = direction["weight_hh"]                                            # (G, H)
        for k in range(W_hh.shape[0] // H):
            A = torch.randn(H, H, dtype=torch.float64, generator=generator)
            Q, R = torch.linalg.qr(A)
            Q = Q * torch.sign(torch.diagonal(R)).masked_fill(torch.diagonal(R) == 0, 1.0)   # Haar
            W_hh[k * H : (k + 1) * H].copy_(gain * Q)
    return module


@torch.no_grad()
def identity_(module: Any, *, gain: float = 1.0, input_std: float | None = 1e-3,
              generator: torch.Generator | None = None) -> Any:
    r"""The IRNN (Le, Jaitly & Hinton 2015, "A simple way to initialize recurrent networks of rectified
    linear units"): an Elman RNN that starts by copying its state.

        W_hh = gain · I,   b_ih = b_hh = 0,   W_ih ~ N(0, input_std²)   (input_std = 0.001 in the paper)

    so at the start h_t = relu(h_{t-1} + W_ih x_t): the state is carried unchanged and gradients neither
    vanish nor explode through W_hh. The paper's units are ReLU (``nonlinearity="relu"``); a tanh RNN is
    accepted too (tanh is near the identity around 0). ``input_std=None`` leaves W_ih as it is (Keras'
    ``recurrent_initializer="identity"`` sets only the recurrent kernel).

    Elman RNNs only: in an LSTM or GRU, W_hh feeds every gate, and W_hh = I would make each gate's
    pre-activation track h rather than carry the state (gated cells carry it through c or z; see
    ``chrono_`` and ``unit_forget_bias_``), so a gated cell is a ValueError.
    """
    cell, H, directions = _layer_directions("identity_", module)
    _require("identity_", cell, ("Elman RNN",),
             "For an LSTM or GRU use orthogonal_ with chrono_ (or unit_forget_bias_ for an LSTM).")
    for direction in directions:
        direction["weight_hh"].copy_(gain * torch.eye(H, dtype=torch.float64))
        if input_std is not None:
            W_ih = direction["weight_ih"]                                        # (H, I)
            W_ih.copy_(torch.randn(W_ih.shape, dtype=torch.float64, generator=generator) * input_std)
        for b in (direction["bias_ih"], direction["bias_hh"]):
            if b is not None:
                b.zero_()
    return module


def check_chrono_max(owner: str, arg: str, value: Any) -> int:
    """T_max for chrono: an int >= 2 (the longest dependency, in steps, the layer should start able to keep)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {arg} (T_max, the longest time dependency in steps) must be an int >= 2; got "
                        f"{type(value).__name__} {value!r}.")
    if value < 2:
        raise ValueError(f"{owner}: {arg} (T_max, the longest time dependency in steps) must be >= 2; got {value}. "
                         "Use the longest delay the task needs, e.g. the sequence length.")
    return int(value)


@torch.no_grad()
def chrono_(module: Any, t_max: int, *, generator: torch.Generator | None = None) -> Any:
    r"""Chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks warp time?", sec. 3):
    gate biases that give the units characteristic memory times T spread uniformly over [2, T_max].

    A unit that keeps the fraction f of its state per step (c_t = f c_{t-1} + ...) forgets with time
    constant T = 1 / (1 - f). With f = σ(b) and the inputs small at the start, 1 - σ(b) = σ(-b) =
    1 / (1 + e^b), so T = 1 + e^b and b = log(T - 1); drawing T ~ U[2, T_max] gives

        LSTM:  b_f ~ log(U[1, T_max - 1]),   b_i = -b_f        (gate blocks f and i; g and o left as they are)

    b_i = -b_f ties the input gate to 1 - f, as in a leaky unit. For PyTorch's GRU,
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}: z is the fraction kept (the LSTM's f, with 1 - z its tied input gate),
    so the same derivation with z = σ(b_z) gives T = 1 + e^{b_z} and

        GRU:   b_z ~ log(U[1, T_max - 1])                       (gate block z; r and n left as they are)

    (positive: the paper writes the GRU as h_t = z ⊙ n + (1 - z) ⊙ h_{t-1}, where the sign is reversed).
    Every bias lies in [0, log(T_max - 1)]. The value goes into ``bias_ih``; the same rows of ``bias_hh``
    become 0 so that the gate's total bias is the drawn one. One independent draw per layer and direction.
    Needs bias=True; an Elman RNN has no gates, so it is a ValueError.
    """
    cell, H, directions = _layer_directions("chrono_", module)
    _require("chrono_", cell, ("LSTM", "GRU"),
             "An Elman RNN has no gates to bias; use identity_ (IRNN) or orthogonal_.")
    t_max = check_chrono_max("chrono_", "t_max", t_max)
    for direction in directions:
        b_ih, b_hh = _biases("chrono_", direction)
        T_minus_1 = torch.empty(H, dtype=torch.float64).uniform_(1.0, t_max - 1.0, generator=generator)
        b = torch.log(T_minus_1)                                                 # log(U[1, T_max - 1]), (H,)
        if cell == "LSTM":
            _set_gate_bias(b_ih, b_hh, _gate(cell, "f", H), b)                   # b_f
            _set_gate_bias(b_ih, b_hh, _gate(cell, "i", H), -b)                  # b_i = -b_f
        else:
            _set_gate_bias(b_ih, b_hh, _gate(cell, "z", H), b)                   # b_z
    return module


@torch.no_grad()
def unit_forget_bias_(module: Any, value: float = 1.0) -> Any:
    r"""Forget-gate bias 1 (Gers, Schmidhuber & Cummins 2000; Jozefowicz, Zaremba & Sutskever 2015, "An
    empirical exploration of recurrent network architectures"), so f = σ(1 + ...) ≈ 0.73 and the cell
    state is kept from the start; Keras' ``unit_forget_bias=True``.

        b_f = b_if + b_hf = value:   b_if = value,  b_hf = 0        (other gates left as they are)

    LSTM only (a GRU's retention is z: use ``chrono_``); needs bias=True.
    """
    cell, H, directions = _layer_directions("unit_forget_bias_", module)
    _require("unit_forget_bias_", cell, ("LSTM",),
             "A GRU keeps its state through z; use chrono_ for its update-gate bias." if cell == "GRU"
             else "An Elman RNN has no forget gate; use identity_ (IRNN) or orthogonal_.")
    value = _finite("unit_forget_bias_", "value", value)
    for direction in directions:
        b_ih, b_hh = _biases("unit_forget_bias_", direction)
        _set_gate_bias(b_ih, b_hh, _gate(cell, "f", H), value)
    return module


def _finite(owner: str, arg: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {arg} must be a float; got {type(value).__name__} {value!r}.")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {arg} must be finite; got {value}.")
    return float(value)


# -- the named options of the rnnkit.nn layers -------------------------------------------------------------
def check_options(owner: str, gate_count: int, bias: bool, init: Any, chrono_max: Any,
                  forget_bias: Any) -> tuple[str, int | None, float | None]:
    """Validate a layer's ``init=``, ``chrono_max=`` and ``forget_bias=`` for its cell; returns them."""
    cell = cell_name(gate_count)
    if init not in INITS:
        raise ValueError(f"{owner}: init must be one of {', '.join(map(repr, INITS))}; got {init!r}. For chrono "
                         "biases pass chrono_max=T_max, for a forget-gate bias forget_bias=1.0.")
    if init == "identity":
        _require(f"{owner}: init='identity' (IRNN)", cell, ("Elman RNN",),
                 "Use init='orthogonal' with chrono_max=T_max (or forget_bias=1.0 for an LSTM).")
    if chrono_max is not None:
        _require(f"{owner}: chrono_max", cell, ("LSTM", "GRU"), "Leave chrono_max=None for an Elman RNN.")
        chrono_max = check_chrono_max(owner, "chrono_max", chrono_max)
    if forget_bias is not None:
        _require(f"{owner}: forget_bias", cell, ("LSTM",),
                 "For a GRU use chrono_max=T_max." if cell == "GRU" else "Leave forget_bias=None for an Elman RNN.")
        forget_bias = _finite(owner, "forget_bias", forget_bias)
        if chrono_max is not None:
            raise ValueError(f"{owner}: pass chrono_max or forget_bias, not both; both set the forget-gate bias "
                             f"(got chrono_max={chrono_max}, forget_bias={forget_bias}).")
    if not bias and (chrono_max is not None or forget_bias is not None):
        raise ValueError(f"{owner}: {'chrono_max' if chrono_max is not None else 'forget_bias'} sets gate biases, "
                         "and bias=False leaves the layer without any; use bias=True.")
    return init, chrono_max, forget_bias


def apply_options(module: Any, init: str, chrono_max: int | None, forget_bias: float | None) -> None:
    """After the default U(-1/√H, 1/√H): ``init`` ("orthogonal": ``orthogonal_``, "identity": ``identity_``),
    then ``chrono_max`` (``chrono_``) or ``forget_bias`` (``unit_forget_bias_``); "default" and None: nothing."""
    if init == "orthogonal":
        orthogonal_(module)
    elif init == "identity":
        identity_(module)
    if chrono_max is not None:
        chrono_(module, chrono_max)
    if forget_bias is not None:
        unit_forget_bias_(module, forget_bias)
