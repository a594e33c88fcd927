r"""Object tracking on moving digits: a clip -> the digit's box in every frame, including the frames where an
occluding bar hides it, by a CNN + LSTM box regressor (`track_model`), scored by IoU beside two trackers that
need no training (`boxes`):

    >>> from rnnkit.tasks.video.track import train_tracker
    >>> result = train_tracker(TrackConfig(seed=0))
    >>> result.metrics["test"]["model"]["iou"], result.metrics["test"]["detector_tracker"]["iou"]

- detector + constant velocity: threshold detection of the ink, truncated boxes completed into the bar,
  constant velocity through the frames it finds nothing in (all frames scored);
- constant velocity from the true boxes of the visible frames (an oracle detector): exact where the digit
  is visible, so only its hidden frames are compared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.tasks._config import ConfigError
from rnnkit.tasks.video.track_config import TEST_SEED, TrackConfig

__all__ = ["TASK", "TrackResult", "evaluate_track_run", "load_track_clips", "save_track_run", "track_clip",
           "track_report", "train_tracker"]

TASK = "track"
EXAMPLES = 4  # test clips drawn in the PNG strip


@dataclass(kw_only=True)
class TrackResult:
    config: TrackConfig
    model: Any                      # the Sequential over clips (B, T, Y, X, 1) (what is saved)
    history: dict[str, list[float]]
    metrics: dict[str, Any]         # {"test": {"model": {iou, ...}, "detector_tracker": {...}, ...}, ...}
    test: Any                       # the test MovingDigits
    test_boxes: np.ndarray          # (N, T, 4) the model's boxes of the test clips


def load_track_clips(config: TrackConfig) -> tuple[Any, Any]:
    """(train, test) `MovingDigits` of the config: train from its seed, test from the fixed TEST_SEED."""
    from rnnkit.data.video import make_moving_digits

    options = dict(frames=config.frames, size=config.size, n_digits=config.n_digits, occlusion=config.occlusion)
    try:
        train = make_moving_digits(n_clips=config.train_clips, split="train", seed=config.seed, **options)
        test = make_moving_digits(n_clips=config.test_clips, split="test", seed=TEST_SEED, **options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"moving digits: {error}") from None
    return train, test


def track_report(model_boxes: np.ndarray, clips: Any) -> dict[str, Any]:
    """IoU of the model's boxes (N, T, 4) of `clips` (MovingDigits) over all, visible and hidden frames, beside
    the detector tracker's and (hidden frames) constant velocity's from the true visible boxes."""
    from rnnkit.tasks.video.boxes import constant_velocity, detector_tracker, iou_report

    size = clips.frames.shape[-1]
    report: dict[str, Any] = {"model": iou_report(model_boxes, clips.boxes, clips.visible),
                              "detector_tracker": iou_report(detector_tracker(clips.frames), clips.boxes,
                                                             clips.visible)}
    oracle_boxes = constant_velocity(clips.boxes, clips.visible, size=size)
    oracle = iou_report(oracle_boxes, clips.boxes, clips.visible)
    report["constant_velocity_true_visible"] = {"iou_hidden": oracle["iou_hidden"],
                                                "hidden_frames": oracle["hidden_frames"]}
    per_motion = {}
    for k, name in enumerate(clips.motion_names):
        chosen = clips.motion == k
        if chosen.any():
            model = iou_report(model_boxes[chosen], clips.boxes[chosen], clips.visible[chosen])
            cv = iou_report(oracle_boxes[chosen], clips.boxes[chosen], clips.visible[chosen])
            per_motion[name] = {"iou": model["iou"], "iou_hidden": model["iou_hidden"],
                                "constant_velocity_iou_hidden": cv["iou_hidden"], "hidden_frames": model["hidden_frames"]}
    report["per_motion"] = per_motion
    report["clips"] = int(len(clips))
    return report


def train_tracker(config: TrackConfig, *, clips: tuple[Any, Any] | None = None, verbose: int = 0,
                  backup_dir: str | Path | None = None) -> TrackResult:
    """Train on the training clips (early stopping on the last `val_fraction` of them), score the test clips.

    clips: (train, test) MovingDigits to use instead of generating them (tests)."""
    import rnnkit
    from rnnkit.tasks import _model
    from rnnkit.tasks.video.track_model import build_tracker, encode_boxes, predict_boxes

    config.check()
    train, test = clips if clips is not None else load_track_clips(config)
    for name, data in (("train", train), ("test", test)):
        expected = (config.frames, config.size, config.size)
        if data.frames.shape[1:] != expected:
            raise ConfigError(f"{name} clips must have frames (N, {', '.join(map(str, expected))}) (frames, size, "
                              f"size); got {data.frames.shape}")
    rnnkit.set_seed(config.seed)
    n_val = round(config.val_fraction * len(train))
    fit, held = train.take(np.arange(len(train) - n_val)), train.take(np.arange(len(train) - n_val, len(train)))
    model = build_tracker(config)
    validation = (held.frames[..., None], encode_boxes(held.boxes, config.size)) if n_val else None
    start = time.perf_counter()
    history = _model.train_model(model, fit.frames[..., None], encode_boxes(fit.boxes, config.size), loss="mse",
                                 learning_rate=config.learning_rate, epochs=config.epochs,
                                 batch_size=config.batch_size, patience=config.patience, seed=config.seed,
                                 validation=validation, verbose=verbose, backup_dir=backup_dir,
                                 reduce_lr_patience=config.reduce_lr_patience)
    seconds = time.perf_counter() - start
    boxes = predict_boxes(model, test.frames, size=config.size)
    metrics: dict[str, Any] = {"test": track_report(boxes, test), "train_clips": int(len(fit)),
                               "val_clips": int(n_val), "parameters": int(model.count_params()),
                               "train_seconds": round(seconds, 1)}
    metrics.update(_model.kept_epoch(history, config.patience))
    return TrackResult(config=config, model=model, history=history, metrics=metrics, test=test, test_boxes=boxes)


def _boxes_frame(clips: Any, boxes: np.ndarray) -> Any:
    """One row per test frame: the true box, whether it is visible, the model's box and its IoU."""
    import pandas as pd

    from rnnkit.tasks.video.boxes import box_iou

    N, T = clips.visible.shape
    columns = {"clip": np.repeat(np.arange(N), T), "frame": np.tile(np.arange(T), N),
               "visible": clips.visible.ravel()}
    for k, side in enumerate(("y0", "x0", "y1", "x1")):
        columns[f"true_{side}"] = clips.boxes[..., k].ravel()
    for k, side in enumerate(("y0", "x0", "y1", "x1")):
        columns[f"pred_{side}"] = boxes[..., k].ravel().round(2)
    columns["iou"] = box_iou(boxes, clips.boxes).ravel().round(4)
    return pd.DataFrame(columns)


