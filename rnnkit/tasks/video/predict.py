r"""Next-frame prediction on moving digits: `input_frames` frames in, the next `output_frames` out, by a ConvLSTM
encoder–forecaster, scored per future frame beside two baselines that need no training.

    >>> from rnnkit.tasks.video.predict import train_frame_predictor
    >>> result = train_frame_predictor(VideoPredictConfig(seed=0))
    >>> result.metrics["test"]["model"]["mse_per_frame"]        # 10 numbers, frame t+1 .. t+10

Baselines, from the last two observed frames x_T and x_{T-1} (per pixel, k = 1 .. T_out steps ahead):

    copy last frame         x̂_{T+k} = x_T
    linear extrapolation    x̂_{T+k} = clip(x_T + k (x_T - x_{T-1}), 0, 1)

and, as a floor that says how much of a score is trivial, the black frame x̂ = 0 (all background). MSE
is the mean over clips and pixels of (x̂ - x)², for each future frame and over all of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.tasks._config import ConfigError
from rnnkit.tasks.video.predict_config import TEST_SEED, VideoPredictConfig

__all__ = ["PredictResult", "baseline_predictions", "copy_last_frame", "linear_extrapolation", "load_clips",
           "mse_report", "per_frame_mse", "predict_clip", "save_predict_run", "train_frame_predictor"]

TASK = "video-predict"
EXAMPLES = 4  # test clips drawn in the PNG strip and the GIF


@dataclass(kw_only=True)
class PredictResult:
    config: VideoPredictConfig
    model: Any                      # the FramePredictor (what is saved)
    history: dict[str, list[float]]
    metrics: dict[str, Any]         # {"test": {"model": {...}, "copy_last_frame": {...}, ...}, ...}
    test_clips: np.ndarray          # (N, T_in + T_out, Y, X)
    test_predictions: np.ndarray    # (N, T_out, Y, X)


# --- baselines and scores ---------------------------------------------------------------------------------
def _check_inputs(inputs: np.ndarray, output_frames: int, *, need: int = 1) -> np.ndarray:
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim != 4 or inputs.shape[1] < need:
        raise ValueError(f"inputs must have shape (N, T_in >= {need}, Y, X); got {inputs.shape}")
    if isinstance(output_frames, bool) or not isinstance(output_frames, int) or output_frames < 1:
        raise ValueError(f"output_frames must be an int >= 1; got {output_frames!r}")
    return inputs


def copy_last_frame(inputs: np.ndarray, output_frames: int) -> np.ndarray:
    """x̂_{T+k} = x_T for k = 1 .. output_frames: (N, T_in, Y, X) -> (N, T_out, Y, X)."""
    inputs = _check_inputs(inputs, output_frames)
    return np.repeat(inputs[:, -1:], output_frames, axis=1)


def linear_extrapolation(inputs: np.ndarray, output_frames: int) -> np.ndarray:
    """x̂_{T+k} = clip(x_T + k (x_T - x_{T-1}), 0, 1), each pixel on its own: (N, T_in, Y, X) -> (N, T_out, Y, X)."""
    inputs = _check_inputs(inputs, output_frames, need=2)
    x_T, x_prev = inputs[:, -1:], inputs[:, -2:-1]                                   # (N, 1, Y, X)
    k = np.arange(1, output_frames + 1, dtype=np.float32)[None, :, None, None]       # (1, T_out, 1, 1)
    return np.clip(x_T + k * (x_T - x_prev), 0.0, 1.0)


def baseline_predictions(inputs: np.ndarray, output_frames: int) -> dict[str, np.ndarray]:
    return {"copy_last_frame": copy_last_frame(inputs, output_frames),
            "linear_extrapolation": linear_extrapolation(inputs, output_frames),
            "black_frame": np.zeros((len(inputs), output_frames, *np.shape(inputs)[2:]), np.float32)}


def per_frame_mse(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(T_out,) float64: the MSE of each future frame, over clips and pixels."""
    predictions, targets = np.asarray(predictions, np.float64), np.asarray(targets, np.float64)
    if predictions.shape != targets.shape or predictions.ndim != 4:
        raise ValueError(f"predictions and targets must both be (N, T_out, Y, X); got {predictions.shape} and "
                         f"{targets.shape}")
    return ((predictions - targets) ** 2).mean(axis=(0, 2, 3))


def mse_report(predictions: np.ndarray, targets: np.ndarray, inputs: np.ndarray) -> dict[str, Any]:
    """The model's MSE per future frame and overall, beside every baseline's, and the fraction of each baseline's
    MSE the model removes (`model_reduction`: 1 - MSE_model / MSE_baseline; 0.3 is "30 % below")."""
    scores = {"model": predictions, **baseline_predictions(inputs, targets.shape[1])}
    report: dict[str, Any] = {}
    for name, predicted in scores.items():
        per_frame = per_frame_mse(predicted, targets)
        report[name] = {"mse": float(per_frame.mean()), "mse_per_frame": [float(v) for v in per_frame]}
    model = np.array(report["model"]["mse_per_frame"])
    for name in ("copy_last_frame", "linear_extrapolation", "black_frame"):
        base = np.array(report[name]["mse_per_frame"])   # a reduction below a perfect (0) baseline is None
        report[name]["model_reduction"] = (float(1.0 - report["model"]["mse"] / report[name]["mse"])
                                           if report[name]["mse"] > 0 else None)
        report[name]["model_reduction_per_frame"] = [float(1.0 - m / b) if b > 0 else None for m, b in zip(model, base)]
    report["clips"] = int(len(targets))
    return report


