"""Next-frame prediction: `rnnkit train --task video-predict --data moving_digits` (a ConvLSTM encoder–forecaster
beside copy-last-frame and per-pixel linear extrapolation), and `rnnkit predict RUN --clip CLIP` with such a run
(CLIP: a `.npy` clip (T, H, W) or a folder of PNG frames)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rnnkit.cli.commands import _say, _verbose
from rnnkit.tasks.video.predict_config import VideoPredictConfig
from rnnkit.training.distributed import is_rank_zero

__all__ = ["mse_table", "predict_video_predict", "train_video_predict"]

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


def _save_npy(path: str, array: Any) -> None:
    import numpy as np

    with open(path, "wb") as file:  # a file object: np.save would append .npy to the temporary name
        np.save(file, array)


def predict_video_predict(run: Any, args: argparse.Namespace) -> int:
    """Predict the frames after a clip: writes them as `.npy` (T_out, H, W) (default: RUN/predicted_frames.npy)
    and, beside it, a PNG strip of the frames read and the frames predicted."""
    import numpy as np

    from rnnkit.data import DataError
    from rnnkit.saving._atomic import atomic_write
    from rnnkit.tasks.video.frames_io import read_clip, write_strip
    from rnnkit.tasks.video.predict import predict_clip

    given = getattr(args, "clip", None) or getattr(args, "data", None)   # --clip PATH (repeatable) or --data PATH
    paths = [given] if isinstance(given, str) else list(given or [])
    if len(paths) != 1:
        raise DataError(f"{run.path} is a next-frame prediction run; give one clip to continue with --clip: a .npy "
                        f"file (T, H, W) or a folder of PNG frames; got {len(paths)}")
    source = paths[0]
    clip = read_clip(source)
    predicted = predict_clip(run, clip)                                           # (T_out, H, W)
    output = Path(args.output) if getattr(args, "output", None) else run.path / "predicted_frames.npy"
    if output.suffix.lower() != ".npy":
        raise DataError(f"--output {str(output)!r}: a video-predict run writes frames as a .npy file; e.g. "
                        f"--output {str(output.with_suffix('.npy'))!r}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(output, lambda temp: _save_npy(temp, predicted))
    except OSError as error:
        raise DataError(f"--output {str(output)!r}: cannot write there ({error.strerror or error}); choose a "
                        f"writable path") from None
    T_in = run.config.input_frames
    strip = write_strip(output.with_suffix(".png"), clip[None, -T_in:], None, predicted[None])
    _say(args, f"{run.path}: read the last {T_in} of {len(clip)} frames of {source}, predicted {len(predicted)}")
    _say(args, f"predicted frames written to {output} (shape {predicted.shape}); strip: {strip}")
    return 0
