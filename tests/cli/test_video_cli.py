"""rnnkit train --task video-classify --data moving_digits, rnnkit predict RUN --clip, rnnkit evaluate, rnnkit demo
video, and their one-line exit-2 errors (tiny sizes: a few seconds)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.data.video import make_moving_digits

TINY = ["--train-clips", "28", "--test-clips", "14", "--frames", "6", "--filters", "4", "--units", "8", "--epochs", "1",
        "--batch-size", "8", "--threads", "1"]


@pytest.fixture(scope="module")
def video_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("video_runs")
    assert main(["train", "-q", "--data", "moving_digits", "--model", "convlstm", "--out", str(out), *TINY]) == 0
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory) -> dict[str, Path]:
    from PIL import Image

    root = tmp_path_factory.mktemp("clips")
    frames = make_moving_digits(n_clips=2, split="test", seed=4, frames=6).frames
    np.save(root / "clip.npy", frames[0])
    (root / "pngs").mkdir()
    for t, frame in enumerate(frames[1]):
        Image.fromarray((frame * 255).round().astype(np.uint8)).save(root / "pngs" / f"frame_{t:03d}.png")
    np.save(root / "batch.npy", frames)
    np.save(root / "small.npy", np.zeros((6, 28, 28), np.float32))
    (root / "notes.txt").write_text("not a clip")
    return {"root": root, "clip": root / "clip.npy", "pngs": root / "pngs", "batch": root / "batch.npy",
            "small": root / "small.npy", "notes": root / "notes.txt"}


def test_train_needs_no_task_for_moving_digits_and_writes_the_run_folder(video_run):
    state = json.loads((video_run / "run.json").read_text())
    assert state["task"] == "video-classify" and state["status"] == "done" and state["size"] == 32
    assert state["class_names"] == ["left", "right", "up", "down", "diagonal", "zigzag", "circle"]
    test = json.loads((video_run / "metrics.json").read_text())["test"]
    assert test["samples"] == 14 and np.asarray(test["confusion_matrix"]).shape == (7, 7)
    assert 0.0 <= test["baselines"]["frame_cnn"]["accuracy"] <= 1.0
    for name in ("model.rnnkit", "confusion_matrix.png", "test_predictions.csv", "config.toml"):
        assert (video_run / name).is_file(), name
    assert 'model = "convlstm"' in (video_run / "config.toml").read_text()


def test_predict_labels_a_npy_clip_and_a_folder_of_png_frames(video_run, clip_files, tmp_path, capsys):
    out = tmp_path / "labels.csv"
    assert main(["predict", str(video_run), "--clip", str(clip_files["clip"]), "--clip", str(clip_files["pngs"]),
                 "-o", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(str(clip_files["clip"])) and lines[1].startswith(str(clip_files["pngs"]))
    motions = [line.split("\t")[1] for line in lines[:2]]
    assert all(m in ("left", "right", "up", "down", "diagonal", "zigzag", "circle") for m in motions)
    header = out.read_text().splitlines()[0]
    assert header == "clip,frames,motion,confidence,p_left,p_right,p_up,p_down,p_diagonal,p_zigzag,p_circle"


def test_evaluate_scores_the_regenerated_test_clips_as_in_training(video_run, capsys):
    assert main(["evaluate", str(video_run)]) == 0
    printed = capsys.readouterr().out
    accuracy = json.loads((video_run / "metrics.json").read_text())["test"]["accuracy"]
    assert f"CNN + ConvLSTM{'':>10}{accuracy:>9.4f}" in printed and "confusion matrix" in printed


@pytest.mark.parametrize("argv, needle", [
    (["predict", "{run}", "--clip", "{batch}"], "save one clip (T, H, W) a file"),
    (["predict", "{run}", "--clip", "{small}"], "the run reads frames of 32x32 pixels"),
    (["predict", "{run}", "--clip", "{notes}"], "expected a .npy array (T, H, W) or a folder of PNG frames"),
    (["predict", "{run}", "--clip", "{root}/gone.npy"], "does not exist"),
    (["predict", "{run}", "--clip", "{root}"], "holds no .png frames"),
    (["predict", "{run}"], "give the clip to label with --clip"),
    (["predict", "{run}", "--data", "{clip}"], "drop --data"),
    (["predict", "{run}", "--text", "hello", "--clip", "{clip}"], "--text: not options of a video run"),
    (["evaluate", "{run}", "--data", "mnist"], "drop --data"),
    (["train", "--task", "video-classify", "--model", "gru"], "VideoClassifyConfig.model must be one of"),
    (["train", "--data", "moving_digits", "--size", "16"], "size must be in 24..256"),
    (["train", "--task", "video-classify", "--lookback", "3"], "--lookback is an option of --task forecast"),
    (["train", "--task", "video-classify", "--data", "mnist"], "data must be 'moving_digits'"),
    (["train", "--model", "convlstm"], "ForecastConfig.model must be one of lstm, gru, rnn"),
])
def test_errors_are_one_line_and_exit_2(video_run, clip_files, capsys, argv, needle):
    names = {"run": video_run, **clip_files}
    assert main([a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err, err


def test_video_predict_is_a_registered_task(capsys):
    assert main(["train", "--task", "video-predict", "--input-frames", "1"]) == 2
    assert "input_frames must be >= 2" in capsys.readouterr().err


def test_demo_video_runs_a_small_run_beside_the_baseline(tmp_path, capsys, monkeypatch):
    from rnnkit.cli import video_commands

    tiny = dataclasses.replace(video_commands.DEMO_VIDEO_CONFIG, train_clips=21, test_clips=7, frames=4, filters=2,
                               epochs=1, batch_size=8)
    monkeypatch.setattr(video_commands, "DEMO_VIDEO_CONFIG", tiny)
    assert main(["demo", "video", "--out", str(tmp_path), "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "CNN + ConvLSTM" in printed and "frame-averaged CNN (no recurrence)" in printed and "demo done in" in printed
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "run.json").read_text())["task"] == "video-classify"
