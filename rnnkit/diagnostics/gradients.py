r"""The gradient that reaches each time step, ‖∂L/∂h_t‖ for t = 1..T, from rnnkit's own BPTT.

For every recurrent layer (``rnnkit.nn.RNN / LSTM / GRU``, also inside Keras-style layers and models), every
stacked layer l and direction, the hand-derived backward computes at each step

    dh_t = dh + m_t dy_t

the total gradient reaching the state h_t (from step t+1 and from the output y_t; see
``rnnkit.kernels._record``). ``hidden_gradients`` returns these (T, B, H) tensors and
``hidden_gradient_norms`` reduces them to one (T,) curve per layer-direction:

    n_t = (1 / |B_t|) Σ_{b ∈ B_t} ‖dh_{t,b}‖₂       B_t: the sequences for which step t is a real step

(the batch mean over sequences that have step t; every sequence without ``lengths``; NaN where none has).
Padded steps hold the state and carry its gradient; ``hidden_gradients`` sets dh_t to zero there.

While recording, every recurrent layer runs the Python kernels (not the compiled ones, nor torch.nn's for
backend "native", nor the reference loop), whatever its ``backend``: same math, and these numbers are the
ones that BPTT computes. The layer-normalised kernels record too; the convolutional ones do not yet, and a
model using them raises a ValueError naming the layer.

Keys: ``"l0"``, ``"l0_reverse"``, ``"l1"``... for a bare layer (the suffixes of its parameter names), and
``"<module name>:l0"`` inside a model (the name from ``named_modules``, without a Keras layer's ``.core``).
A layer called several times in one forward gets ``#2``, ``#3``... on its later calls; a layer that runs
its kernel in another pattern (e.g. ``step`` in a decoding loop) gets ``call0``, ``call1``... per kernel call.

Shape legend: T time, B batch, H hidden units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.kernels._record import HiddenGradientRecorder, record_hidden_gradients
from rnnkit.layers._base import Layer
from rnnkit.nn.recurrent import RecurrentLayer

__all__ = ["hidden_gradients", "hidden_gradient_norms", "measure_hidden_gradients", "recurrent_layers",
           "HiddenGradients", "GradientRecording", "norms_over_batch"]


def recurrent_layers(module: nn.Module) -> list[tuple[str, RecurrentLayer]]:
    """Every ``rnnkit.nn`` recurrent layer in ``module`` (itself included), with its name: that of the nearest
    enclosing Keras-style layer that has one (``Sequential`` names them: ``"lstm"``, ``"bidirectional"``),
    else its path in ``named_modules`` without a Keras layer's ``.core`` ("" for ``module`` itself)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"diagnostics: expected an rnnkit recurrent layer or a model (a torch.nn.Module); "
                        f"got {type(module).__name__}.")
    modules = dict(module.named_modules())
    found: list[tuple[str, RecurrentLayer]] = []
    for path, sub in modules.items():
        if not isinstance(sub, RecurrentLayer):
            continue
        parts = path.split(".") if path else []
        name = ".".join(parts[:-1]) if parts[-1:] == ["core"] else path
        for k in range(len(parts) - 1, 0, -1):                        # the enclosing modules, nearest first
            owner = modules[".".join(parts[:k])]
            if isinstance(owner, Layer) and isinstance(owner.name, str) and owner.name:
                name = owner.name
                break
        if any(name == other for other, _ in found):
            name = path
        found.append((name, sub))
    return found


@dataclass
class HiddenGradients:
    """One layer-direction's recorded dh_t: ``dh`` (T, B, H), zero at padded steps; ``mask`` (T, B) or None;
    ``reverse``: the direction (its backward runs from t = 1 to T)."""

    dh: Tensor
    mask: Tensor | None
    reverse: bool


def norms_over_batch(dh: Tensor, mask: Tensor | None) -> np.ndarray:
    """n_t = mean over the sequences that have step t of ‖dh_{t,b}‖₂: (T, B, H) -> (T,) float64 (NaN where
    no sequence has step t)."""
    n = torch.linalg.vector_norm(dh.detach().double(), dim=2)        # (T, B)
    if mask is None:
        return n.mean(dim=1).cpu().numpy()
    m = mask.detach().double()
    return ((n * m).sum(dim=1) / m.sum(dim=1)).cpu().numpy()           # 0 / 0 = NaN: no sequence has step t


