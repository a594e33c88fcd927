"""The typed, keyword-only configuration of a sequence-classification run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rnnkit.tasks._config import ConfigError, Fill, ModelKind, check_training_ranges

__all__ = ["Baseline", "ClassifyConfig"]

Baseline = Literal["dtw", "euclidean", "none"]


@dataclass(frozen=True, kw_only=True)
class ClassifyConfig:
    """Everything a sequence-classification run needs.

    The training defaults were chosen by measuring candidates over 5 datasets x 3 seeds beside 1-NN
    DTW (docs/results.md): long runs with the best validation epoch's weights kept, because small
    training sets (GunPoint: 50 sequences) plateau for dozens of epochs before the loss falls.
    """

    data: str = "japanese_vowels"  # bundled dataset name, a .ts file, or a long-format .csv/.parquet path
    test_data: str | None = None  # a second file (.ts/.csv/.parquet) holding the test sequences: your own split
    id_column: str | None = None  # CSV: which sequence a row belongs to
    label_column: str | None = None  # CSV: the class of the row's sequence
    features: tuple[str, ...] | None = None  # CSV: channel columns (default: all others)
    fill: Fill = "none"
    test_fraction: float = 0.25  # files without --test-data: stratified share of sequences held out
    val_fraction: float = 0.2  # stratified share of the training sequences for early stopping (>= 1 per class)
    model: ModelKind = "lstm"
    units: int = 64
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    epochs: int = 200  # at most; the weights kept are those of the best validation loss
    batch_size: int = 16
    learning_rate: float = 1e-3  # Adam, gradients clipped to norm 1; 3e-3 spiked late in training (docs/results.md)
    patience: int = 100  # epochs without a better validation loss before stopping (0: no early stopping)
    seed: int = 0
    baseline: Baseline = "dtw"  # 1-NN baseline beside the model: dtw (+ Euclidean), euclidean, none

    def check(self) -> None:
        """Range checks (types are checked by `config_from_dict`); a bad value is a `ConfigError`."""
        check_training_ranges(self)
        for name in ("test_fraction", "val_fraction"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1); got {getattr(self, name)}")
