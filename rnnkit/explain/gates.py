r"""``gate_activations``: the gate and state values of every recurrent layer, step by step.

For each ``rnnkit.nn`` recurrent layer in a model (also inside Keras-style ``SimpleRNN / LSTM / GRU``,
``LayerNormLSTM / LayerNormGRU`` and ``Bidirectional``), every stacked layer l and direction, the call the
model made is replayed through the layer's own one-step reference (``layer._step``, i.e. ``lstm_step``,
``gru_step``, ``elman_step`` and the layer-normalised steps of ``rnnkit.cells.steps``) inside the generic
loop ``rnnkit.cells.loop.run_steps``, with the call's own state, lengths and (inference) zoneout:

    LSTM   i, f, o = σ(·), g = tanh(·)         c_t = f ⊙ c_{t-1} + i ⊙ g     h_t = o ⊙ tanh(c_t)
           (LayerNormLSTM: h_t = o ⊙ tanh(LN(c_t)))
    GRU    r, z = σ(·), n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
           h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    RNN    h_t only

The gates are not re-derived here: they are the outputs of the step's own σ / tanh calls, in the order its
equations list them (i, f, g, o; r, z, n), read with a ``TorchFunctionMode`` while the step runs. The
tests check that the equations above hold for what is collected, so a change of order in a cell fails them.
c and h are the states the loop carries (after zoneout: s_t = s_{t-1} + (1 - z)(s̃_t - s_{t-1})).

Result: ``{key: {name: array (B, T, H) float64}}``, NaN at padded steps (t ≥ lengths[b]). Keys as in
``rnnkit.diagnostics``: ``"l0"``, ``"l0_reverse"``, ``"l1"``... for a bare layer, ``"<layer name>:l0"``
inside a model; a layer called twice in one forward gets ``#2`` on its second call. Time runs as the
layer saw it (``go_backwards=True`` layers: processing order).

Shape legend: B batch, T time, I input features, H hidden units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from rnnkit.cells.loop import run_steps
from rnnkit.diagnostics.gradients import recurrent_layers
from rnnkit.layers import Embedding
from rnnkit.nn.recurrent import RecurrentLayer

__all__ = ["gate_activations", "gate_names", "check_input"]

_ACTIVATIONS = {torch.sigmoid, torch.tanh, Tensor.sigmoid, Tensor.tanh}
_GATES = {4: ("i", "f", "g", "o"), 3: ("r", "z", "n"), 1: ()}   # by gate_count, the cell's own order


def gate_names(layer: RecurrentLayer) -> tuple[str, ...]:
    """The arrays collected for ``layer``: LSTM i, f, g, o, c, h; GRU r, z, n, h; RNN h."""
    return _GATES[layer.gate_count] + (("c", "h") if layer.state_count == 2 else ("h",))


def check_input(owner: str, x: Any, module: nn.Module) -> Tensor:
    """x as a tensor: integer ids (B, T) for a model with an Embedding, else floats (B, T, I) in the
    dtype of the model's weights, without NaN or inf. Raises TypeError / ValueError saying what to pass."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner}: x must be a torch.Tensor or numpy array; got {type(x).__name__}. "
                        "Convert it with torch.as_tensor(x).")
    ids = any(isinstance(m, (Embedding, nn.Embedding)) for m in module.modules())
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(f"{owner}: x must hold {'integer ids' if ids else 'real features'}; got dtype {x.dtype}. "
                        f"Convert it with {'x.long()' if ids else 'x.float()'}.")
    if not x.is_floating_point():
        if not ids:
            raise TypeError(f"{owner}: x holds integer ids (dtype {x.dtype}) but {type(module).__name__} has no "
                            "Embedding layer; pass float features of shape (B, T, I), e.g. x.float().")
        if x.dim() != 2:
            raise ValueError(f"{owner}: x must be token ids of shape (B, T); got shape {tuple(x.shape)}. "
                             "For one sequence use x.unsqueeze(0).")
        return x
    if x.dim() != 3:
        raise ValueError(f"{owner}: x must have shape (B, T, I); got a {x.dim()}-D tensor of shape "
                         f"{tuple(x.shape)}. For one feature per step use x[..., None]; for one sequence "
                         "x.unsqueeze(0).")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{owner}: x holds NaN or inf values; got {int((~torch.isfinite(x)).sum())} of them. "
                         "Clean or impute the input first (e.g. torch.nan_to_num(x)).")
    weight = next((p for p in module.parameters() if p.is_floating_point()), None)
    if weight is not None and weight.dtype != x.dtype:
        raise TypeError(f"{owner}: x has dtype {x.dtype} but the model's weights are {weight.dtype}. "
                        f"Convert the input with x.to({weight.dtype}) or the model with model.to({x.dtype}).")
    return x


class _ActivationRecorder(TorchFunctionMode):
    """Keep the output of every σ / tanh computed while active, in call order."""

    def __init__(self) -> None:
        super().__init__()
        self.outputs: list[Tensor] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in _ACTIVATIONS:
            self.outputs.append(out)
        return out


