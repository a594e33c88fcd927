"""The typed, keyword-only configuration of a language-model run (``rnnkit train --task lm``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rnnkit.tasks._config import ConfigError

__all__ = ["LMConfig", "LMTokenizer", "Schedule"]

LMTokenizer = Literal["char", "bpe"]
Schedule = Literal["cosine", "constant"]


@dataclass(frozen=True, kw_only=True)
class LMConfig:
    """Everything a language-model run needs. The defaults are the measured 5-minute recipe for
    tiny-shakespeare on one CPU thread (docs/results.md, "Language models")."""

    data: str = "tiny_shakespeare"  # a remote text dataset (`rnnkit datasets`) or a UTF-8 .txt file
    tokenizer: LMTokenizer = "char"  # char: one id per character; bpe: byte-level BPE subwords
    vocab_size: int = 1000  # bpe: the vocabulary size (4 specials and 256 bytes included)
    val_fraction: float = 0.1  # the last share of the text, held out for validation (the first part trains)
    units: int = 256
    layers: int = 2
    embedding_size: int = 64  # the size of each token's embedding
    tie_weights: bool = False  # the output layer reuses the embedding (a projection maps units to it if sizes differ)
    dropout: float = 0.0
    embedding_dropout: float = 0.0  # dropout on the embedded tokens
    output_dropout: float = 0.0  # dropout on the LSTM outputs before the output layer
    # B16 x T64: at a fixed time budget, more and cheaper updates win (bench/lm_budget.py, 2 minutes each:
    # val 1.709 nats/char at B16 T64, 1.759 at B32 T64, ~2.0 at B64 T128; docs/results.md "Language model")
    seq_len: int = 64  # truncated BPTT length T (the state is carried across chunks, detached)
    batch_size: int = 16
    epochs: int = 30  # at most; --time-budget usually ends training first
    time_budget: float = 5.0  # minutes of training (validation included); 0: no limit, --epochs decides
    learning_rate: float = 5e-3  # 5-minute runs: val 1.467 nats/char at 5e-3 (two runs sharing the box) vs 1.472 at 3e-3 (alone)
    schedule: Schedule = "cosine"  # cosine decay to 5% over the run (its progress: steps or time, whichever is further)
    clipnorm: float = 1.0  # gradients clipped to this global norm
    ngram_order: int = 5  # order of the Kneser-Ney baseline (0: unigram only)
    sample_length: int = 500  # tokens of the sample written to sample.txt
    seed: int = 0

    def check(self) -> None:
        """Range checks (types are checked by ``config_from_dict``); a bad value is a ``ConfigError``."""
        for name in ("units", "layers", "embedding_size", "seq_len", "batch_size", "epochs", "sample_length"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1; got {getattr(self, name)}")
        for name in ("dropout", "embedding_dropout", "output_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1); got {getattr(self, name)}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1); got {self.val_fraction}")
        for name in ("learning_rate", "clipnorm"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0; got {getattr(self, name)}")
        if self.time_budget < 0:
            raise ConfigError(f"time_budget must be >= 0 minutes (0: no limit); got {self.time_budget}")
        if not 0 <= self.ngram_order <= 8:
            raise ConfigError(f"ngram_order must be in 0..8 (0: unigram only); got {self.ngram_order}")
        if self.tokenizer == "bpe" and self.vocab_size < 260:
            raise ConfigError(f"vocab_size must be >= 260 for --tokenizer bpe (4 specials + 256 bytes); "
                              f"got {self.vocab_size}")
