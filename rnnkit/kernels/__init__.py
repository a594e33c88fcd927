"""Sequence kernels: one autograd Function per cell over a whole sequence, with hand-derived BPTT."""

from rnnkit.kernels.conv_gru import conv_gru_sequence
from rnnkit.kernels.conv_lstm import conv_lstm_sequence
from rnnkit.kernels.elman import NONLINEARITIES, elman_sequence
from rnnkit.kernels.gru import gru_sequence
from rnnkit.kernels.layer_norm_gru import layer_norm_gru_sequence
from rnnkit.kernels.layer_norm_lstm import layer_norm_lstm_sequence
from rnnkit.kernels.lstm import lstm_sequence

__all__ = [
    "NONLINEARITIES",
    "elman_sequence",
    "gru_sequence",
    "lstm_sequence",
    "layer_norm_gru_sequence",
    "layer_norm_lstm_sequence",
    "conv_lstm_sequence",
    "conv_gru_sequence",
]
