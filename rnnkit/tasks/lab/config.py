"""The typed, keyword-only configuration of a vanishing-gradient lab run (`rnnkit lab PROBLEM`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from rnnkit.tasks._config import ConfigError, check_holdout

__all__ = ["LabConfig", "LabModel"]

LabModel = Literal["rnn", "irnn", "lstm", "gru"]


@dataclass(frozen=True, kw_only=True)
class LabConfig:
    """One recurrent layer on a long-range problem of `rnnkit.data.long_range`, scored on fresh test sequences
    beside the problem's trivial baseline and its success threshold, with the gradient that reaches each step
    (‖∂L/∂h_t‖, from rnnkit's own backward through time) before and after training.

    rnn: tanh Elman RNN (Keras' initialisation: orthogonal W_hh); irnn: ReLU Elman RNN with W_hh = I, biases 0
    (Le et al. 2015); lstm (forget bias 1) and gru; `chrono` sets the chrono initialisation of the gated cells
    (Tallec & Ollivier 2018) with T_max = the sequence length.
    """

    HELP_DEFAULTS: ClassVar[dict[str, str]] = {"epochs": "60, hessian_free 10", "batch_size": "32, hessian_free 1000"}

    problem: str = "adding"  # lab: a long-range problem (`rnnkit lab --list`)
    length: int = 100  # lab: steps a sequence (copy: the delay; pixel digits: always 64)
    model: LabModel = "lstm"
    units: int = 100  # recurrent units
    chrono: bool = False  # lab: chrono initialisation of the lstm / gru gate biases (T_max = length)
    optimizer: Literal["adam", "sgd", "rmsprop", "hessian_free"] = "adam"  # lab: a first-order optimiser, or Hessian-free (Martens & Sutskever 2011)
    learning_rate: float = 1e-3  # first-order optimisers only
    clipnorm: float = 1.0  # lab: gradient norm clipping (0: none; first-order optimisers only)
    structural_damping: float = 1 / 30  # lab: hessian_free's mu (Martens & Sutskever 2011: 1/30; 0: off)
    train_sequences: int = 10000  # lab: generated training sequences (seed), validation share included
    test_sequences: int = 1000  # lab: generated test sequences (another seed)
    val_fraction: float = 0.1  # share of the training sequences for early stopping
    epochs: int | None = None  # at most (default 60, or 10 for hessian_free); the weights kept are those of the best validation loss
    batch_size: int | None = None  # default 32, or 1000 for hessian_free (its gradient batch; a quarter of it is the curvature batch)
    patience: int = 30  # epochs without a better validation loss before stopping (an LSTM sits ~25 epochs on the adding plateau)
    seed: int = 0

    @property
    def data(self) -> str:
        """What the run folder is named after (the problem)."""
        return self.problem

    @property
    def batch(self) -> int:
        """The batch size: `batch_size`, else 32 (first-order) or 1000 (hessian_free: one update per batch)."""
        if self.batch_size is not None:
            return self.batch_size
        return 1000 if self.optimizer == "hessian_free" else 32

    @property
    def epoch_count(self) -> int:
        """`epochs`, else 60 (first-order) or 10 (hessian_free: an epoch of 9 updates takes 1-3 min at T = 100)."""
        if self.epochs is not None:
            return self.epochs
        return 10 if self.optimizer == "hessian_free" else 60

    def check(self) -> None:
        from rnnkit.data.long_range import LONG_RANGE_TASKS

        if self.problem not in LONG_RANGE_TASKS:
            raise ConfigError(f"problem must be one of {', '.join(LONG_RANGE_TASKS)}; got {self.problem!r} (see "
                              f"`rnnkit lab --list`)")
        for name in ("length", "units", "train_sequences", "test_sequences", "epochs", "batch_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1; got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be > 0; got {self.learning_rate}")
        if self.clipnorm < 0:
            raise ConfigError(f"clipnorm must be >= 0 (0: no clipping); got {self.clipnorm}")
        if not 0 <= self.structural_damping < float("inf"):
            raise ConfigError(f"structural_damping must be >= 0 (0: off); got {self.structural_damping}")
        if self.chrono and self.model not in ("lstm", "gru"):
            raise ConfigError(f"chrono initialises the gate biases of lstm and gru; got model={self.model!r}: drop "
                              f"--chrono or use --model lstm")
        if self.chrono and self.length < 2:
            raise ConfigError(f"chrono needs length >= 2 (T_max = length); got {self.length}")
        check_holdout(self, "train_sequences", "sequence")
        if self.patience < 0:
            raise ConfigError(f"patience must be >= 0; got {self.patience}")
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0; got {self.seed}")