def save_track_run(result: TrackResult, *, folder: Path) -> Path:
    """Write the model, metrics.json, test_boxes.csv (a row per test frame), tracking_strip.png and loss.png."""
    from rnnkit.tasks.plots import plot_history
    from rnnkit.tasks.runs import finish_run
    from rnnkit.tasks.video.frames_io import write_box_strip

    config = result.config
    state = {"frames": config.frames, "size": config.size, "channels": 1}
    metrics = {**result.metrics, "epochs_run": len(result.history.get("loss", []))}
    finish_run(folder, task=TASK, config=config, state=state, metrics=metrics, model=result.model)
    _boxes_frame(result.test, result.test_boxes).to_csv(folder / "test_boxes.csv", index=False)
    shown = slice(0, EXAMPLES)
    write_box_strip(folder / "tracking_strip.png", result.test.frames[shown], result.test.boxes[shown],
                    result.test_boxes[shown])
    if result.history.get("loss"):
        plot_history(folder / "loss.png", result.history)
    return folder


def track_clip(run: Any, clip: np.ndarray) -> np.ndarray:
    """The digit's box (T, 4) (y0, x0, y1, x1) in every frame of a clip (T, S, S) in [0, 1], by a track run."""
    from rnnkit.data import DataError
    from rnnkit.tasks.video.track_model import predict_boxes

    S = run.config.size
    clip = np.asarray(clip, dtype=np.float32)
    if clip.ndim != 3 or clip.shape[0] < 1 or clip.shape[1:] != (S, S):
        raise DataError(f"the clip must have shape (T, {S}, {S}) (the run reads frames of {S}x{S}); got {clip.shape}")
    return predict_boxes(run.model(), [clip], size=S)[0]


def evaluate_track_run(run: Any) -> tuple[dict[str, Any], Any]:
    """Score the run's model on its test clips again (generated from its config, the same clips as in training)."""
    import dataclasses

    from rnnkit.tasks.video.track_model import predict_boxes

    _, test = load_track_clips(dataclasses.replace(run.config, train_clips=1))
    boxes = predict_boxes(run.model(), test.frames, size=run.config.size)
    return track_report(boxes, test), _boxes_frame(test, boxes)
