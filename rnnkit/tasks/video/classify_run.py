"""Save an action-recognition run to its folder; label a user's clip with it; score it again.

run.json holds what a clip must look like (`frames` the run was trained on, `size`, one grey channel) and
the `class_names`, so a run folder alone labels a `.npy` clip (T, H, W) or a folder of PNG frames:

    >>> run = open_run("runs/video-classify-moving_digits-...")
    >>> label_clips(run, ["clip.npy"])           # [ClipLabel(path="clip.npy", motion="circle", confidence=0.99, ...)]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data import DataError
from rnnkit.tasks.classify.pipeline import classification_report
from rnnkit.tasks.classify.plots import plot_confusion_matrix
from rnnkit.tasks.plots import plot_history
from rnnkit.tasks.runs import RunFolder, finish_run, start_run
from rnnkit.tasks.video.classify import VideoClassifyResult
from rnnkit.tasks.video.data import load_clips, read_clip
from rnnkit.tasks.video.models import predict_clips

__all__ = ["ClipLabel", "TASK", "evaluate_video_run", "label_clips", "labels_frame", "save_video_classify_run"]

TASK = "video-classify"


@dataclass(frozen=True, kw_only=True)
class ClipLabel:
    path: str
    frames: int
    motion: str                     # the most probable motion
    confidence: float               # its probability
    probabilities: dict[str, float]


def save_video_classify_run(result: VideoClassifyResult, out: str | Path | None = None, *,
                            folder: Path | None = None) -> Path:
    """Write the run's results into `folder` (made by `start_run` before training), or a new run folder under `out`."""
    if folder is None:
        if out is None:
            raise TypeError("save_video_classify_run: pass out= (a folder for run folders) or folder= (a started run)")
        folder = start_run(out, task=TASK, config=result.config)
    config, test_clips, names = result.config, result.data.test, list(result.data.class_names)
    state = {"class_names": names, "frames": config.frames, "size": config.size, "channels": 1}
    metrics = {**result.metrics, "epochs_run": len(result.history.get("loss", []))}
    finish_run(folder, task=TASK, config=config, state=state, metrics=metrics, model=result.model)
    predicted = result.test_probabilities.argmax(axis=1)
    pd.DataFrame({"clip": np.arange(len(test_clips)), "actual": np.array(names)[test_clips.motion],
                  "predicted": np.array(names)[predicted], "confidence": result.test_probabilities.max(axis=1).round(4),
                  "digit": test_clips.digit}).to_csv(folder / "test_predictions.csv", index=False)
    test = result.metrics["test"]
    plot_confusion_matrix(folder / "confusion_matrix.png", confusion=np.asarray(test["confusion_matrix"]),
                          class_names=tuple(names), title=f"moving digits, {config.model}\ntest accuracy "
                                                          f"{test['accuracy']:.4f} ({test['samples']} clips)")
    if result.history.get("loss"):
        plot_history(folder / "loss.png", result.history)
    return folder


def _clip_shape(run: RunFolder) -> tuple[int, list[str]]:
    size, names = run.state.get("size"), run.state.get("class_names")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or not isinstance(names, list) or \
            len(names) < 2 or not all(isinstance(n, str) for n in names):
        raise DataError(f"{run.path / 'run.json'}: 'size' must be an int and 'class_names' a list of names; got "
                        f"{size!r:.40} and {names!r:.80}; the run folder looks edited or damaged: train again")
    return size, names


def label_clips(run: RunFolder, paths: Sequence[str | Path]) -> list[ClipLabel]:
    """The motion in each clip (a `.npy` (T, H, W) or a folder of PNG frames), with its probabilities."""
    if not paths:
        raise DataError("predict: give a clip with --clip (a .npy array (T, H, W) or a folder of PNG frames)")
    size, names = _clip_shape(run)
    clips = [read_clip(path, size=size) for path in paths]                    # (T_i, size, size, 1) each
    model = run.model()
    probabilities = predict_clips(model, clips)
    if probabilities.shape[1] != len(names):
        raise DataError(f"{run.path / 'run.json'}: names {len(names)} classes but the model has "
                        f"{probabilities.shape[1]} outputs; the run folder looks edited or damaged: train again")
    return [ClipLabel(path=str(path), frames=len(clip), motion=names[int(row.argmax())], confidence=float(row.max()),
                      probabilities={n: float(p) for n, p in zip(names, row)})
            for path, clip, row in zip(paths, clips, probabilities)]


def labels_frame(labels: Sequence[ClipLabel]) -> pd.DataFrame:
    rows = [{"clip": label.path, "frames": label.frames, "motion": label.motion,
             "confidence": round(label.confidence, 4), **{f"p_{k}": round(v, 4) for k, v in label.probabilities.items()}}
            for label in labels]
    return pd.DataFrame(rows)


def evaluate_video_run(run: RunFolder) -> tuple[dict[str, Any], pd.DataFrame]:
    """Score the run's model on its test clips again (generated from its config, the same clips as in training)."""
    _, names = _clip_shape(run)
    test = load_clips(dataclasses.replace(run.config, train_clips=1)).test
    probabilities = predict_clips(run.model(), test.frames[..., None])
    predicted = probabilities.argmax(axis=1)
    report = classification_report(test.motion, predicted, tuple(names))
    frame = pd.DataFrame({"clip": np.arange(len(test)), "actual": np.array(names)[test.motion],
                          "predicted": np.array(names)[predicted], "confidence": probabilities.max(axis=1).round(4)})
    return report, frame
