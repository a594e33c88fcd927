"""The typed, keyword-only configuration of a translation run (``rnnkit train --task translate``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rnnkit.tasks._config import ConfigError

__all__ = ["TranslateConfig"]

Vocabulary = Literal["joint", "separate"]
Cell = Literal["gru", "lstm"]
AttentionKind = Literal["general", "dot", "bahdanau", "none"]
Selection = Literal["bleu", "loss"]


@dataclass(frozen=True, kw_only=True)
class TranslateConfig:
    """Everything a translation run needs. The defaults are the Multi30k De->En recipe of docs/results.md
    ("Translation"): a bidirectional GRU encoder, Luong "general" attention, joint byte-level BPE."""

    data: str = "multi30k"  # multi30k (its train/val/test_2016_flickr splits), or a 2-column TSV of source<TAB>target
    source: str = ""  # instead of data: a source-language text file, line-aligned with --target
    target: str = ""  # the target-language text file (one sentence per line)
    val_fraction: float = 0.05  # own data: the last share of the pairs is validation (multi30k has its own split)
    test_fraction: float = 0.05  # own data: the share before it is the test set
    vocab: Vocabulary = "separate"  # joint: one BPE over both languages; separate: one per language
    vocab_size: int = 8000  # BPE vocabulary size of the joint (or the source) tokenizer (4 specials, 256 bytes included)
    target_vocab_size: int = 4000  # separate: the target BPE's size (its output layer is most of the training time)
    max_tokens: int = 64  # training pairs with a side longer than this many BPE tokens are dropped (stated in metrics)
    max_source_tokens: int = 256  # translating a longer source is an error naming the line
    cell: Cell = "gru"  # the recurrent cell of encoder and decoder
    attention: AttentionKind = "general"  # Luong general/dot, Bahdanau additive, or none (Sutskever LSTM / Cho GRU)
    bidirectional: bool = True  # a bidirectional encoder (its memory is 2 x units wide)
    reverse_source: bool = False  # read the source reversed (Sutskever et al. 2014)
    embedding_size: int = 256
    units: int = 256  # hidden units of each direction of the encoder and of the decoder
    layers: int = 1
    dropout: float = 0.2  # on embeddings, between layers and before the output layer
    tie_embeddings: bool = False  # the decoder's output layer reuses its input embedding
    label_smoothing: float = 0.1
    teacher_forcing: float = 1.0  # the share of steps fed the reference token (below 1: scheduled sampling, slower)
    batch_size: int = 64  # sentence pairs per batch (batches hold pairs of similar length)
    epochs: int = 40  # at most; --time-budget usually ends training first
    time_budget: float = 60.0  # minutes of training (validation included); 0: no limit, --epochs decides
    learning_rate: float = 2e-3
    schedule: Literal["cosine", "constant"] = "cosine"  # cosine decay to 5% over the run (steps or time)
    clipnorm: float = 1.0  # gradients clipped to this global norm
    select_by: Selection = "bleu"  # the kept epoch: best validation BLEU (greedy) or lowest validation loss
    patience: int = 0  # stop after this many epochs without improvement (0: never early)
    beam_size: int = 5  # for the reported test scores and `rnnkit translate` (1: greedy)
    length_penalty: float = 1.0  # GNMT's alpha in the beam's ((5 + |y|) / 6) ** alpha
    max_length_ratio: float = 1.5  # a translation has at most ratio * |source| + max_length_offset tokens
    max_length_offset: int = 10
    seed: int = 0

    def check(self) -> None:
        """Range checks (types are checked by ``config_from_dict``); a bad value is a ``ConfigError``."""
        for name in ("embedding_size", "units", "layers", "batch_size", "epochs", "beam_size", "max_tokens",
                     "max_source_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1; got {getattr(self, name)}")
        for name in ("dropout", "label_smoothing"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1); got {getattr(self, name)}")
        if not 0.0 < self.teacher_forcing <= 1.0:
            raise ConfigError(f"teacher_forcing must be in (0, 1]; got {self.teacher_forcing}")
        for name in ("val_fraction", "test_fraction"):
            if not 0.0 < getattr(self, name) < 0.5:
                raise ConfigError(f"{name} must be in (0, 0.5); got {getattr(self, name)}")
        for name in ("learning_rate", "clipnorm", "max_length_ratio"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0; got {getattr(self, name)}")
        if self.time_budget < 0:
            raise ConfigError(f"time_budget must be >= 0 minutes (0: no limit); got {self.time_budget}")
        if self.length_penalty < 0:
            raise ConfigError(f"length_penalty must be >= 0 (0: raw log-probabilities); got {self.length_penalty}")
        if self.max_length_offset < 0 or self.patience < 0:
            raise ConfigError("max_length_offset and patience must be >= 0")
        for name in ("vocab_size", "target_vocab_size"):
            if getattr(self, name) < 260:
                raise ConfigError(f"{name} must be >= 260 (4 special tokens and the 256 bytes); got {getattr(self, name)}")
        if bool(self.source) != bool(self.target):
            raise ConfigError("source and target go together: pass both --source FILE and --target FILE "
                              f"(got source={self.source!r}, target={self.target!r})")
        if self.attention == "dot" and self.bidirectional:
            raise ConfigError("attention = 'dot' needs the encoder's memory as wide as the decoder: use "
                              "bidirectional = false, or attention = 'general'")
