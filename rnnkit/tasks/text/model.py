"""The text classifier: raw strings in, class probabilities out, one `Sequential` that `rnnkit.load_model` reads.

    texts (B,) -> TextVectorization -> ids (B, T), lengths (B,)
               -> Embedding(V, E, mask_zero)    (B, T, E)
               -> Dropout
               -> [Bidirectional](GRU|LSTM(H, return_sequences)) x layers     (B, T, D*H), zero past each length
               -> GlobalMax|Average|ConcatPooling1D over each text's own steps (B, D*H) (concat: 3*D*H)
               -> Dropout -> Dense(K, softmax)                                 (B, K)

Training does not go through the vectorizer: the texts are turned into ids once, and a DataLoader
batches texts of similar length together (`BucketBatchSampler`, little padding) for the `core`
model, a second `Sequential` over the same layer objects (so the same weights) without the
vectorizer. The saved model is the full one; it reads raw text and needs nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from rnnkit.tasks.text.config import TextConfig

__all__ = ["TextModel", "build_text_model", "build_vectorizer", "id_loader", "predict_texts", "token_counts"]


def build_vectorizer(config: TextConfig, texts: Sequence[str]) -> Any:
    """Keras-style word vocabulary of the training texts: lowercased, punctuation stripped, `max_tokens` kept."""
    from rnnkit.layers import TextVectorization

    vectorizer = TextVectorization(max_tokens=config.vocab_size)
    vectorizer.adapt(list(texts))
    return vectorizer


class TextModel:
    """`model`: the saved Sequential (raw text in); `core`: the same layers after the vectorizer (ids in)."""

    def __init__(self, model: Any, core: Any) -> None:
        self.model, self.core = model, core


def build_text_model(vectorizer: Any, config: TextConfig, num_classes: int, *, wide_vectorizer: Any = None,
                     wide_l2: float = 0.0) -> TextModel:
    """The deep model alone, or with `wide_vectorizer` (TF-IDF n-grams) the wide & deep one (`rnnkit.tasks.text.wide`):
    then the deep stack ends in logits, the wide kernel starts at zero and `wide_l2` weighs its penalty."""
    from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, SimpleRNN
    from rnnkit.layers import GlobalAveragePooling1D, GlobalConcatPooling1D, GlobalMaxPooling1D
    from rnnkit.models import Sequential

    recurrent = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}[config.model]
    layers: list[Any] = [Embedding(vectorizer.vocabulary_size(), config.embedding_size, mask_zero=True)]
    if config.dropout:
        layers.append(Dropout(config.dropout))
    for index in range(config.layers):
        layer = recurrent(config.units, return_sequences=True, dropout=config.dropout if index > 0 else 0.0)
        layers.append(Bidirectional(layer) if config.bidirectional else layer)
    pooling = {"max": GlobalMaxPooling1D, "mean": GlobalAveragePooling1D, "concat": GlobalConcatPooling1D}
    layers.append(pooling[config.pooling]())
    if config.dropout:
        layers.append(Dropout(config.dropout))
    if wide_vectorizer is not None:
        return _wide_deep(vectorizer, layers + [Dense(num_classes)], wide_vectorizer, num_classes, wide_l2,
                          config.wide_deep_loss)
    layers.append(Dense(num_classes, activation="softmax"))
    core = Sequential(layers, name="text_classifier_core")
    model = Sequential([vectorizer, *core.layers], name="text_classifier")   # the same layer objects
    return TextModel(model, core)


def _wide_deep(vectorizer: Any, layers: list[Any], wide_vectorizer: Any, num_classes: int, l2: float,
               deep_loss: float) -> TextModel:
    from rnnkit.layers import Dense
    from rnnkit.models import Sequential
    from rnnkit.tasks.text.wide import WideDeepCore, WideDeepTextClassifier

    wide = Dense(num_classes)
    model = WideDeepTextClassifier([vectorizer, *layers], wide_vectorizer=wide_vectorizer, wide=wide,
                                   name="text_classifier")
    model.build(())
    torch.nn.init.zeros_(wide.linear.weight)
    deep = Sequential(layers, name="text_classifier_deep")                     # the same layer objects, ids in
    return TextModel(model, WideDeepCore(deep, wide, l2=l2, deep_loss=deep_loss))


def token_counts(vectorizer: Any, texts: Sequence[str]) -> np.ndarray:
    """(N,) tokens per text as the model reads it (0: nothing left after standardizing)."""
    _, lengths = vectorizer.vectorize(list(texts))
    return lengths.numpy()


class _Ids(Dataset):
    """Texts as id rows (T_i,) with their labels, for `pad_collate`."""

    def __init__(self, ids: list[torch.Tensor], labels: np.ndarray) -> None:
        self.ids, self.labels = ids, torch.as_tensor(labels, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.ids[i], self.labels[i]


def id_loader(vectorizer: Any, texts: Sequence[str], labels: np.ndarray, *, batch_size: int,
              shuffle: bool) -> DataLoader:
    """Batches of texts of similar length (ids padded at the end + lengths); a new batch order every epoch.

    The sampler draws its order from torch's generator, which `fit` seeds per epoch, so a resumed run
    sees the batches an uninterrupted one would.
    """
    from rnnkit.data import BucketBatchSampler, pad_collate

    ids, lengths = vectorizer.vectorize(list(texts))                    # (N, T_max), (N,)
    rows = [ids[i, : int(n)].clone() for i, n in enumerate(lengths)]
    sampler = BucketBatchSampler(lengths.numpy(), batch_size=batch_size, shuffle=shuffle)
    return DataLoader(_Ids(rows, labels), batch_sampler=sampler, collate_fn=pad_collate)


def predict_texts(model: Any, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """(N, K) probabilities from raw texts through the saved model, batched by length for speed.

    A text's prediction does not depend on the texts batched with it (the lengths mask the padding),
    so sorting them by length only saves the work on padding; the rows come back in input order.
    """
    order = np.argsort(token_counts(model.layers[0], texts), kind="stable")
    ordered = np.array([texts[i] for i in order], dtype=object)
    probabilities = np.asarray(model.predict(ordered, batch_size=batch_size), dtype=np.float64)
    out = np.empty_like(probabilities)
    out[order] = probabilities
    return out
