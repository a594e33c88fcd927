"""Next-frame prediction: `rnnkit train --task video-predict --data moving_digits` (a ConvLSTM encoder–forecaster
beside copy-last-frame and per-pixel linear extrapolation)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rnnkit.cli.commands import _say, _verbose
from rnnkit.tasks.video.predict_config import VideoPredictConfig
from rnnkit.training.distributed import is_rank_zero

__all__ = ["mse_table", "train_video_predict"]

METHODS = (("model", "ConvLSTM encoder-forecaster"), ("copy_last_frame", "copy last frame"),
           ("linear_extrapolation", "linear extrapolation (per pixel)"), ("black_frame", "black frame (all 0)"))


def mse_table(test: dict) -> str:
    """MSE per future frame (t+1 ..) and overall, a row per method."""
    frames = len(test["model"]["mse_per_frame"])
    lines = [f"{'MSE':<34}{'all':>8}  " + "".join(f"{f't+{k}':>7}" for k in range(1, frames + 1))]
    for key, name in METHODS:
        entry = test[key]
        lines.append(f"{name:<34}{entry['mse']:>8.4f}  " + "".join(f"{v:>7.4f}" for v in entry["mse_per_frame"]))
    return "\n".join(lines)


def train_video_predict(config: VideoPredictConfig, args: argparse.Namespace, folder: Path) -> None:
    from rnnkit.tasks.video.predict import save_predict_run, train_frame_predictor

    start = time.perf_counter()
    result = train_frame_predictor(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():
        save_predict_run(result, folder=folder)
    metrics, test = result.metrics, result.metrics["test"]
    stopped = (f", best epoch {metrics['best_epoch']} of {len(result.history.get('loss', []))}"
               if "best_epoch" in metrics else "")
    _say(args, f"\nmoving digits: {metrics['train_clips']} train + {metrics['val_clips']} validation / {test['clips']} "
               f"test clips; {config.input_frames} frames in, {config.output_frames} out; {metrics['parameters']} "
               f"parameters trained in {metrics['train_seconds']:.0f}s{stopped} ({time.perf_counter() - start:.0f}s "
               f"in all)\n")
    print(mse_table(test))
    _say(args, f"\nMSE below copy-last-frame by {100 * test['copy_last_frame']['model_reduction']:.1f} %, below "
               f"linear extrapolation by {100 * test['linear_extrapolation']['model_reduction']:.1f} %")
    _say(args, f"\nrun folder: {folder}  (model.rnnkit, metrics.json, mse_per_frame.csv, prediction_strip.png, "
               f"prediction.gif, loss.png, config.toml)")
    _say(args, f"repeat it:  rnnkit train --config {folder / 'config.toml'}")
