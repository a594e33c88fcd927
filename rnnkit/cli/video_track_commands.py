"""Object tracking: `rnnkit train --task track --data moving_digits` (a CNN + LSTM box regressor beside a detector
+ constant-velocity tracker), `rnnkit predict RUN --clip CLIP` (the digit's box in every frame of a `.npy` clip
(T, H, W) or a folder of PNG frames) and `rnnkit evaluate RUN` of such a run."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rnnkit.cli.commands import _say, _verbose, _write_csv
from rnnkit.data import DataError
from rnnkit.tasks.video.track_config import TrackConfig
from rnnkit.training.distributed import is_rank_zero

__all__ = ["evaluate_track", "iou_table", "predict_track", "train_track"]

METHODS = (("model", "CNN + LSTM box regressor"), ("detector_tracker", "detector + constant velocity"),
           ("constant_velocity_true_visible", "constant velocity from the true visible boxes"))


def iou_table(test: dict[str, Any]) -> str:
    """Mean IoU over all, visible and hidden frames, a row per method (n/a: not scored there)."""
    def cell(value: Any) -> str:
        return f"{value:>10.4f}" if isinstance(value, float) else f"{'n/a':>10}"

    lines = [f"{'mean IoU':<48}{'all':>10}{'visible':>10}{'hidden':>10}"]
    for key, name in METHODS:
        entry = test[key]
        lines.append(f"{name:<48}{cell(entry.get('iou'))}{cell(entry.get('iou_visible'))}{cell(entry.get('iou_hidden'))}")
    model = test["model"]
    lines.append(f"({model['frames']} test frames, {model['hidden_frames']} of them with the digit hidden by the bar; "
                 f"the oracle is exact where the digit is visible, so only its hidden frames count)")
    return "\n".join(lines)


def train_track(config: TrackConfig, args: argparse.Namespace, folder: Path) -> None:
    from rnnkit.tasks.video.track import save_track_run, train_tracker

    start = time.perf_counter()
    result = train_tracker(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():
        save_track_run(result, folder=folder)
    metrics, test = result.metrics, result.metrics["test"]
    stopped = (f", best epoch {metrics['best_epoch']} of {len(result.history.get('loss', []))}"
               if "best_epoch" in metrics else "")
    extras = (", occluding bar" if config.occlusion else "") + (", distractor digit" if config.n_digits == 2 else "")
    _say(args, f"\nmoving digits: {metrics['train_clips']} train + {metrics['val_clips']} validation / {test['clips']} "
               f"test clips of {config.frames} frames {config.size}x{config.size}{extras}; {metrics['parameters']} "
               f"weights trained in {metrics['train_seconds']:.0f}s{stopped} ({time.perf_counter() - start:.0f}s in "
               f"all)\n")
    print(iou_table(test))
    _say(args, f"\nrun folder: {folder}  (model.rnnkit, metrics.json, test_boxes.csv, tracking_strip.png, loss.png, "
               f"config.toml)")
    _say(args, f"track a clip: rnnkit predict {folder} --clip clip.npy   (frames (T, {config.size}, {config.size}) "
               f"in [0, 1], or a folder of PNG frames)")


def predict_track(run: Any, args: argparse.Namespace) -> int:
    """`rnnkit predict RUN --clip clip.npy [--clip frames/ ...]`: the box in every frame of each clip, as a CSV
    (default RUN/predictions.csv) and a PNG strip of the frames with the boxes drawn beside it."""
    import numpy as np
    import pandas as pd

    from rnnkit.tasks.video.data import read_clip
    from rnnkit.tasks.video.frames_io import write_box_strip
    from rnnkit.tasks.video.track import track_clip

    if getattr(args, "data", None):
        raise DataError(f"--data: a track run boxes clips given with --clip (a .npy (T, H, W) or a folder of PNG "
                        f"frames); drop --data (its test clips are scored by `rnnkit evaluate {run.path}`)")
    paths = getattr(args, "clip", None) or []
    if not paths:
        raise DataError(f"{run.path} is a track run: give the clip to track with --clip clip.npy (frames (T, H, W)) "
                        f"or --clip FOLDER of PNG frames")
    clips = [read_clip(path, size=run.config.size)[..., 0] for path in paths]       # (T_i, S, S) each
    rows = []
    for path, clip in zip(paths, clips):
        boxes = track_clip(run, clip)                                               # (T_i, 4)
        rows += [{"clip": str(path), "frame": t, "y0": round(float(b[0]), 2), "x0": round(float(b[1]), 2),
                  "y1": round(float(b[2]), 2), "x1": round(float(b[3]), 2)} for t, b in enumerate(boxes)]
        if not getattr(args, "quiet", False):
            first_box, last_box = (", ".join(f"{v:.1f}" for v in box) for box in (boxes[0], boxes[-1]))
            print(f"{path}\t{len(clip)} frames\tfirst box ({first_box})\tlast box ({last_box})")
    output = Path(args.output) if args.output else run.path / "predictions.csv"
    _write_csv(pd.DataFrame(rows), output)
    strip = output.with_suffix(".png")
    first = clips[0]
    boxes = np.array([[r["y0"], r["x0"], r["y1"], r["x1"]] for r in rows[:len(first)]])[None]
    write_box_strip(strip, first[None], None, boxes)
    _say(args, f"boxes (y0, x0, y1, x1; half-open pixels) written to {output}; the first clip with its boxes: {strip}")
    return 0


def evaluate_track(run: Any, args: argparse.Namespace) -> int:
    """`rnnkit evaluate RUN` of a track run: its test clips again (regenerated from its config)."""
    from rnnkit.tasks.video.track import evaluate_track_run

    if getattr(args, "data", None) not in (None, run.config.data):
        raise DataError(f"--data {args.data!r}: a track run is scored on its own generated test clips "
                        f"({run.config.data}); drop --data")
    report, frame = evaluate_track_run(run)
    _say(args, f"{run.path}: CNN + LSTM tracker on the {report['clips']} test clips of its config\n")
    print(iou_table(report))
    if args.output:
        _write_csv(frame, Path(args.output))
        _say(args, f"boxes written to {args.output}")
    return 0
