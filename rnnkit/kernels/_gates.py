r"""Gate gradients shared by a cell and its layer-normalised variant (the equations are in lstm.py and gru.py).

LSTM, from dc̃ (total gradient at c̃_t) and do:

    dG = [dc̃ ⊙ g ⊙ i(1-i),  dc̃ ⊙ c_{t-1} ⊙ f(1-f),  dc̃ ⊙ i ⊙ (1-g²),  do ⊙ o(1-o)]

GRU ("reset after"), from dh̃:

    dA_n = dh̃ ⊙ (1-z) ⊙ (1-n²)    dR_n = dA_n ⊙ r
    dA_r = dR_r = dA_n ⊙ R_n ⊙ r(1-r)    dA_z = dR_z = dh̃ ⊙ (h_{t-1} - n) ⊙ z(1-z)
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["lstm_gate_gradients", "gru_gate_gradients"]


def lstm_gate_gradients(dG_t: Tensor, dc_tilde: Tensor, do: Tensor, i: Tensor, f: Tensor, g: Tensor, o: Tensor,
                        c_prev: Tensor) -> None:
    """Write dG_t (B, 4H) in place."""
    H = i.shape[1]
    torch.mul(dc_tilde * g, i * (1 - i), out=dG_t[:, 0:H])
    torch.mul(dc_tilde * c_prev, f * (1 - f), out=dG_t[:, H:2 * H])
    torch.mul(dc_tilde * i, 1 - g * g, out=dG_t[:, 2 * H:3 * H])
    torch.mul(do, o * (1 - o), out=dG_t[:, 3 * H:4 * H])


def gru_gate_gradients(dA_t: Tensor, dR_t: Tensor, dh_cell: Tensor, r: Tensor, z: Tensor, n: Tensor,
                       h_prev: Tensor, R_n: Tensor) -> None:
    """Write dA_t and dR_t (B, 3H) in place."""
    H = r.shape[1]
    dA_n = dA_t[:, 2 * H:]
    torch.mul(dh_cell * (1 - z), 1 - n * n, out=dA_n)
    torch.mul(dA_n, r, out=dR_t[:, 2 * H:])
    torch.mul(dA_n * R_n, r * (1 - r), out=dA_t[:, :H])
    torch.mul(dh_cell * (h_prev - n), z * (1 - z), out=dA_t[:, H:2 * H])
    dR_t[:, :2 * H] = dA_t[:, :2 * H]
