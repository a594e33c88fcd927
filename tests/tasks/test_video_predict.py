"""Next-frame prediction (issue 14): the baselines on hand-made clips, the encoder–forecaster's shapes and range,
save -> load -> identical predictions, the run folder (PNG strip, GIF), config errors, and the CLI end to end."""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.cli.video_predict_commands import predict_video_predict
from rnnkit.tasks._config import ConfigError, config_from_dict
from rnnkit.tasks.video.frames_io import read_clip, strip_image, write_gif, write_strip
from rnnkit.tasks.video.predict import (copy_last_frame, linear_extrapolation, mse_report, per_frame_mse,
                                        predict_clip, save_predict_run, train_frame_predictor)
from rnnkit.tasks.video.predict_config import VideoPredictConfig
from rnnkit.tasks.video.predict_model import FramePredictor, predict_frames

#: a model that trains in well under a second on 8 x 8 frames
TINY_MODEL = dict(frame_size=8, output_frames=3, patch_size=2, hidden_channels=4, num_layers=1)
TINY = VideoPredictConfig(train_clips=12, test_clips=5, val_fraction=0.25, input_frames=4, output_frames=3,
                          size=8, patch_size=2, units=4, layers=1, epochs=2, batch_size=4, patience=0)


def _clips(n: int, seed: int, frames: int = 7, size: int = 8) -> np.ndarray:
    """A bright 2 x 2 square moving one pixel right a frame from the left edge, in a random row."""
    rng = np.random.default_rng(seed)
    clips = np.zeros((n, frames, size, size), np.float32)
    for i in range(n):
        y = rng.integers(0, size - 1)
        for t in range(frames):
            clips[i, t, y:y + 2, t:t + 2] = 1.0
    return clips


# --- baselines ----------------------------------------------------------------------------------------------
def test_the_baselines_on_a_hand_made_clip():
    # one clip of 3 frames of 1 x 3 pixels: pixel 0 rises 0.1 a frame, pixel 1 falls 0.3, pixel 2 is still
    clip = np.array([[[[0.1, 0.9, 0.4]]], [[[0.2, 0.6, 0.4]]], [[[0.3, 0.3, 0.4]]]], np.float32).reshape(1, 3, 1, 3)
    copied = copy_last_frame(clip, 3)
    assert copied.shape == (1, 3, 1, 3)
    np.testing.assert_array_equal(copied[0, :, 0], np.tile(np.float32([0.3, 0.3, 0.4]), (3, 1)))
    linear = linear_extrapolation(clip, 3)
    np.testing.assert_allclose(linear[0, :, 0], [[0.4, 0.0, 0.4], [0.5, 0.0, 0.4], [0.6, 0.0, 0.4]], atol=1e-6)
    big_step = np.array([0.5, 0.8], np.float32).reshape(1, 2, 1, 1)                    # +0.3 a frame
    np.testing.assert_allclose(linear_extrapolation(big_step, 3).ravel(), [1.0, 1.0, 1.0])  # clipped at 1
    assert linear_extrapolation(np.array([0.6, 0.5], np.float32).reshape(1, 2, 1, 1), 3).ravel()[2] == \
        pytest.approx(0.2)


def test_per_frame_mse_and_the_report_by_hand():
    targets = np.zeros((2, 2, 1, 2), np.float32)
    predictions = targets.copy()
    predictions[0, 0] = 1.0          # frame 1: one clip wrong on both pixels -> (1 + 1) / 4 = 0.5
    predictions[1, 1, 0, 0] = 0.5    # frame 2: one pixel off by 0.5 -> 0.25 / 4
    np.testing.assert_allclose(per_frame_mse(predictions, targets), [0.5, 0.0625])
    inputs = np.ones((2, 2, 1, 2), np.float32)         # copy-last predicts 1 everywhere: MSE 1 per frame
    report = mse_report(predictions, targets, inputs)
    assert report["model"]["mse"] == pytest.approx(0.28125)
    assert report["copy_last_frame"]["mse_per_frame"] == [1.0, 1.0]
    assert report["copy_last_frame"]["model_reduction"] == pytest.approx(1 - 0.28125)
    assert report["black_frame"]["mse"] == 0.0 and report["clips"] == 2
    with pytest.raises(ValueError, match="must both be"):
        per_frame_mse(predictions[:, :1], targets)
    with pytest.raises(ValueError, match="T_in >= 2"):
        linear_extrapolation(inputs[:, :1], 2)


# --- the model ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("conditional", [False, True])
def test_the_model_predicts_frames_in_0_1_of_the_right_shape(conditional):
    rnnkit.set_seed(0)
    model = FramePredictor(**TINY_MODEL, conditional=conditional)
    x = torch.rand(2, 4, 8, 8)
    y = model(x)
    assert y.shape == (2, 3, 8, 8)
    assert float(y.detach().min()) >= 0.0 and float(y.detach().max()) <= 1.0
    alone = model(x[1:])                                  # a clip's prediction does not depend on its batch
    torch.testing.assert_close(alone[0], y[1], rtol=1e-5, atol=1e-6)
    y.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.encoder.parameters())


