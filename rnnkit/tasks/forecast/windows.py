"""Sliding windows over a series, and the chronological train/validation/test split.

A window with origin t (its last input step) reads inputs x[t-lookback+1 .. t] and targets
y[t+1 .. t+horizon]. A window belongs to a split only when all of its targets lie in that split's
span of time, so no training target is ever seen again at test time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.data import DataError

__all__ = ["SplitSpans", "check_window_sizes", "input_windows", "make_windows", "split_spans", "window_origins"]


@dataclass(frozen=True, kw_only=True)
class SplitSpans:
    """Row ranges [start, stop) of each split of a series of length `length`."""

    length: int
    train_stop: int
    val_stop: int  # the test span is [val_stop, length)

    def span(self, split: str) -> tuple[int, int]:
        return {"train": (0, self.train_stop), "val": (self.train_stop, self.val_stop),
                "test": (self.val_stop, self.length)}[split]


def split_spans(length: int, *, val_fraction: float, test_fraction: float) -> SplitSpans:
    """Chronological split: the first rows train, the next validate, the last test."""
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise DataError(f"{name} must be in [0, 1); got {value}")
    if val_fraction + test_fraction >= 0.9:
        raise DataError(f"val_fraction + test_fraction must leave at least 10% to train; "
                        f"got {val_fraction} + {test_fraction}")
    test_rows = round(length * test_fraction)
    val_rows = round(length * val_fraction)
    return SplitSpans(length=length, train_stop=length - test_rows - val_rows, val_stop=length - test_rows)


def window_origins(spans: SplitSpans, split: str, *, lookback: int, horizon: int) -> np.ndarray:
    """Origins t of the windows whose targets t+1..t+horizon all fall in `split`'s span."""
    start, stop = spans.span(split)
    first = max(lookback - 1, start - 1)  # need lookback inputs; first target at start
    last = stop - 1 - horizon  # last target t+horizon <= stop-1
    return np.arange(first, last + 1) if last >= first else np.arange(0)


def check_window_sizes(length: int, *, lookback: int, horizon: int, train_rows: int, source: str) -> None:
    """One-line errors for a lookback/horizon that do not fit the series."""
    if lookback < 1 or horizon < 1:
        raise DataError(f"lookback and horizon must be >= 1; got lookback={lookback}, horizon={horizon}")
    if lookback + horizon > length:
        raise DataError(f"lookback={lookback} + horizon={horizon} is longer than the series {source} "
                        f"({length} rows); use --lookback below {length - horizon}")
    if lookback + horizon > train_rows:
        raise DataError(f"lookback={lookback} + horizon={horizon} does not fit in the training span of "
                        f"{source} ({train_rows} rows); use a shorter --lookback")


def input_windows(inputs: np.ndarray, origins: np.ndarray, *, lookback: int) -> np.ndarray:
    """inputs (N_rows, I) -> x (N, lookback, I) float32: the rows t-lookback+1 .. t of each origin t."""
    steps_in = np.arange(-lookback + 1, 1)  # (lookback,)
    return inputs[origins[:, None] + steps_in[None, :]].astype(np.float32)


def make_windows(inputs: np.ndarray, targets: np.ndarray, origins: np.ndarray, *,
                 lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut windows at `origins`.

    inputs:  (N_rows, I) scaled input features; targets: (N_rows,) scaled target.
    returns  x (N, lookback, I) float32 and y (N, horizon) float32.
    """
    steps_out = np.arange(1, horizon + 1)  # (horizon,)
    y = targets[origins[:, None] + steps_out[None, :]]  # (N, horizon)
    return input_windows(inputs, origins, lookback=lookback), y.astype(np.float32)
