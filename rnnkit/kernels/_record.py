r"""Recording the gradient that reaches each hidden state, dh_t = ∂L/∂h_t, from the Python kernels' BPTT.

Each backward step of the Elman, LSTM and GRU kernels (and their layer-normalised forms) computes

    dh_t = dh + m_t dy_t        (``_sequence.output_gradient``: from step t+1 and from the output y_t)

the *total* gradient reaching the state h_t kept after step t (for a padded step, the held state; see
below). While a recorder is active, each kernel call (one layer-direction) opens a ``HiddenGradientRecord``
in its forward, and its backward writes every dh_t (B, H) into the record's ``dh`` (T, B, H), indexed by
the time axis of the kernel's own input (t = 0..T-1 in forward time order, also for ``reverse=True``).

    >>> with record_hidden_gradients() as recorder:
    ...     y, h_n = elman_sequence(x, h0, W_ih, W_hh, b_ih, b_hh)
    ...     y.pow(2).sum().backward()
    >>> recorder.records[0].dh          # (T, B, H)

Without a recorder the cost is one lookup per kernel forward and one ``is None`` test per backward step.
The compiled kernels (``rnnkit.kernels.compiled``) and the convolutional kernels do not record; ``rnnkit.nn`` layers therefore run the Python kernels while a recorder is active (see
``RecurrentLayer._run`` and ``python_kernels``), so the numbers come from this BPTT.

Padded steps (length mask m_t = 0): the kernel holds the state, h_t = h_{t-1}, and y_t = 0, so dh_t is
the gradient carried through the held state: after a sequence's end (forward direction) that is ∂L/∂h_n,
zero when the loss reads only the outputs; before its start (reverse direction) whatever reaches the held
initial state. ``dh`` holds these values as the kernel has them; ``rnnkit.diagnostics`` zeroes them.
"""

from __future__ import annotations

import threading
import types
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from torch import Tensor

__all__ = ["HiddenGradientRecord", "HiddenGradientRecorder", "record_hidden_gradients", "recording_hidden_gradients",
           "open_record", "record_buffer", "python_kernels"]


class HiddenGradientRecord:
    """One kernel call: ``dh`` (T, B, H) once its backward has run (None before), ``mask`` (T, B) or None,
    ``reverse``, and ``index`` (its place among the recorder's kernel calls, in forward call order)."""

    __slots__ = ("index", "reverse", "mask", "dh")

    def __init__(self, index: int, reverse: bool, mask: Tensor | None) -> None:
        self.index, self.reverse, self.mask = index, bool(reverse), mask
        self.dh: Tensor | None = None


class HiddenGradientRecorder:
    """Collects one ``HiddenGradientRecord`` per kernel call made while it is active."""

    def __init__(self) -> None:
        self.records: list[HiddenGradientRecord] = []

    def open(self, mask: Tensor | None, reverse: bool) -> HiddenGradientRecord:
        record = HiddenGradientRecord(len(self.records), reverse, mask)
        self.records.append(record)
        return record


_local = threading.local()   # the active recorder of this thread (forward runs here; backward uses ctx)


def recording_hidden_gradients() -> bool:
    """Is a recorder active in this thread?"""
    return getattr(_local, "recorder", None) is not None


@contextmanager
def record_hidden_gradients(recorder: HiddenGradientRecorder | None = None) -> Iterator[HiddenGradientRecorder]:
    """Activate ``recorder`` (a new one by default) for the kernel calls made inside the block; yields it.

    The record is tied to the autograd node in forward, so the backward may run after the block ends."""
    previous = getattr(_local, "recorder", None)
    active = HiddenGradientRecorder() if recorder is None else recorder
    _local.recorder = active
    try:
        yield active
    finally:
        _local.recorder = previous


def open_record(mask: Tensor | None, reverse: bool) -> HiddenGradientRecord | None:
    """Kernel forward: the record this call writes to in backward, or None when nothing records."""
    recorder = getattr(_local, "recorder", None)
    return None if recorder is None else recorder.open(mask, reverse)


def record_buffer(record: HiddenGradientRecord | None, dh_n: Tensor, T: int) -> Tensor | None:
    """Kernel backward: the (T, B, H) tensor its loop writes dh_t into (the record's ``dh``), or None."""
    if record is None:
        return None
    record.dh = dh_n.new_zeros(T, *dh_n.shape)
    return record.dh


# The Python kernels an ``rnnkit.nn`` cell's ``_sequence`` calls by these names (the compiled ones are drop-ins
# under the same names and signatures).
_KERNEL_NAMES = ("elman_sequence", "lstm_sequence", "gru_sequence", "layer_norm_lstm_sequence",
                 "layer_norm_gru_sequence")
_rebound: dict[Any, Callable] = {}


def python_kernels(method: Callable) -> Callable:
    """``method`` (a bound ``_sequence``) with the kernel names it calls bound to the Python kernels of
    ``rnnkit.kernels`` instead of the compiled drop-ins it imports: same arguments, same math, and the
    Python kernels record dh_t. Other names are untouched, so a cell calling another kernel runs it as is."""
    function = method.__func__
    rebound = _rebound.get(function)
    if rebound is None:
        import rnnkit.kernels as python

        names = {**function.__globals__, **{name: getattr(python, name) for name in _KERNEL_NAMES}}
        rebound = types.FunctionType(function.__code__, names, function.__name__, function.__defaults__,
                                     function.__closure__)
        rebound.__kwdefaults__ = function.__kwdefaults__
        _rebound[function] = rebound
    return types.MethodType(rebound, method.__self__)