def test_the_model_names_a_wrong_input_shape_and_bad_options():
    model = FramePredictor(**TINY_MODEL)
    with pytest.raises(ValueError, match=r"\(B, T_in, 8, 8\).*got \(4, 8, 8\)"):
        model(torch.rand(4, 8, 8))
    with pytest.raises(ValueError, match="patch_size=3 must divide frame_size=8"):
        FramePredictor(frame_size=8, patch_size=3)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        FramePredictor(kernel_size=4)
    with pytest.raises(ValueError, match="loss must be one of bce, mse"):
        FramePredictor(loss="l1")


@pytest.mark.parametrize("conditional", [False, True])
def test_save_load_gives_identical_predictions(tmp_path, conditional):
    rnnkit.set_seed(1)
    clips = _clips(8, seed=1)
    model = FramePredictor(**TINY_MODEL, conditional=conditional)
    model.compile(optimizer="adam", loss="mse", learning_rate=1e-2)
    model.fit(clips[:, :4], clips[:, 4:], epochs=1, batch_size=4, verbose=0)
    before = predict_frames(model, clips[:, :4])
    model.save(tmp_path / "model.rnnkit")
    loaded = rnnkit.load_model(tmp_path / "model.rnnkit")
    assert type(loaded) is FramePredictor and loaded.conditional is conditional
    np.testing.assert_array_equal(predict_frames(loaded, clips[:, :4]), before)


def test_training_beats_copying_on_a_square_that_moves_right():
    # the motion is the same in every clip, so even a tiny model learns it in seconds; copy-last cannot
    config = dataclasses.replace(TINY, train_clips=96, epochs=12, learning_rate=1e-2, units=8, conditional=True)
    result = train_frame_predictor(config, clips=(_clips(96, seed=2), _clips(16, seed=3)))
    test = result.metrics["test"]
    assert test["model"]["mse"] < 0.5 * test["copy_last_frame"]["mse"]
    assert test["model"]["mse"] < test["linear_extrapolation"]["mse"]
    assert test["model"]["mse"] < test["black_frame"]["mse"]
    assert result.test_predictions.shape == (16, 3, 8, 8)


# --- the run folder -----------------------------------------------------------------------------------------
def test_a_run_folder_holds_the_strip_the_gif_and_predicts_as_trained(tmp_path):
    from PIL import Image

    from rnnkit.tasks.runs import open_run, start_run

    result = train_frame_predictor(TINY, clips=(_clips(12, seed=4), _clips(5, seed=5)))
    folder = save_predict_run(result, folder=start_run(tmp_path, task="video-predict", config=TINY))
    metrics = json.loads((folder / "metrics.json").read_text())
    assert len(metrics["test"]["model"]["mse_per_frame"]) == 3
    assert set(metrics["test"]) >= {"copy_last_frame", "linear_extrapolation", "black_frame"}
    assert (folder / "mse_per_frame.csv").read_text().splitlines()[0] == \
        "frame,model,copy_last_frame,linear_extrapolation,black_frame"
    with Image.open(folder / "prediction.gif") as gif:
        assert gif.n_frames == 4 + 3
    with Image.open(folder / "prediction_strip.png") as strip:
        assert strip.mode == "L"
    run = open_run(folder)
    assert run.task == "video-predict" and run.config == TINY
    trained = predict_frames(result.model, result.test_clips[:1, :4])[0]          # the same clip, batched alone
    np.testing.assert_array_equal(predict_clip(run, result.test_clips[0, :4]), trained)
    with pytest.raises(rnnkit.data.DataError, match=r"shape \(T >= 4, 8, 8\)"):
        predict_clip(run, np.zeros((3, 8, 8), np.float32))
    # what `rnnkit predict RUN` does with a clip file: the frames as .npy and a strip of input | prediction
    np.save(tmp_path / "clip.npy", result.test_clips[0])          # 7 frames: the run reads the last 4
    args = argparse.Namespace(quiet=True, clip=[str(tmp_path / "clip.npy")], output=str(tmp_path / "out" / "next.npy"))
    assert predict_video_predict(run, args) == 0
    expected = predict_frames(result.model, result.test_clips[:1, 3:])[0]
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "next.npy"), expected)
    assert (tmp_path / "out" / "next.png").is_file()
    with pytest.raises(rnnkit.data.DataError, match="writes frames as a .npy file"):
        predict_video_predict(run, argparse.Namespace(quiet=True, data=args.clip[0], output=str(tmp_path / "p.csv")))
    with pytest.raises(rnnkit.data.DataError, match="give one clip"):
        predict_video_predict(run, argparse.Namespace(quiet=True, clip=[args.clip[0]] * 2, output=None))


