"""Cells: the one-step math of each recurrence (the reference), the per-step loop, and one-step modules."""

from rnnkit.cells.loop import run_steps
from rnnkit.cells.modules import GRUCell, LSTMCell, RNNCell
from rnnkit.cells.steps import elman_step, gru_step, lstm_step

__all__ = ["run_steps", "elman_step", "lstm_step", "gru_step", "RNNCell", "LSTMCell", "GRUCell"]
