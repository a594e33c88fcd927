"""Action recognition on moving digits: the models, clips of different lengths, reading clips, the pipeline and
its run folder (save -> load -> identical predictions)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.data import DataError
from rnnkit.data.video import make_moving_digits
from rnnkit.tasks.config import ConfigError, VideoClassifyConfig, config_from_dict
from rnnkit.tasks.video.data import read_clip
from rnnkit.tasks.video.models import build_video_model, predict_clips

TINY = VideoClassifyConfig(train_clips=28, test_clips=14, frames=6, filters=4, units=8, epochs=1, batch_size=8,
                           baseline="none")


@pytest.fixture(scope="module")
def clips():
    return make_moving_digits(n_clips=4, split="test", seed=1, frames=6).frames[..., None]      # (4, 6, 32, 32, 1)


@pytest.mark.parametrize("kind", ["cnn-lstm", "convlstm", "frame-cnn"])
def test_each_model_maps_clips_to_class_probabilities(kind, clips):
    rnnkit.set_seed(0)
    model = build_video_model(TINY, frames=6, size=32, classes=7, kind=kind)
    probabilities = predict_clips(model, clips)
    assert probabilities.shape == (4, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_only_the_recurrent_models_see_the_order_of_the_frames(clips):
    backwards = np.ascontiguousarray(clips[:, ::-1])
    rnnkit.set_seed(0)
    frame_cnn = build_video_model(TINY, frames=6, size=32, classes=7, kind="frame-cnn")
    np.testing.assert_allclose(predict_clips(frame_cnn, clips), predict_clips(frame_cnn, backwards), atol=1e-6)
    for kind in ("cnn-lstm", "convlstm"):
        rnnkit.set_seed(0)
        model = build_video_model(TINY, frames=6, size=32, classes=7, kind=kind)
        assert np.abs(predict_clips(model, clips) - predict_clips(model, backwards)).max() > 1e-5


@pytest.mark.parametrize("kind", ["cnn-lstm", "convlstm"])
def test_a_padded_batch_of_clips_of_different_lengths_equals_each_clip_alone(kind, clips):
    rnnkit.set_seed(0)
    model = build_video_model(TINY, frames=6, size=32, classes=7, kind=kind)
    model.eval()
    lengths = torch.tensor([6, 3, 5, 2])
    padded = torch.from_numpy(clips.copy())
    for row, length in enumerate(lengths):
        padded[row, length:] = 7.0                                   # garbage past each clip's end
    with torch.no_grad():
        together = model(padded, lengths=lengths)
        alone = [model(torch.from_numpy(clips[row:row + 1, :length])) for row, length in enumerate(lengths)]
    torch.testing.assert_close(together, torch.cat(alone), atol=1e-5, rtol=1e-5)
    assert predict_clips(model, [clips[row, :length] for row, length in enumerate(lengths)]).shape == (4, 7)


def test_config_errors_name_the_key():
    for values, needle in [({"data": "mnist"}, "data must be 'moving_digits'"), ({"size": 16}, "size must be in 24..256"),
                           ({"n_digits": 3}, "n_digits must be 1 or 2"), ({"model": "gru"}, "must be one of cnn-lstm"),
                           ({"train_clips": 0}, "train_clips must be >= 1"), ({"filters": 1}, "filters must be >= 2"),
                           ({"frames": 1}, "frames must be in 2..1000"), ({"baseline": "dtw"}, "frame-cnn, none")]:
        with pytest.raises(ConfigError, match=needle):
            config_from_dict(VideoClassifyConfig, values)


def test_read_clip_accepts_npy_and_png_frames_and_names_what_is_wrong(tmp_path):
    from PIL import Image

    frames = make_moving_digits(n_clips=1, frames=5, seed=2).frames[0]               # (5, 32, 32)
    np.save(tmp_path / "clip.npy", frames)
    np.testing.assert_array_equal(read_clip(tmp_path / "clip.npy", size=32)[..., 0], frames)
    np.save(tmp_path / "bytes.npy", (frames * 255).round().astype(np.uint8))
    np.testing.assert_allclose(read_clip(tmp_path / "bytes.npy", size=32)[..., 0], frames, atol=0.5 / 255 + 1e-6)
    (tmp_path / "pngs").mkdir()
    for index, name in enumerate(("f0", "f1", "f2", "f3", "f10")):            # natural order: f3 before f10
        Image.fromarray((frames[index] * 255).round().astype(np.uint8)).save(tmp_path / "pngs" / f"{name}.png")
    np.testing.assert_allclose(read_clip(tmp_path / "pngs", size=32)[..., 0], frames, atol=0.5 / 255 + 1e-6)

    np.save(tmp_path / "batch.npy", frames[None])
    np.save(tmp_path / "big.npy", np.zeros((5, 40, 40), np.float32))
    np.save(tmp_path / "bright.npy", frames * 255)
    np.save(tmp_path / "words.npy", np.array(["a", "b"]))
    (tmp_path / "empty").mkdir()
    (tmp_path / "uneven").mkdir()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "uneven" / "a.png")
    Image.fromarray(np.zeros((30, 32), np.uint8)).save(tmp_path / "uneven" / "b.png")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.npy").write_text("hello")
    for name, needle in [("batch.npy", "save one clip (T, H, W) a file"), ("big.npy", "frames of 32x32 pixels; got 5 frame(s) of 40x40"),
                         ("bright.npy", "values in [0, 1]"), ("words.npy", "expected numbers"),
                         ("empty", "holds no .png frames"), ("uneven", "every frame must have the same size"),
                         ("notes.txt", "expected a .npy array"), ("fake.npy", "not a NumPy .npy array"),
                         ("gone.npy", "does not exist")]:
        with pytest.raises(DataError) as error:
            read_clip(tmp_path / name, size=32)
        assert needle in str(error.value) and name in str(error.value)


def test_pipeline_saves_a_run_whose_model_gives_the_same_predictions(tmp_path):
    from rnnkit.tasks.runs import open_run
    from rnnkit.tasks.video.classify import train_video_classifier
    from rnnkit.tasks.video.classify_run import evaluate_video_run, label_clips, save_video_classify_run

    config = dataclasses.replace(TINY, model="convlstm", baseline="frame-cnn")
    result = train_video_classifier(config)
    test = result.metrics["test"]
    assert test["samples"] == 14 and len(test["per_class"]) == 7 and np.asarray(test["confusion_matrix"]).sum() == 14
    assert test["baselines"]["frame_cnn"]["method"].startswith("frame-averaged CNN")
    folder = save_video_classify_run(result, tmp_path)
    for name in ("model.rnnkit", "metrics.json", "confusion_matrix.png", "test_predictions.csv", "config.toml"):
        assert (folder / name).is_file(), name
    run = open_run(folder, task="video-classify")
    np.testing.assert_allclose(predict_clips(run.model(), result.data.test.frames[..., None]),
                               result.test_probabilities, rtol=0, atol=1e-6)
    report, _ = evaluate_video_run(run)                                   # the test clips are regenerated
    assert report["confusion_matrix"] == test["confusion_matrix"]
    np.save(tmp_path / "clip.npy", result.data.test.frames[3])
    (label,) = label_clips(run, [tmp_path / "clip.npy"])
    assert label.motion == result.data.class_names[int(result.test_probabilities[3].argmax())]
    assert label.confidence == pytest.approx(float(result.test_probabilities[3].max()), abs=1e-6)
