"""The typed, keyword-only configuration of a text-classification run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rnnkit.tasks._config import ConfigError, ModelKind, check_training_ranges

__all__ = ["Pooling", "TextConfig"]

Pooling = Literal["max", "mean", "concat"]


@dataclass(frozen=True, kw_only=True)
class TextConfig:
    """Everything a text-classification run needs.

    The model reads raw text: TextVectorization (words, lowercased, punctuation stripped, the
    `vocab_size` most frequent kept) -> Embedding(mask_zero) -> [Bi]GRU/LSTM over each text's own
    tokens -> max or mean over those steps -> Dense(K, softmax). The defaults were chosen on the
    fine-food reviews over seeds 0-2 beside TF-IDF + logistic regression (docs/results.md).

    With `wide_ngrams` = n > 0 the model is wide & deep (`rnnkit.tasks.text.wide`): a linear branch over
    sublinear TF-IDF word 1..n-grams adds its logits to the recurrent model's (off by default: on seeds 0-2
    it beat TF-IDF + LR on one seed only, docs/results.md "Wide & deep").

    With `init_from` (a language-model run) the classifier is the LM's tokenizer, embedding and LSTM
    stack with concat pooling and a Dense head, fine-tuned ULMFiT-style (`rnnkit.tasks.text.transfer`):
    the sizes come from the LM, so `vocab_size`, `embedding_size`, `model`, `units`, `layers`,
    `bidirectional` and `pooling` are left at their defaults (or set to the LM's values).
    """

    data: str = "fine_food_reviews"  # bundled dataset name, or a .csv/.tsv/.parquet file with a text and a label column
    test_data: str | None = None  # a second file holding the test texts: your own split
    text_column: str | None = None  # file: the column holding the texts
    label_column: str | None = None  # the column holding each text's class
    test_fraction: float = 0.2  # files without --test-data: stratified share of texts held out for the test
    val_fraction: float = 0.2  # stratified share of the training texts for early stopping (>= 1 per class)
    vocab_size: int = 10000  # text: the vocabulary, padding and out-of-vocabulary included (the most frequent words)
    embedding_size: int = 32  # the size of each token's embedding
    model: ModelKind = "gru"
    units: int = 32
    layers: int = 1
    bidirectional: bool = True
    pooling: Pooling = "max"  # over each text's own steps (padding never counts): max, mean or concat (last+max+mean)
    dropout: float = 0.5  # on the embeddings and on the pooled features
    wide_ngrams: int = 0  # wide & deep: a linear branch over TF-IDF word 1..n-grams added to the logits (0: none)
    wide_vocab_size: int = 30000  # --wide-ngrams: the most frequent n-grams of the training texts kept
    wide_deep_loss: float = 0.0  # --wide-ngrams: weight of the deep branch's own cross-entropy beside the joint one
    wide_warm_start: bool = True  # --wide-ngrams: fit the wide branch alone first (its penalised logistic regression)
    epochs: int = 20  # at most; the weights kept are those of the best validation loss
    batch_size: int = 32
    learning_rate: float = 1e-3  # Adam, gradients clipped to norm 1
    patience: int = 5  # epochs without a better validation loss before stopping (0: no early stopping)
    seed: int = 0
    init_from: str | None = None  # an LM run folder (train --task lm): fine-tune its tokenizer, embedding and LSTMs
    pretrained: bool = True  # --init-from: the LM's weights (--no-pretrained: its sizes, random weights: the control)
    lr_decay: float = 2.6  # --init-from: each layer group below the head learns at the rate above it / lr_decay
    unfreeze_every: int = 1  # --init-from: epochs per unfreezing stage: the head, then one group more (0: all at once)

    def check(self) -> None:
        """Range checks (types are checked by `config_from_dict`); a bad value is a `ConfigError`."""
        check_training_ranges(self, positive=("embedding_size",))
        for name in ("test_fraction", "val_fraction"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1); got {getattr(self, name)}")
        if self.lr_decay < 1.0:
            raise ConfigError(f"lr_decay must be >= 1 (1: one learning rate for every layer); got {self.lr_decay}")
        if self.unfreeze_every < 0:
            raise ConfigError(f"unfreeze_every must be >= 0 epochs (0: no gradual unfreezing); "
                              f"got {self.unfreeze_every}")
        if self.wide_ngrams < 0 or self.wide_ngrams > 3:
            raise ConfigError(f"wide_ngrams must be 0 (no wide branch) or 1-3 (word 1..n-grams); got {self.wide_ngrams}")
        if self.wide_vocab_size < 2:
            raise ConfigError(f"wide_vocab_size must be >= 2 ([UNK] and one n-gram); got {self.wide_vocab_size}")
        if self.wide_deep_loss < 0:
            raise ConfigError(f"wide_deep_loss must be >= 0 (0: the joint loss alone); got {self.wide_deep_loss}")
        if self.wide_ngrams and self.init_from is not None:
            raise ConfigError("wide_ngrams applies to a classifier trained from scratch; drop --wide-ngrams or "
                              "--init-from")
        if self.vocab_size < 3:
            raise ConfigError(f"vocab_size must be >= 3 (padding, out-of-vocabulary and one word); "
                              f"got {self.vocab_size}")
