"""The action-recognition models, over channels-last clips x (B, T, Y, X, 1) (legend: B clips, T frames,
Y x X the frame, F = `filters`, H = `units`, K = 7 motions).

The per-frame CNN, shared by all three (one set of weights for every frame, `TimeDistributed`):

    x (B, T, Y, X, 1) -> Conv2D(F/2, 3, same, relu) -> MaxPooling2D(2)        (B, T, Y/2, X/2, F/2)
                      -> Conv2D(F, 3, same, relu)   -> MaxPooling2D(2)        (B, T, Y/4, X/4, F)

cnn-lstm (`Sequential`):  -> Conv2D(4, 1, relu) -> Flatten               (B, T, 4 Y X / 16)   where the digit is
                          -> LSTM(H) x layers, the last step             (B, H)
                          -> Dropout -> Dense(K, softmax)                (B, K)
frame-cnn (`Sequential`, no recurrence: the baseline):
                          -> Conv2D(4, 1, relu) -> Flatten -> Dense(H, relu)   (B, T, H)   per frame
                          -> GlobalAveragePooling1D over the frames            (B, H)      order-blind
                          -> Dropout -> Dense(K, softmax)                      (B, K)
convlstm (`Sequential`):  -> ConvLSTM2D(F, 3 x 3, same) x layers, the last step   h_T (B, Y/4, X/4, F)
                          -> Flatten -> Dropout -> Dense(K, softmax)              (B, K)

The 1x1 convolution before Flatten keeps the map of where the digit is (4 channels a cell) but few
weights after it: a Dense straight on F channels a cell learns the training digits' shapes and
generalises worse to the unseen test digits. The frame-averaged CNN cannot tell a clip from the same
clip played backwards (left from right, up from down): only the recurrent models see the order.
Clips of different lengths batch with `lengths` (the LSTM and the ConvLSTM stop at each clip's last frame).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_video_model", "predict_clips", "train_on_clips"]


def _frame_cnn(filters: int) -> list[Any]:
    from rnnkit.layers import Conv2D, MaxPooling2D, TimeDistributed

    return [TimeDistributed(Conv2D(filters // 2, 3, padding="same", activation="relu")),
            TimeDistributed(MaxPooling2D(2)),
            TimeDistributed(Conv2D(filters, 3, padding="same", activation="relu")),
            TimeDistributed(MaxPooling2D(2))]


def build_video_model(config: Any, *, frames: int, size: int, classes: int, kind: str | None = None) -> Any:
    """The model `kind` (default config.model) for clips of `frames` x `size` x `size`, built."""
    from rnnkit.layers import (LSTM, Conv2D, ConvLSTM2D, Dense, Dropout, Flatten, GlobalAveragePooling1D,
                               TimeDistributed)
    from rnnkit.models import Sequential

    kind = kind or config.model
    if kind not in ("cnn-lstm", "convlstm", "frame-cnn"):
        raise ValueError(f"build_video_model: kind must be 'cnn-lstm', 'convlstm' or 'frame-cnn'; got {kind!r}")
    layers = _frame_cnn(config.filters)
    if kind == "convlstm":
        layers += [ConvLSTM2D(config.filters, 3, return_sequences=index < config.layers - 1)
                   for index in range(config.layers)]
        layers.append(Flatten())
    else:
        layers += [TimeDistributed(Conv2D(4, 1, activation="relu")), TimeDistributed(Flatten())]   # where the digit is
    if kind == "cnn-lstm":
        layers += [LSTM(config.units, return_sequences=index < config.layers - 1) for index in range(config.layers)]
    elif kind == "frame-cnn":
        layers += [TimeDistributed(Dense(config.units, activation="relu")), GlobalAveragePooling1D()]
    if config.dropout:
        layers.append(Dropout(config.dropout))
    layers.append(Dense(classes, activation="softmax"))
    model = Sequential(layers, name=kind.replace("-", "_"))
    model.build((frames, size, size, 1))
    return model


def predict_clips(model: Any, clips: Any, *, batch_size: int = 64) -> Any:
    """(N, K) float64 probabilities of clips (N, T, Y, X, 1) (one length), or of a list of clips of any lengths."""
    import numpy as np

    if isinstance(clips, np.ndarray):
        return np.asarray(model.predict(clips, batch_size=batch_size), dtype=np.float64)
    return np.concatenate([np.asarray(model.predict(clip[None], batch_size=1), dtype=np.float64) for clip in clips])


def train_on_clips(model: Any, config: Any, train: Any, validation: Any, *, verbose: int = 0,
                   backup_dir: Any = None) -> dict[str, list[float]]:
    """Fit `model` on the MovingDigits `train` (early stopping on `validation`, None: no validation) with the
    config's optimiser settings; returns the history."""
    from rnnkit.tasks import _model

    held = None if validation is None else (validation.frames[..., None], validation.motion)
    return _model.train_model(model, train.frames[..., None], train.motion, loss="sparse_categorical_crossentropy",
                              learning_rate=config.learning_rate, epochs=config.epochs, batch_size=config.batch_size,
                              patience=config.patience, seed=config.seed, validation=held, verbose=verbose,
                              metrics=["accuracy"], backup_dir=backup_dir)
