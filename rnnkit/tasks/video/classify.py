"""Action recognition on moving digits: clips -> their motion pattern, beside the frame-averaged CNN.

    >>> from rnnkit.tasks.video import VideoClassifyConfig, train_video_classifier
    >>> result = train_video_classifier(VideoClassifyConfig())                 # cnn-lstm, 2100 / 700 clips
    >>> result.metrics["test"]["accuracy"], result.metrics["test"]["baselines"]["frame_cnn"]["accuracy"]

A stratified `val_fraction` of the training clips is held out for early stopping (the best epoch's
weights kept); the test clips (generated from digit images no training clip shows) are used for nothing
but the scores.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit.tasks import _model
from rnnkit.data.sequence_table import stratified_holdout
from rnnkit.tasks.classify.pipeline import classification_report
from rnnkit.tasks.video.baselines import frame_cnn_baseline
from rnnkit.tasks.video.config import VideoClassifyConfig
from rnnkit.tasks.video.data import VideoData, load_clips
from rnnkit.tasks.video.models import build_video_model, predict_clips, train_on_clips

__all__ = ["VideoClassifyResult", "train_video_classifier"]


@dataclass(kw_only=True)
class VideoClassifyResult:
    config: VideoClassifyConfig
    data: VideoData
    model: Any                      # the Sequential over clips (B, T, Y, X, 1) (what is saved)
    history: dict[str, list[float]]
    metrics: dict[str, Any]         # {"test": {accuracy, per_class, confusion_matrix, baselines}, ...}
    test_probabilities: np.ndarray  # (N_test, K)


def train_video_classifier(config: VideoClassifyConfig, *, data: VideoData | None = None, verbose: int = 0,
                           backup_dir: Any = None) -> VideoClassifyResult:
    """Train `config.model` on the training clips (early stopping on a validation share), score the test clips,
    and (baseline "frame-cnn") train and score the frame-averaged CNN the same way."""
    import rnnkit

    config.check()
    data = data if data is not None else load_clips(config)
    names = data.class_names
    held = stratified_holdout(data.train.motion, config.val_fraction, config.seed, keep_one=True) \
        if config.val_fraction else np.zeros(len(data.train), dtype=bool)
    train, validation = data.train.take(~held), (data.train.take(held) if held.any() else None)
    rnnkit.set_seed(config.seed)
    model = build_video_model(config, frames=config.frames, size=config.size, classes=len(names))
    start = time.perf_counter()
    history = train_on_clips(model, config, train, validation, verbose=verbose, backup_dir=backup_dir)
    seconds = time.perf_counter() - start
    probabilities = predict_clips(model, data.test.frames[..., None])
    test = classification_report(data.test.motion, probabilities.argmax(axis=1), names)
    test["baselines"] = {}
    if config.baseline == "frame-cnn" and config.model != "frame-cnn":
        entry = frame_cnn_baseline(config, train, validation, data.test)
        scored = classification_report(data.test.motion, entry["predictions"], names)
        test["baselines"]["frame_cnn"] = {"method": entry["method"], "accuracy": scored["accuracy"],
                                          "per_class": scored["per_class"],
                                          "confusion_matrix": scored["confusion_matrix"],
                                          "epochs_run": entry["epochs_run"], "seconds": round(entry["seconds"], 1)}
    metrics: dict[str, Any] = {"test": test, "train_clips": len(train), "val_clips": int(held.sum()),
                               "parameters": int(model.count_params()), "train_seconds": round(seconds, 1)}
    metrics.update(_model.kept_epoch(history, config.patience))
    return VideoClassifyResult(config=config, data=data, model=model, history=history, metrics=metrics,
                               test_probabilities=probabilities)