def _replay_direction(layer: RecurrentLayer, x: Tensor, state: tuple[Tensor, ...], weights: tuple,
                      mask: Tensor | None, reverse: bool) -> tuple[Tensor, dict[str, Tensor]]:
    """One layer-direction over x (T, B, I) through ``run_steps`` and ``layer._step``; returns the output
    y (T, B, H), y_t = m_t h_t, and the gates and states, each (T, B, H)."""
    T = x.shape[0]
    noise = layer._noise(T, x.shape[1], x)                       # eval mode: no dropout mask, zoneout = z
    gates = _GATES[layer.gate_count]
    order = iter(range(T - 1, -1, -1) if reverse else range(T))
    seen: list[int] = []
    gate_values: dict[int, list[Tensor]] = {}
    state_before: dict[int, tuple[Tensor, ...]] = {}

    def step(x_t: Tensor, s_prev: tuple[Tensor, ...], w: tuple) -> tuple[Tensor, ...]:
        t = next(order)
        with _ActivationRecorder() as recorder:
            candidate = layer._step(x_t, s_prev, w, recurrent_mask=noise.recurrent_mask)
        gate_values[t] = recorder.outputs[:len(gates)]           # the cell's first σ/tanh calls: its gates
        state_before[t] = s_prev
        seen.append(t)
        return candidate

    y, final = run_steps(step, x, state, weights, mask, reverse, zoneout=noise.zoneout)
    # the state after step t is the one entering the next step in processing order (the final one last)
    state_after = {t: state_before[nxt] for t, nxt in zip(seen, seen[1:])}
    state_after[seen[-1]] = final
    values = {name: torch.stack([gate_values[t][k] for t in range(T)]) for k, name in enumerate(gates)}
    states = ("h", "c") if layer.state_count == 2 else ("h",)
    for k, name in enumerate(states):
        values[name] = torch.stack([state_after[t][k] for t in range(T)])
    if "c" in values:                                            # list c before h, as the equations do
        values = {**{n: v for n, v in values.items() if n != "h"}, "h": values["h"]}
    return y, values


def _replay_call(layer: RecurrentLayer, args: tuple, kwargs: dict) -> dict[str, dict[str, np.ndarray]]:
    """Replay one call ``layer(input, hx, lengths=...)``; returns ``{"l0": {...}, ...}`` (B, T, H) arrays."""
    input = args[0] if args else kwargs["input"]
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    x, state, mask, _, _ = layer.prepare_call(input, hx, kwargs.get("lengths"))   # x (T, B, I), as forward runs
    D = layer.num_directions
    found: dict[str, dict[str, np.ndarray]] = {}
    layer_input = x
    for l in range(layer.num_layers):
        outputs = []
        for direction in range(D):
            k = l * D + direction
            s0 = tuple(s[k] for s in state)
            y, values = _replay_direction(layer, layer_input, s0, layer.layer_weights(l, direction), mask,
                                          direction == 1)
            outputs.append(y)
            arrays = {}
            for name, v in values.items():                       # (T, B, H) -> (B, T, H), NaN where padded
                v = v.detach().to(torch.float64)
                if mask is not None:
                    v = torch.where(mask.unsqueeze(2).bool(), v, torch.full_like(v, float("nan")))
                arrays[name] = v.transpose(0, 1).cpu().numpy()
            found[f"l{l}" + ("_reverse" if direction == 1 else "")] = arrays
        layer_input = outputs[0] if D == 1 else torch.cat(outputs, dim=2)   # (T, B, D*H); eval: no dropout
    return found


def gate_activations(model_or_layer: nn.Module, x: Any, *, lengths: Any = None) -> dict[str, dict[str, np.ndarray]]:
    """Run ``model_or_layer`` on ``x`` (eval mode, no gradients) and return the gates and states of every
    recurrent layer it calls: ``{key: {"i", "f", "g", "o", "c", "h" | "r", "z", "n", "h" | "h": (B, T, H)}}``
    (see the module docstring). ``x`` as the model takes it: (B, T, I) floats or (B, T) ids; a bare
    ``rnnkit.nn`` layer takes it in its own layout (``batch_first``). ``lengths`` (B,): padded batch."""
    owner = "gate_activations"
    if not isinstance(model_or_layer, nn.Module):
        raise TypeError(f"{owner}: model_or_layer must be an rnnkit model or recurrent layer (a torch.nn.Module); "
                        f"got {type(model_or_layer).__name__}.")
    layers = recurrent_layers(model_or_layer)
    if not layers:
        raise ValueError(f"{owner}: {type(model_or_layer).__name__} has no recurrent layer (expected rnnkit.nn "
                         "RNN / LSTM / GRU / LayerNormLSTM / LayerNormGRU, or a Keras-style SimpleRNN / LSTM / GRU "
                         "inside the model); got none. Pass a model that contains one.")
    bare = isinstance(model_or_layer, RecurrentLayer)
    if bare:                                                     # the layer checks rank, size and dtype itself
        x = torch.from_numpy(x) if isinstance(x, np.ndarray) else x
        if isinstance(x, Tensor) and x.is_floating_point() and not bool(torch.isfinite(x).all()):
            raise ValueError(f"{owner}: x holds NaN or inf values; got {int((~torch.isfinite(x)).sum())} of them. "
                             "Clean or impute the input first (e.g. torch.nan_to_num(x)).")
    else:
        x = check_input(owner, x, model_or_layer)
    calls: list[tuple[str, RecurrentLayer, tuple, dict]] = []
    handles = [layer.register_forward_pre_hook(
        lambda module, args, kwargs, name=name: calls.append((name, module, args, dict(kwargs))), with_kwargs=True)
        for name, layer in layers]
    modes = [(m, m.training) for m in model_or_layer.modules()]
    model_or_layer.eval()
    try:
        with torch.no_grad():
            model_or_layer(x, lengths=lengths) if lengths is not None else model_or_layer(x)
            result: dict[str, dict[str, np.ndarray]] = {}
            counts: dict[str, int] = {}
            for name, layer, args, kwargs in calls:
                counts[name] = counts.get(name, 0) + 1
                call = "" if counts[name] == 1 else f"#{counts[name]}"
                for suffix, arrays in _replay_call(layer, args, kwargs).items():
                    result[(f"{name}:" if name else "") + suffix + call] = arrays
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.train(training)
    return result
