r"""The tracking model: a CNN + LSTM box regressor over channels-last clips x (B, T, Y, X, 1) (legend: B clips,
T frames, Y x X the frame (Y = X = S), F = `filters`, H = `units`).

    x (B, T, S, S, 1) -> the per-frame CNN of action recognition          (B, T, S/4, S/4, F)   models._frame_cnn
                      -> Conv2D(4, 1, relu) -> Flatten                    (B, T, S² / 4)        where the digit is
                      -> Dense(H, relu)                                   (B, T, H)             per frame
                      -> LSTM(H) x layers, every step                     (B, T, H)             what it has seen so far
                      -> Dense(4)                                         (B, T, 4)             the box, encoded

The LSTM runs forward only: the box of frame t depends on frames 1..t, so the model tracks online,
as the baselines do, and carries the digit through the frames where a bar hides it.

Boxes (y0, x0, y1, x1) in pixels are regressed in frame-centred units of S/4 pixels (values within ±2):

    encoded = (box - S/2) / (S/4)          box = S/2 + (S/4) encoded, clipped to [0, S], corners in order
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["build_tracker", "decode_boxes", "encode_boxes", "predict_boxes"]


def encode_boxes(boxes: np.ndarray, size: int) -> np.ndarray:
    """(..., 4) pixel boxes -> the regression targets, float32."""
    return ((np.asarray(boxes, dtype=np.float32) - size / 2) / (size / 4)).astype(np.float32)


def decode_boxes(encoded: np.ndarray, size: int) -> np.ndarray:
    """The model's outputs (..., 4) -> pixel boxes (y0, x0, y1, x1) inside [0, size], y0 <= y1 and x0 <= x1."""
    boxes = np.clip(size / 2 + (size / 4) * np.asarray(encoded, dtype=np.float64), 0.0, float(size))
    y = np.sort(boxes[..., 0::2], axis=-1)
    x = np.sort(boxes[..., 1::2], axis=-1)
    return np.stack([y[..., 0], x[..., 0], y[..., 1], x[..., 1]], axis=-1)


def build_tracker(config: Any) -> Any:
    """The CNN + LSTM box regressor for clips of config.frames x config.size x config.size, built."""
    from rnnkit.layers import LSTM, Conv2D, Dense, Flatten, TimeDistributed
    from rnnkit.models import Sequential
    from rnnkit.tasks.video.models import _frame_cnn

    layers = _frame_cnn(config.filters)
    layers += [TimeDistributed(Conv2D(4, 1, activation="relu")), TimeDistributed(Flatten()),
               TimeDistributed(Dense(config.units, activation="relu"))]
    layers += [LSTM(config.units, return_sequences=True) for _ in range(config.layers)]
    layers.append(TimeDistributed(Dense(4)))
    model = Sequential(layers, name="cnn_lstm_tracker")
    model.build((config.frames, config.size, config.size, 1))
    return model


def predict_boxes(model: Any, clips: Any, *, size: int, batch_size: int = 64) -> np.ndarray | list[np.ndarray]:
    """Pixel boxes (N, T, 4) of clips (N, T, Y, X) (one length); for a list of clips (T_i, Y, X), a list of (T_i, 4)."""
    if isinstance(clips, np.ndarray):
        return decode_boxes(np.asarray(model.predict(clips[..., None], batch_size=batch_size)), size)
    return [decode_boxes(np.asarray(model.predict(clip[None, ..., None], batch_size=1))[0], size) for clip in clips]
