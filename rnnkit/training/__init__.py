"""Internals of ``fit`` / ``evaluate`` / ``predict``: data adaptation, the steps, the loop, history, progress."""

from rnnkit.training.callback import Callback, CallbackList
from rnnkit.training.history import History
from rnnkit.training.step import StepResult, test_step, train_step

__all__ = ["Callback", "CallbackList", "History", "StepResult", "train_step", "test_step"]
