"""The typed, keyword-only configuration of a sequence-classification run."""

from __future__ import annotations

from dataclasses import dataclass

from rnnkit.tasks._config import Fill, ModelKind, check_training_ranges

__all__ = ["ClassifyConfig"]


@dataclass(frozen=True, kw_only=True)
class ClassifyConfig:
    """Everything a sequence-classification run needs."""

    data: str = "japanese_vowels"  # bundled dataset name or a long-format .csv/.parquet path
    id_column: str | None = None  # CSV: which sequence a row belongs to
    label_column: str | None = None  # CSV: the class of the row's sequence
    features: tuple[str, ...] | None = None  # CSV: channel columns (default: all others)
    fill: Fill = "none"
    test_fraction: float = 0.25  # CSV only: stratified share of sequences held out
    val_fraction: float = 0.0  # share of the training sequences used for early stopping
    model: ModelKind = "lstm"
    units: int = 64
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    epochs: int = 60
    batch_size: int = 16
    learning_rate: float = 3e-3
    patience: int = 0
    seed: int = 0

    def check(self) -> None:
        """Range checks (types are checked by `config_from_dict`); a bad value is a `ConfigError`."""
        check_training_ranges(self)