def test_the_strip_shows_input_truth_and_prediction_rows():
    inputs, truth = np.zeros((1, 2, 4, 4)), np.ones((1, 3, 4, 4))
    predictions = np.full((1, 3, 4, 4), 0.5)
    image = strip_image(inputs, truth, predictions, scale=1)
    x0 = 64  # the label margin
    assert image[0, x0] == 0 and image[6, x0] == 255 and image[12, x0] == 128   # rows of 4 px + a 2 px gap
    assert image[12, x0 + 2 * 6] == 128                                           # the third predicted frame
    with pytest.raises(ValueError, match="same N, Y, X"):
        strip_image(inputs, truth, predictions[:, :2])
    unknown_future = strip_image(inputs, None, predictions, scale=1)              # rows: input, prediction
    assert unknown_future.shape[0] == 2 * 6 + 4 and unknown_future[6, x0] == 128


def test_clips_read_back_from_npy_and_png_frames(tmp_path):
    clip = _clips(1, seed=6)[0] * 0.5
    np.save(tmp_path / "clip.npy", clip)
    np.testing.assert_array_equal(read_clip(tmp_path / "clip.npy"), clip)
    write_strip(tmp_path / "s.png", clip[None, :4], clip[None, 4:], clip[None, 4:])
    write_gif(tmp_path / "g.gif", clip[None, :4], clip[None, 4:], clip[None, 4:])
    from PIL import Image

    (tmp_path / "frames").mkdir()
    for t, frame in enumerate(clip):
        Image.fromarray((frame * 255).round().astype(np.uint8), mode="L").save(tmp_path / "frames" / f"{t:03d}.png")
    np.testing.assert_allclose(read_clip(tmp_path / "frames"), clip, atol=1 / 255)
    np.save(tmp_path / "bad.npy", clip[0])
    with pytest.raises(rnnkit.data.DataError, match=r"shape \(T, H, W\); got \(8, 8\)"):
        read_clip(tmp_path / "bad.npy")


# --- the config -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, needle", [
    (dict(kernel_size=4), "kernel_size must be odd"),
    (dict(patch_size=3), "patch_size must divide size=32"),
    (dict(input_frames=1), "input_frames must be >= 2"),
    (dict(data="mnist"), "data must be 'moving_digits'"),
    (dict(n_digits=3), "n_digits must be 1 or 2"),
    (dict(units=0), "units must be >= 1"),
    (dict(val_fraction=1.0), r"val_fraction must be in \[0, 1\)"),
    (dict(train_clips=3, val_fraction=0.1), "leaves no validation"),
    (dict(learning_rate=0.0), "learning_rate must be > 0"),
])
def test_config_errors_name_the_key(change, needle):
    with pytest.raises(ConfigError, match=needle):
        dataclasses.replace(VideoPredictConfig(), **change).check()


def test_config_from_dict_refuses_unknown_keys_and_wrong_types():
    with pytest.raises(ConfigError, match="unknown key 'frames'"):
        config_from_dict(VideoPredictConfig, {"frames": 20})
    with pytest.raises(ConfigError, match="VideoPredictConfig.loss must be one of bce, mse"):
        config_from_dict(VideoPredictConfig, {"loss": "l1"})
    with pytest.raises(ConfigError, match="VideoPredictConfig.occlusion must be true or false"):
        config_from_dict(VideoPredictConfig, {"occlusion": "yes"})
    assert config_from_dict(VideoPredictConfig, {"units": 8}).units == 8


def test_the_generator_s_limits_come_back_as_config_errors():
    with pytest.raises(ConfigError, match="moving digits: .*size"):
        train_frame_predictor(dataclasses.replace(TINY, size=8))


# --- the CLI ------------------------------------------------------------------------------------------------
def test_rnnkit_train_task_video_predict_end_to_end(tmp_path, capsys):
    from rnnkit.cli import main

    argv = ["train", "--task", "video-predict", "--data", "moving_digits", "--train-clips", "14", "--test-clips", "7",
            "--val-fraction", "0.15", "--size", "24", "--input-frames", "4", "--output-frames", "3", "--units", "4",
            "--layers", "1", "--epochs", "1", "--out", str(tmp_path), "--threads", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "copy last frame" in out and "linear extrapolation (per pixel)" in out and "t+3" in out
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    written = {p.name for p in folder.iterdir()}
    assert {"model.rnnkit", "metrics.json", "prediction_strip.png", "prediction.gif"} <= written
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["test"]["clips"] == 7 and metrics["train_clips"] == 12 and metrics["val_clips"] == 2
    assert json.loads((folder / "run.json").read_text())["status"] == "done"


def test_rnnkit_train_refuses_a_bad_video_predict_option_in_one_line(tmp_path, capsys):
    from rnnkit.cli import main

    code = main(["train", "--task", "video-predict", "--kernel-size", "4", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "kernel_size must be odd" in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())                               # no run folder left behind
