"""The video commands: train (`rnnkit train --task video-classify`), `rnnkit predict RUN --clip clip.npy`,
`rnnkit evaluate RUN` of an action-recognition run, and `rnnkit demo video`."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from rnnkit.cli.commands import _run_training, _say, _verbose
from rnnkit.data import DataError
from rnnkit.tasks.video.config import VideoClassifyConfig
from rnnkit.training.distributed import is_rank_zero

__all__ = ["DEMO_VIDEO_CONFIG", "demo_video", "evaluate_video", "model_name", "predict_video", "results_table",
           "train_video_classify"]

#: the video demo: a ConvLSTM on 1050 training clips (docs/results.md, "Video: action recognition")
DEMO_VIDEO_CONFIG = VideoClassifyConfig(model="convlstm", train_clips=1050, test_clips=700, epochs=8)

_MODEL_NAMES = {"cnn-lstm": "CNN + LSTM", "convlstm": "CNN + ConvLSTM", "frame-cnn": "frame-averaged CNN"}


def model_name(config: Any) -> str:
    return _MODEL_NAMES[config.model]


def results_table(test: dict[str, Any], *, name: str) -> str:
    """Accuracy and per-class recall of the model and its baselines, then the model's confusion matrix."""
    classes = list(test["per_class"])
    rows = [(name, test["accuracy"], test["per_class"])]
    rows += [(entry["method"], entry["accuracy"], entry["per_class"]) for entry in test.get("baselines", {}).values()]
    width = max(24, *(len(r[0]) + 2 for r in rows))
    lines = [f"{'method':<{width}}{'accuracy':>9}  " + " ".join(f"{c[:8]:>8}" for c in classes) + "   (recall)"]
    for method, accuracy, per_class in rows:
        lines.append(f"{method:<{width}}{accuracy:>9.4f}  " + " ".join(f"{per_class[c]['recall']:>8.3f}" for c in classes))
    lines.append(f"\nconfusion matrix of the {name} (rows: true motion, columns: predicted):")
    lines.append(" " * 10 + "".join(f"{c[:8]:>9}" for c in classes))
    for c, row in zip(classes, test["confusion_matrix"]):
        lines.append(f"{c[:8]:<10}" + "".join(f"{v:>9d}" for v in row))
    return "\n".join(lines)


def train_video_classify(config: VideoClassifyConfig, args: argparse.Namespace, folder: Path) -> None:
    from rnnkit.tasks.video.classify import train_video_classifier
    from rnnkit.tasks.video.classify_run import save_video_classify_run

    start = time.perf_counter()
    result = train_video_classifier(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():
        save_video_classify_run(result, folder=folder)
    metrics, test = result.metrics, result.metrics["test"]
    stopped = (f", best epoch {metrics['best_epoch']} of {len(result.history.get('loss', []))}"
               if "best_epoch" in metrics else "")
    extras = (", occluding bar" if config.occlusion else "") + (", distractor digit" if config.n_digits == 2 else "")
    _say(args, f"\nmoving digits: {metrics['train_clips']} train + {metrics['val_clips']} validation / {test['samples']} "
               f"test clips of {config.frames} frames {config.size}x{config.size}{extras} (test digits unseen in "
               f"training); {model_name(config)} ({metrics['parameters']} weights) trained in "
               f"{metrics['train_seconds']:.0f}s{stopped} ({time.perf_counter() - start:.0f}s in all)\n")
    print(results_table(test, name=model_name(config)))
    _say(args, f"\nrun folder: {folder}  (model.rnnkit, metrics.json, confusion_matrix.png, test_predictions.csv, "
               f"loss.png, config.toml)")
    _say(args, f"label a clip: rnnkit predict {folder} --clip clip.npy   (frames (T, {config.size}, {config.size}) in "
               f"[0, 1], or a folder of PNG frames)")


def predict_video(run: Any, args: argparse.Namespace) -> int:
    """`rnnkit predict RUN --clip clip.npy [--clip frames/ ...]`: the motion in each clip."""
    from rnnkit.cli.commands import _write_csv
    from rnnkit.tasks.video.classify_run import label_clips, labels_frame

    if getattr(args, "data", None):
        raise DataError(f"--data: a video run labels clips given with --clip (a .npy (T, H, W) or a folder of PNG "
                        f"frames); drop --data (its test clips are scored by `rnnkit evaluate {run.path}`)")
    clips = getattr(args, "clip", None) or []
    if not clips:
        raise DataError(f"{run.path} is a video run: give the clip to label with --clip clip.npy (frames (T, H, W)) "
                        f"or --clip FOLDER of PNG frames")
    labels = label_clips(run, clips)
    for label in labels:
        print(f"{label.path}\t{label.motion}\t({label.confidence:.3f}, {label.frames} frames)")
    output = Path(args.output) if args.output else run.path / "predictions.csv"
    _write_csv(labels_frame(labels), output)
    _say(args, f"predictions written to {output}")
    return 0


def evaluate_video(run: Any, args: argparse.Namespace) -> int:
    """`rnnkit evaluate RUN` of a video run: its test clips again (regenerated from its config)."""
    from rnnkit.cli.commands import _write_csv
    from rnnkit.tasks.video.classify_run import evaluate_video_run

    if getattr(args, "data", None) not in (None, run.config.data):
        raise DataError(f"--data {args.data!r}: a video run is scored on its own generated test clips "
                        f"({run.config.data}); drop --data")
    report, frame = evaluate_video_run(run)
    _say(args, f"{run.path}: {model_name(run.config)} on the {report['samples']} test clips of its config\n")
    print(results_table(report, name=model_name(run.config)))
    if args.output:
        _write_csv(frame, Path(args.output))
        _say(args, f"predictions written to {args.output}")
    return 0


def demo_video(args: argparse.Namespace) -> int:
    """`rnnkit demo video`: a small action-recognition run beside the frame-averaged CNN."""
    from rnnkit.tasks.runs import start_run

    _say(args, "rnnkit demo video: a CNN + ConvLSTM watches 20-frame clips of handwritten digits (scikit-learn's 8x8\n"
               "digits) moving left, right, up, down, diagonally, in a zigzag or a circle, and names the motion of\n"
               "test clips whose digit images it never saw, beside the same CNN averaged over the frames (no\n"
               "recurrence, so blind to the order of the frames).\n")
    seed = getattr(args, "seed", None)
    config = DEMO_VIDEO_CONFIG if seed is None else dataclasses.replace(DEMO_VIDEO_CONFIG, seed=seed)
    start = time.perf_counter()
    _run_training("video-classify", config, args, start_run(getattr(args, "out", "runs"), task="video-classify",
                                                            config=config), resumed=False)
    _say(args, f"demo done in {(time.perf_counter() - start) / 60:.1f} min")
    return 0
