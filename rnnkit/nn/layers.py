r"""``RNN``, ``LSTM`` and ``GRU``: drop-ins for torch.nn's, running rnnkit's own forward and BPTT.

Same constructor, defaults, parameter names and layout (``weight_ih_l0``, ``weight_hh_l0_reverse``, gate
order i, f, g, o and r, z, n), and ``forward(input, hx=None)`` returning ``(output, h_n)`` or
``(output, (h_n, c_n))``. Additions: ``lengths=`` for variable-length batches without packing,
``step()`` for one time step at a time, keyword-only ``recurrent_dropout=`` (Gal & Ghahramani 2016: one
mask per sequence on h_{t-1} where it enters W_hh) and ``zoneout=`` (Krueger et al. 2017: each unit keeps
its previous value with probability z in training, and the expectation z h_{t-1} + (1-z) h̃_t at
inference; for the LSTM both h and c), both off by default, and ``backend=``: "kernel" (our hand-derived
BPTT; its time loop compiled in C++ where a compiler is available, the PyTorch kernels otherwise),
"reference" (the per-step autograd loop), "native" (torch.nn's layer on the same parameters), or "auto"
(the default: the kernel, or native where it covers the call and is measured faster; see ``path_for``).

One departure on purpose: a 2-D input is an error, not torch.nn's "unbatched" form, because a batch
whose feature axis is missing looks the same; the error says which fix applies.

Shapes (batch_first=False): input (T, B, I) · h_0, c_0 (L*D, B, H) · output (T, B, D*H).
"""

from __future__ import annotations

from typing import Any

import torch

from rnnkit._checks import check_choice
from rnnkit.cells.steps import elman_step, gru_reset_before_step, gru_step, lstm_step
from rnnkit.kernels import NONLINEARITIES
from rnnkit.kernels.compiled import elman_sequence, gru_sequence, lstm_sequence
from rnnkit.kernels.compiled import stream
from rnnkit.nn.recurrent import RecurrentLayer

__all__ = ["RNN", "LSTM", "GRU", "GRUResetBefore"]


class RNN(RecurrentLayer):
    r"""Elman RNN: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``, act = tanh or relu.

    Args: input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
    dropout=0.0, bidirectional=False; keyword-only recurrent_dropout=0.0, zoneout=0.0, init="default"
    ("orthogonal", or "identity": the IRNN of Le et al. 2015 with nonlinearity="relu"; see rnnkit.nn.init),
    backend="auto", device, dtype. (chrono_max and forget_bias are for gated cells: passing one is an error.)
    """

    gate_count = 1
    state_count = 1
    native_class = torch.nn.RNN
    stream_cell = stream.ELMAN

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
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
        self.nonlinearity = check_choice("RNN", "nonlinearity", nonlinearity, NONLINEARITIES)
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            recurrent_dropout=recurrent_dropout, zoneout=zoneout, init=init, chrono_max=chrono_max,
            forget_bias=forget_bias, backend=backend, device=device, dtype=dtype,
        )

    def _native_options(self):
        return {"nonlinearity": self.nonlinearity}

    @property
    def _stream_relu(self) -> bool:
        return self.nonlinearity == "relu"

    def _sequence(self, x, state, weights, mask, reverse, noise):
        zoneout = noise.zoneout or (None,)
        y, h = elman_sequence(x, state[0], *weights, mask, reverse, self.nonlinearity,
                              recurrent_mask=noise.recurrent_mask, zoneout_h=zoneout[0])
        return y, (h,)

    def _step(self, x_t, state, weights, recurrent_mask=None):
        return elman_step(x_t, state, weights, self.nonlinearity, recurrent_mask)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class LSTM(RecurrentLayer):
    r"""Long short-term memory (Hochreiter & Schmidhuber 1997, with forget gate):

        i = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)      f = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)   o = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f ⊙ c_{t-1} + i ⊙ g                          h_t = o ⊙ tanh(c_t)

    Returns ``(output, (h_n, c_n))``; ``hx`` is ``(h_0, c_0)``.
    """

    gate_count = 4
    state_count = 2
    native_class = torch.nn.LSTM
    # None since the buffer pool: the compiled kernel is ahead of torch.nn at H 512 too (bench/results/latest.md,
    # 2026-11-28: W2 forced 1.30x native, 1.06x native with the tuned allocator)
    native_from_hidden_size = None
    stream_cell = stream.LSTM

    def _sequence(self, x, state, weights, mask, reverse, noise):
        zoneout_h, zoneout_c = noise.zoneout or (None, None)
        y, h, c = lstm_sequence(x, state[0], state[1], *weights, mask, reverse,
                                recurrent_mask=noise.recurrent_mask, zoneout_h=zoneout_h, zoneout_c=zoneout_c)
        return y, (h, c)

    def _step(self, x_t, state, weights, recurrent_mask=None):
        return lstm_step(x_t, state, weights, recurrent_mask)


class GRU(RecurrentLayer):
    r"""Gated recurrent unit, PyTorch's "reset after" form (r multiplies W_hn h_{t-1} + b_hn):

        r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)      z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
        h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    """

    gate_count = 3
    state_count = 1
    native_class = torch.nn.GRU
    stream_cell = stream.GRU

    def _sequence(self, x, state, weights, mask, reverse, noise):
        zoneout = noise.zoneout or (None,)
        y, h = gru_sequence(x, state[0], *weights, mask, reverse,
                            recurrent_mask=noise.recurrent_mask, zoneout_h=zoneout[0])
        return y, (h,)

    def _step(self, x_t, state, weights, recurrent_mask=None):
        return gru_step(x_t, state, weights, recurrent_mask)


class GRUResetBefore(RecurrentLayer):
    r"""The "reset before" GRU (Cho et al. 2014; Keras' ``GRU(reset_after=False)``), r applied to h_{t-1} before W_hn:

        r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)      z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + W_hn (r ⊙ h_{t-1}) + b_hn)
        h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

    Parameters as ``GRU`` (gate order r, z, n). It exists to run models trained in that form (``rnnkit.load_keras``);
    it has no hand-derived kernel and no torch.nn twin: every backend runs the per-step reference with autograd.
    """

    gate_count = 3
    state_count = 1

    def _sequence(self, x, state, weights, mask, reverse, noise):
        return self._reference(x, state, weights, mask, reverse, noise)

    def _step(self, x_t, state, weights, recurrent_mask=None):
        return gru_reset_before_step(x_t, state, weights, recurrent_mask)

