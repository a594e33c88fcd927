"""A callback that records each epoch's wall time (shared by bench/ddp.py's child and bench/bucketing.py)."""

from __future__ import annotations

import time

from rnnkit.callbacks import Callback


class EpochTimes(Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)
