"""The baseline every action-recognition run reports beside its model: the frame-averaged CNN.

The same per-frame CNN as the recurrent models (`models.build_video_model(kind="frame-cnn")`), then a
Dense(units, relu) per frame, the mean of those features over the frames, and Dense(7, softmax); trained
on the same clips with the same optimiser, epochs and early stopping. Averaging forgets the order of the
frames, so it sees where the digit went but not in which order: a clip and the same clip played backwards
look alike to it (left / right, up / down). What it scores above chance comes from the shape of the
path alone.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rnnkit.tasks.video.models import build_video_model, predict_clips, train_on_clips

__all__ = ["METHOD", "frame_cnn_baseline"]

METHOD = "frame-averaged CNN (no recurrence)"


def frame_cnn_baseline(config: Any, train: Any, validation: Any, test: Any) -> dict[str, Any]:
    """Train the frame-averaged CNN (seeded like the model); its test predictions and the seconds it took."""
    import rnnkit

    rnnkit.set_seed(config.seed)
    start = time.perf_counter()
    T, Y = train.frames.shape[1:3]
    model = build_video_model(config, frames=T, size=Y, classes=len(train.motion_names), kind="frame-cnn")
    history = train_on_clips(model, config, train, validation)
    predictions = predict_clips(model, test.frames[..., None]).argmax(axis=1)
    return {"method": METHOD, "predictions": np.asarray(predictions, dtype=np.int64),
            "epochs_run": len(history.get("loss", [])), "seconds": time.perf_counter() - start}
