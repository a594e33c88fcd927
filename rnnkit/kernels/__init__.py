"""Sequence kernels: one autograd Function per cell over a whole sequence, with hand-derived BPTT."""

from rnnkit.kernels.elman import NONLINEARITIES, elman_sequence
from rnnkit.kernels.gru import gru_sequence
from rnnkit.kernels.lstm import lstm_sequence

__all__ = ["NONLINEARITIES", "elman_sequence", "gru_sequence", "lstm_sequence"]