# --- data -------------------------------------------------------------------------------------------------
def load_clips(config: VideoPredictConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train frames (N, T, Y, X), test frames (N_test, T, Y, X)), T = input_frames + output_frames."""
    from rnnkit.data.video.moving_digits import make_moving_digits

    options = dict(frames=config.input_frames + config.output_frames, size=config.size,
                   n_digits=config.n_digits, occlusion=config.occlusion)
    try:
        train = make_moving_digits(n_clips=config.train_clips, split="train", seed=config.seed, **options)
        test = make_moving_digits(n_clips=config.test_clips, split="test", seed=TEST_SEED, **options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"moving digits: {error}") from None
    return train.frames, test.frames


# --- training ---------------------------------------------------------------------------------------------
def build_frame_predictor(config: VideoPredictConfig) -> Any:
    from rnnkit.tasks.video.predict_model import FramePredictor

    return FramePredictor(frame_size=config.size, output_frames=config.output_frames,
                          patch_size=config.patch_size, hidden_channels=config.units, num_layers=config.layers,
                          kernel_size=config.kernel_size, loss=config.loss, conditional=config.conditional)


def train_frame_predictor(config: VideoPredictConfig, *, clips: tuple[np.ndarray, np.ndarray] | None = None,
                          verbose: int = 0, backup_dir: str | Path | None = None) -> PredictResult:
    """Train on the training clips (early stopping on the last `val_fraction` of them), score the test clips.

    clips: (train, test) frames (N, T_in + T_out, Y, X) to use instead of generating them (tests)."""
    import rnnkit
    from rnnkit.tasks import _model
    from rnnkit.tasks.video.predict_model import predict_frames

    config.check()
    train, test = clips if clips is not None else load_clips(config)
    T_in, T_out = config.input_frames, config.output_frames
    for name, frames in (("train", train), ("test", test)):
        expected = (T_in + T_out, config.size, config.size)
        if frames.ndim != 4 or frames.shape[1:] != expected:
            raise ConfigError(f"{name} clips must have shape (N, {', '.join(map(str, expected))}) (input_frames + "
                              f"output_frames, size, size); got {frames.shape}")
    rnnkit.set_seed(config.seed)
    n_val = round(config.val_fraction * len(train))
    fit_clips, val_clips = train[:len(train) - n_val], train[len(train) - n_val:]
    model = build_frame_predictor(config)
    model.start_from_mean(float(fit_clips[:, T_in:].mean()))
    validation = (val_clips[:, :T_in], val_clips[:, T_in:]) if n_val else None
    start = time.perf_counter()
    history = _model.train_model(model, fit_clips[:, :T_in], fit_clips[:, T_in:], loss="mse",
                                 learning_rate=config.learning_rate, epochs=config.epochs,
                                 batch_size=config.batch_size, patience=config.patience, seed=config.seed,
                                 validation=validation, verbose=verbose, backup_dir=backup_dir)
    seconds = time.perf_counter() - start
    predictions = predict_frames(model, test[:, :T_in])
    test_report = mse_report(predictions, test[:, T_in:], test[:, :T_in])
    metrics: dict[str, Any] = {"test": test_report, "train_clips": int(len(fit_clips)), "val_clips": int(n_val),
                               "parameters": int(model.count_params()), "train_seconds": round(seconds, 1)}
    metrics.update(_model.kept_epoch(history, config.patience))
    return PredictResult(config=config, model=model, history=history, metrics=metrics, test_clips=test,
                         test_predictions=predictions)


# --- the run folder ---------------------------------------------------------------------------------------
def save_predict_run(result: PredictResult, *, folder: Path) -> Path:
    """Write the model, metrics.json, mse_per_frame.csv, prediction_strip.png, prediction.gif and loss.png."""
    import pandas as pd

    from rnnkit.tasks.plots import plot_history
    from rnnkit.tasks.runs import finish_run
    from rnnkit.tasks.video.frames_io import write_gif, write_strip

    config, test = result.config, result.metrics["test"]
    state = {"input_frames": config.input_frames, "output_frames": config.output_frames,
             "size": config.size}
    metrics = {**result.metrics, "epochs_run": len(result.history.get("loss", []))}
    finish_run(folder, task=TASK, config=config, state=state, metrics=metrics, model=result.model)
    rows = {"frame": list(range(1, config.output_frames + 1))}
    rows.update({name: np.round(test[name]["mse_per_frame"], 6)
                 for name in ("model", "copy_last_frame", "linear_extrapolation", "black_frame")})
    pd.DataFrame(rows).to_csv(folder / "mse_per_frame.csv", index=False)
    T_in, shown = config.input_frames, result.test_clips[:EXAMPLES]
    write_strip(folder / "prediction_strip.png", shown[:, :T_in], shown[:, T_in:], result.test_predictions[:EXAMPLES])
    write_gif(folder / "prediction.gif", shown[:, :T_in], shown[:, T_in:], result.test_predictions[:EXAMPLES])
    if result.history.get("loss"):
        plot_history(folder / "loss.png", result.history)
    return folder


def predict_clip(run: Any, clip: np.ndarray) -> np.ndarray:
    """The next `output_frames` frames (T_out, Y, X) of a clip (T, Y, X) in [0, 1] from a video-predict run:
    the model reads the clip's last `input_frames` frames."""
    import rnnkit.tasks.video.predict_model  # noqa: F401  (registers FramePredictor for loading)
    from rnnkit.data import DataError
    from rnnkit.tasks.video.predict_model import predict_frames

    T_in, S = run.config.input_frames, run.config.size
    clip = np.asarray(clip, dtype=np.float32)
    if clip.ndim != 3 or clip.shape[0] < T_in or clip.shape[1:] != (S, S):
        raise DataError(f"the clip must have shape (T >= {T_in}, {S}, {S}) (the run reads {T_in} frames of "
                        f"{S}x{S}); got {clip.shape}")
    return predict_frames(run.model(), clip[None, -T_in:])[0]
