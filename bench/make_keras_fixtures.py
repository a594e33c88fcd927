"""Make the Keras 3 fixtures of ``tests/export/test_keras_import.py``: small ``.keras`` files and Keras' outputs.

Run (Keras 3 on its torch backend; no TensorFlow needed)::

    KERAS_BACKEND=torch OMP_NUM_THREADS=1 python bench/make_keras_fixtures.py

For each model NAME it writes ``tests/export/fixtures/NAME.keras`` (the model as Keras saves it) and
``NAME.npz`` with ``x`` (an input batch) and ``y`` (Keras' own ``model.predict(x)``). Every weight is
overwritten with seeded N(0, 0.5^2) draws, so biases (zeros by Keras' default) and gate order are tested
too. ``gru_reset_before`` (``reset_after=False``) gets no ``.npz``: rnnkit refuses it, and the test checks
the error. Seeded and small (a few units, T = 6, vocabulary 10): each file is a few KB. The fixtures are
committed; CI needs neither Keras nor this script.
"""

from __future__ import annotations

import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from keras import layers  # noqa: E402

torch.set_num_threads(1)
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "export" / "fixtures"
B, T, I, VOCAB = 4, 6, 3, 10


def models() -> dict[str, tuple[keras.Model, str]]:
    """NAME → (model, kind of input: "features" (B, T, I) float32 or "ids" (B, T) zero-padded)."""
    seq = keras.Sequential
    return {
        "lstm_dense": (seq([layers.Input((T, I)), layers.LSTM(4),
                            layers.Dense(2, activation="softmax")]), "features"),
        "gru_sequences_time_distributed": (seq([layers.Input((T, I)), layers.GRU(4, return_sequences=True),
                                                layers.TimeDistributed(layers.Dense(3, activation="tanh"))]),
                                           "features"),
        "simple_rnn_relu_backwards": (seq([layers.Input((T, I)),
                                           layers.SimpleRNN(4, activation="relu", go_backwards=True,
                                                            return_sequences=True),
                                           layers.Dense(1, use_bias=False)]), "features"),   # Dense per step
        "embedding_masked_lstm": (seq([layers.Input((T,), dtype="int32"),
                                       layers.Embedding(VOCAB, 4, mask_zero=True), layers.LSTM(5),
                                       layers.Dense(2, activation="sigmoid")]), "ids"),
        "embedding_masked_bidirectional_gru": (seq([layers.Input((T,), dtype="int32"),
                                                    layers.Embedding(VOCAB, 3, mask_zero=True),
                                                    layers.Bidirectional(layers.GRU(3)), layers.Dense(2)]), "ids"),
        "bidirectional_merges": (seq([layers.Input((T, I)),
                                      layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
                                      layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True),
                                                           merge_mode="mul"),
                                      layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode="ave"),
                                      layers.Bidirectional(layers.GRU(2), merge_mode="sum"),
                                      layers.Dense(2)]), "features"),
        "conv_pooling": (seq([layers.Input((T, I)), layers.Conv1D(4, 3, padding="same", activation="relu"),
                              layers.MaxPooling1D(2), layers.Conv1D(3, 2, padding="causal"),
                              layers.AveragePooling1D(2, strides=1, padding="same"),
                              layers.GlobalAveragePooling1D(), layers.Dense(1)]), "features"),
        "conv_gru_backwards_global_max": (seq([layers.Input((T, I)), layers.Conv1D(4, 2, strides=2, use_bias=False),
                                               layers.GRU(3, return_sequences=True, go_backwards=True),
                                               layers.GlobalMaxPooling1D(), layers.Dropout(0.3),
                                               layers.Dense(2, activation="relu")]), "features"),
        "gru_reset_before": (seq([layers.Input((T, I)), layers.GRU(3, reset_after=False)]), "features"),
    }


def inputs(kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "features":
        return rng.normal(size=(B, T, I)).astype(np.float32)
    ids = rng.integers(1, VOCAB, size=(B, T)).astype(np.int32)
    for b, length in enumerate((T, 4, 2, 5)):                 # post padding: id 0 after each row's length
        ids[b, length:] = 0
    return ids


def main() -> None:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (model, kind) in models().items():
        model.set_weights([rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in model.get_weights()])
        model.save(OUT / f"{name}.keras")
        x = inputs(kind, rng)
        y = model.predict(x, verbose=0)
        np.savez(OUT / f"{name}.npz", x=x, y=y.astype(np.float32))
        print(f"{name}: x {x.shape} -> y {y.shape}")


if __name__ == "__main__":
    main()
