r"""The spectral radius of the recurrent weights, ρ(W) = max |λ_i(W)|, per layer-direction and gate block.

Why it matters (Pascanu, Mikolov & Bengio 2013, §3): for an Elman RNN the Jacobian of one step is
∂h_t/∂h_{t-1} = diag(act'(a_t)) W_hh, so the gradient reaching h_1 from h_T is a product of T - 1 such
factors. ‖W_hh^k‖^{1/k} → ρ(W_hh) as k grows: with |tanh'| ≤ 1, ρ(W_hh) < 1 makes long products shrink
geometrically (vanishing), and growth (exploding) needs ρ(W_hh) > 1. (Their sufficient condition for
vanishing is on the largest singular value, σ_max < 1 for tanh, which bounds ρ from above.)

What is reported, per cell type (W_hh is (G, H), G = gates × H):

- Elman (``rnnkit.nn.RNN``): ρ of the whole (H, H) W_hh, key ``"W_hh"``.
- LSTM: ρ of each (H, H) gate block W_hi, W_hf, W_hg, W_ho, keys ``"i", "f", "g", "o"``. The step
  Jacobian mixes all four (through the gates' derivatives and c_t), so no single radius governs it; the
  cell path c_t = f ⊙ c_{t-1} + ... carries gradient past W_hh altogether when f is near 1.
- GRU: ρ of W_hr, W_hz, W_hn, keys ``"r", "z", "n"`` (the path h_t = z ⊙ h_{t-1} + ... bypasses W_hh).
- Layer-normalised cells: the same blocks of the raw W_hh (the layer norm rescales W_hh h_{t-1} per step).

Keys of the outer dict as in ``rnnkit.diagnostics.gradients``: ``"l0"``, ``"l0_reverse"``, ...; inside a
model ``"<module name>:l0"``. Eigenvalues are computed in float64 on the CPU (``torch.linalg.eigvals``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.diagnostics.gradients import recurrent_layers

__all__ = ["spectral_radius", "matrix_spectral_radius", "GATE_NAMES"]

GATE_NAMES = {1: ("W_hh",), 3: ("r", "z", "n"), 4: ("i", "f", "g", "o")}   # by gate_count


def matrix_spectral_radius(W: Tensor) -> float:
    """max |λ| over the eigenvalues of the square matrix ``W`` (float64)."""
    if W.dim() != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"spectral radius: W must be a square matrix (H, H); got shape {tuple(W.shape)}.")
    return float(torch.linalg.eigvals(W.detach().to("cpu", torch.float64)).abs().max())


def spectral_radius(model_or_layer: nn.Module) -> dict[str, dict[str, float]]:
    """``{layer-direction: {block: ρ}}`` for every recurrent layer (see the module docstring)."""
    out: dict[str, dict[str, float]] = {}
    layers = recurrent_layers(model_or_layer)
    if not layers:
        raise ValueError(f"spectral_radius: {type(model_or_layer).__name__} has no rnnkit recurrent layer "
                         "(rnnkit.nn.RNN, LSTM, GRU or a Keras-style SimpleRNN/LSTM/GRU).")
    for name, layer in layers:
        H = layer.hidden_size
        names = GATE_NAMES.get(layer.gate_count, tuple(f"gate{k}" for k in range(layer.gate_count)))
        prefix = f"{name}:" if name else ""
        for l in range(layer.num_layers):
            for d in range(layer.num_directions):
                W_hh = layer.layer_weights(l, d)[1]                           # (G, H)
                key = f"{prefix}l{l}" + ("_reverse" if d else "")
                out[key] = {gate: matrix_spectral_radius(W_hh[k * H:(k + 1) * H]) for k, gate in enumerate(names)}
    return out
