"""The small typed objects a loader returns: a table of time series, or labelled sequences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SequenceData", "TimeSeriesData"]


@dataclass(frozen=True, kw_only=True)
class TimeSeriesData:
    """One multivariate series in chronological order, ready to be windowed.

    frame:    (T, columns) numeric, no missing values; index is the time (a DatetimeIndex when
              the source has dates, else a RangeIndex).
    target:   the default column to forecast.
    features: the default input columns (covariates; the target is one of them).
    season:   the seasonal period in steps, used by the seasonal-naive baseline (e.g. 365 for daily
              weather, 12 for monthly sunspots).
    """

    name: str
    frame: pd.DataFrame
    target: str
    features: tuple[str, ...]
    season: int | None  # None: unknown (no dates and no --season)
    source: str
    description: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.frame.columns)


@dataclass(frozen=True, kw_only=True)
class SequenceData:
    """Labelled variable-length multivariate sequences, split into train and test.

    Each sequence is a float32 array of shape (T_i, C); T_i may differ between sequences.
    Labels are integer indices into `class_names`.
    """

    name: str
    train_sequences: list[np.ndarray]
    train_labels: np.ndarray
    test_sequences: list[np.ndarray]
    test_labels: np.ndarray
    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    source: str
    description: str = ""

    @property
    def num_channels(self) -> int:
        return len(self.channel_names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)
