"""The speech models: one `Sequential` each, over feature frames (B, T, I) with the clips' lengths.

Isolated digits (classifier):
    x (B, T, I), lengths -> [Bidirectional](GRU|LSTM(H, return_sequences)) x layers   (B, T, D*H), 0 past each length
                         -> GlobalAverage|Max|ConcatPooling1D over each clip's own frames   (B, D*H)
                         -> Dropout -> Dense(10, softmax)                                   (B, 10)

Connected digits (CTC):
    x (B, T, I), lengths -> [Bidirectional](GRU|LSTM(H, return_sequences)) x layers   (B, T, D*H)
                         -> Dropout -> Dense(11)                                           (B, T, 11) logits,
                            class 0 the CTC blank, class d + 1 the digit d

The padding of a batch is never computed on (the recurrent layers take `lengths`), so a clip's prediction
does not depend on the clips batched with it; the tests assert it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["BLANK", "build_ctc_model", "build_digit_model", "frame_logits", "predict_digits"]

BLANK = 0  # CTC blank index; digit d is class d + 1


def _recurrent_stack(config: Any) -> list[Any]:
    from rnnkit.layers import GRU, LSTM, Bidirectional, SimpleRNN

    recurrent = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}[config.model]
    stack = []
    for index in range(config.layers):
        layer = recurrent(config.units, return_sequences=True, dropout=config.dropout if index > 0 else 0.0)
        stack.append(Bidirectional(layer) if config.bidirectional else layer)
    return stack


def build_digit_model(config: Any, input_size: int, num_classes: int = 10) -> Any:
    from rnnkit.layers import Dense, Dropout, GlobalAveragePooling1D, GlobalConcatPooling1D, GlobalMaxPooling1D
    from rnnkit.models import Sequential

    pooling = {"max": GlobalMaxPooling1D, "mean": GlobalAveragePooling1D, "concat": GlobalConcatPooling1D}
    layers = [*_recurrent_stack(config), pooling[config.pooling]()]
    if config.dropout:
        layers.append(Dropout(config.dropout))
    layers.append(Dense(num_classes, activation="softmax"))
    model = Sequential(layers, name="spoken_digit_classifier")
    model.build((None, input_size))
    return model


def build_ctc_model(config: Any, input_size: int) -> Any:
    from rnnkit.layers import Dense, Dropout
    from rnnkit.models import Sequential

    layers = _recurrent_stack(config)
    if config.dropout:
        layers.append(Dropout(config.dropout))
    layers.append(Dense(11))
    model = Sequential(layers, name="connected_digit_ctc")
    model.build((None, input_size))
    return model


def _length_order(features: list[np.ndarray]) -> np.ndarray:
    return np.argsort([len(f) for f in features], kind="stable")


def predict_digits(model: Any, features: list[np.ndarray], *, batch_size: int = 128) -> np.ndarray:
    """(N, 10) probabilities of clips of any lengths, batched by length (little padding); input order kept."""
    order = _length_order(features)
    probabilities = np.asarray(model.predict([features[i] for i in order], batch_size=batch_size), dtype=np.float64)
    out = np.empty_like(probabilities)
    out[order] = probabilities
    return out


@torch.no_grad()
def frame_logits(model: Any, features: list[np.ndarray], *, batch_size: int = 64) -> list[torch.Tensor]:
    """Per-clip log-probabilities (T_i, 11) of a CTC model, batched by length; input order kept."""
    from rnnkit.training.sequences import pad_collate

    model.eval()
    order = _length_order(features)
    out: list[torch.Tensor | None] = [None] * len(features)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        batch = pad_collate([torch.from_numpy(features[i]) for i in chunk])
        lengths = batch.lengths if batch.lengths is not None else torch.full((len(chunk),), batch.x.shape[1])
        log_probs = torch.log_softmax(model(batch.x, lengths=lengths), dim=-1)       # (B, T, 11)
        for row, i in enumerate(chunk):
            out[i] = log_probs[row, : int(lengths[row])]
    return out  # type: ignore[return-value]