class GradientRecording:
    """Record dh_t of every recurrent layer of ``module`` over the forward and backward that run while it is
    entered (``with GradientRecording(model) as recording: ...``; or ``start()`` / ``stop()``). The backward
    may run after ``stop()``: each kernel call keeps its record. Then ``gradients()``."""

    def __init__(self, module: nn.Module) -> None:
        self.layers = recurrent_layers(module)
        if not self.layers:
            raise ValueError(f"diagnostics: {type(module).__name__} has no rnnkit recurrent layer (rnnkit.nn.RNN, "
                             "LSTM, GRU or a Keras-style SimpleRNN/LSTM/GRU); nothing to record.")
        self.recorder = HiddenGradientRecorder()
        self._calls: list[tuple[str, RecurrentLayer, int, int]] = []   # name, layer, first and end record
        self._handles: list[Any] = []
        self._context: Any = None

    def start(self) -> GradientRecording:
        if self._context is not None:
            raise RuntimeError("GradientRecording: already started; call stop() first.")
        self._context = record_hidden_gradients(self.recorder)
        self._context.__enter__()
        for name, layer in self.layers:
            self._handles.append(layer.register_forward_pre_hook(self._opened(name)))
        return self

    def stop(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(None, None, None)

    def __enter__(self) -> GradientRecording:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _opened(self, name: str) -> Callable:
        def pre_hook(layer: RecurrentLayer, args: Any) -> None:
            start = len(self.recorder.records)

            def post_hook(layer: RecurrentLayer, args: Any, output: Any) -> None:
                handle.remove()
                self._calls.append((name, layer, start, len(self.recorder.records)))

            handle = layer.register_forward_hook(post_hook)
            self._handles.append(handle)                   # removed by stop() too, should the forward fail
        return pre_hook

    def recurrent_weights(self) -> list[Tensor]:
        """W_hh of every layer-direction that ran and requires grad: the tensors to differentiate towards so
        that every kernel's backward runs (``torch.autograd.grad``, which leaves ``.grad`` untouched)."""
        weights = {}
        for _, layer, _, _ in self._calls:
            for l in range(layer.num_layers):
                for d in range(layer.num_directions):
                    W_hh = layer.layer_weights(l, d)[1]
                    if W_hh.requires_grad:
                        weights[id(W_hh)] = W_hh
        if not weights:
            raise ValueError("diagnostics: no recurrent weight requires grad, so no backward runs through the "
                             "recurrent layers; unfreeze them (p.requires_grad_(True)) to measure their gradients.")
        return list(weights.values())

    def gradients(self) -> dict[str, HiddenGradients]:
        """Per layer-direction (keys: see the module docstring) what the backward recorded."""
        out: dict[str, HiddenGradients] = {}
        seen: dict[str, int] = {}
        if not self._calls:
            raise ValueError("diagnostics: no recurrent layer of the model ran while recording; check that the "
                             "forward pass ran inside the recording.")
        for name, layer, start, end in self._calls:
            owner = type(layer).__name__
            records = self.recorder.records[start:end]
            if not records:
                raise ValueError(
                    f"diagnostics: {owner} ({name or 'the layer'}) ran, but its kernel does not record dh_t: "
                    "recording covers rnnkit.nn.RNN, LSTM, GRU, LayerNormLSTM and LayerNormGRU; the "
                    "convolutional kernels do not report it yet."
                )
            L, D = layer.num_layers, layer.num_directions
            if len(records) == L * D:
                labels = [f"l{k // D}" + ("_reverse" if k % D else "") for k in range(L * D)]
            else:
                labels = [f"call{k}" for k in range(len(records))]
            prefix = f"{name}:" if name else ""
            seen[name] = seen.get(name, 0) + 1
            suffix = "" if seen[name] == 1 else f"#{seen[name]}"
            for label, record in zip(labels, records):
                if record.dh is None:
                    raise ValueError(
                        f"diagnostics: the backward pass did not reach {owner} ({name or 'the layer'}) {label}; "
                        "the loss must depend on its output, and backward must run after the forward."
                    )
                dh = record.dh if record.mask is None else record.dh * record.mask.unsqueeze(2)
                out[prefix + label + suffix] = HiddenGradients(dh, record.mask, record.reverse)
        return out


def _as_input(value: Any, dtype: torch.dtype, device: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = torch.as_tensor(value)
    if isinstance(value, Tensor):
        return value.to(device=device, dtype=dtype if value.is_floating_point() else value.dtype)
    return value


def _predict(module: nn.Module, x: Any, lengths: Tensor | None) -> Any:
    if isinstance(module, RecurrentLayer):
        output, _ = module(x, lengths=lengths)
        return output
    return module(x) if lengths is None else module(x, lengths=lengths)


def _last_step_readout(layer: RecurrentLayer, output: Tensor, lengths: Tensor | None) -> Tensor:
    """L = Σ_b Σ_j y_{T_b, b, j}: a unit error on each sequence's last output (T_b its length)."""
    y = output.transpose(0, 1) if layer.batch_first else output           # (T, B, D*H)
    T, B, _ = y.shape
    last = torch.full((B,), T - 1, dtype=torch.long) if lengths is None else lengths.to(torch.long).cpu() - 1
    return y[last.to(y.device), torch.arange(B, device=y.device)].sum()


def _loss_value(module: nn.Module, prediction: Any, y: Any, loss: Callable | None, lengths: Tensor | None) -> Tensor:
    if loss is not None:
        value = loss(prediction) if y is None else loss(prediction, y)
    elif y is None:
        if not isinstance(module, RecurrentLayer):
            raise ValueError(f"diagnostics: without y there is no loss for {type(module).__name__}; pass y= (the "
                             "model's compiled loss, or mean squared error) or loss=callable(prediction) -> scalar.")
        value = _last_step_readout(module, prediction, lengths)
    elif getattr(module, "compiled_loss", None) is not None:
        value = module.compute_loss(y, prediction, lengths=module.output_lengths(prediction, lengths))
    else:
        if not isinstance(prediction, Tensor):
            raise TypeError(f"diagnostics: the default loss (mean squared error) needs one tensor prediction; "
                            f"got {type(prediction).__name__}. Pass loss=callable(prediction, y) -> scalar.")
        value = F.mse_loss(prediction, y)
    if not isinstance(value, Tensor) or value.numel() != 1 or not value.requires_grad:
        got = type(value).__name__ if not isinstance(value, Tensor) else f"a tensor of shape {tuple(value.shape)}"
        raise TypeError(f"diagnostics: loss must return a scalar tensor that depends on the model's output; got {got}.")
    return value.reshape(())


def measure_hidden_gradients(module: nn.Module, x: Any, y: Any = None, *, loss: Callable | None = None,
                             lengths: Any = None) -> dict[str, HiddenGradients]:
    """What ``hidden_gradients`` returns, with each layer-direction's mask and direction (``HiddenGradients``)."""
    first = next((p for p in module.parameters() if p.is_floating_point()), None)
    dtype, device = (torch.float32, None) if first is None else (first.dtype, first.device)
    x, y = _as_input(x, dtype, device), _as_input(y, dtype, device)
    if lengths is not None:
        lengths = torch.as_tensor(lengths, dtype=torch.long)
    with GradientRecording(module) as recording:
        prediction = _predict(module, x, lengths)
    value = _loss_value(module, prediction, y, loss, lengths)
    torch.autograd.grad(value, recording.recurrent_weights(), allow_unused=True)
    return recording.gradients()


def hidden_gradients(model_or_layer: nn.Module, x: Any, y: Any = None, *, loss: Callable | None = None,
                     lengths: Any = None) -> dict[str, Tensor]:
    r"""dh_t = ∂L/∂h_t (T, B, H) per recurrent layer-direction, zero at padded steps (keys: module docstring).

    ``x``: what the model takes (a bare ``rnnkit.nn`` layer: (T, B, I), or (B, T, I) with batch_first);
    ``lengths`` (B,): a padded batch. The loss: ``loss(prediction)`` / ``loss(prediction, y)`` when given;
    else with ``y`` the model's compiled loss (masked as in training), or mean squared error; else, for a bare
    layer, L = Σ_b Σ_j y_{T_b, b, j} (a unit error on each sequence's last output). A bare layer's
    prediction is its output sequence. Runs in the module's current mode (train/eval); the parameters'
    ``.grad`` are left as they are (``torch.autograd.grad``).
    """
    return {key: g.dh for key, g in measure_hidden_gradients(model_or_layer, x, y, loss=loss, lengths=lengths).items()}


def hidden_gradient_norms(model_or_layer: nn.Module, x: Any, y: Any = None, *, loss: Callable | None = None,
                          lengths: Any = None) -> dict[str, np.ndarray]:
    r"""Per recurrent layer-direction a (T,) float64 array, t = 1..T in forward time order:

        n_t = mean over the sequences b that have step t of ‖∂L/∂h_{t,b}‖₂

    Arguments as ``hidden_gradients``.
    """
    measured = measure_hidden_gradients(model_or_layer, x, y, loss=loss, lengths=lengths)
    return {key: norms_over_batch(g.dh, g.mask) for key, g in measured.items()}
