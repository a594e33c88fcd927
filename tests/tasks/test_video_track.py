"""Object tracking (issue 14): IoU and the two trackers on hand-made boxes and frames, the box encoding, the
tracker model's shape and causality, save -> load -> identical boxes, the run folder, config errors."""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.data.video import make_moving_digits
from rnnkit.tasks._config import ConfigError
from rnnkit.tasks.video.boxes import box_iou, constant_velocity, detect_boxes, detector_tracker, iou_report
from rnnkit.tasks.video.track import save_track_run, track_clip, track_report, train_tracker
from rnnkit.tasks.video.track_config import TrackConfig
from rnnkit.tasks.video.track_model import build_tracker, decode_boxes, encode_boxes, predict_boxes

TINY = TrackConfig(train_clips=16, test_clips=6, val_fraction=0.25, frames=6, filters=4, units=8, epochs=2,
                   batch_size=8, patience=0)


# --- IoU and the trackers -----------------------------------------------------------------------------------
def test_iou_by_hand():
    a = np.array([0, 0, 4, 4])
    assert box_iou(a, a) == 1.0
    assert box_iou(a, [4, 4, 8, 8]) == 0.0                       # corners touch: no shared pixel
    assert box_iou(a, [0, 2, 4, 6]) == pytest.approx(8 / 24)     # half of each: 8 / (16 + 16 - 8)
    assert box_iou(a, [1, 1, 3, 3]) == pytest.approx(4 / 16)     # one inside the other
    assert box_iou([2, 2, 2, 5], [2, 2, 2, 5]) == 0.0            # an empty box scores 0, not NaN
    np.testing.assert_allclose(box_iou(np.tile(a, (2, 3, 1)), a), np.ones((2, 3)))   # broadcasts
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        box_iou(np.zeros(3), a)


def test_constant_velocity_extrapolates_the_last_two_known_boxes():
    T = 8
    boxes = np.array([[2.0, 2 * t, 14.0, 2 * t + 10] for t in range(T)])[None]       # 2 px right a frame
    known = np.ones((1, T), bool)
    known[0, 3:6] = False
    filled = constant_velocity(boxes, known, size=32)
    np.testing.assert_array_equal(filled, boxes)                                      # straight motion: exact
    known[0, 2] = False                                        # frames 0, 1 known: the same velocity, from further
    np.testing.assert_array_equal(constant_velocity(boxes, known, size=32), boxes)
    one = np.zeros((1, T), bool)
    one[0, 4] = True                                           # a single known box is held still after it
    filled = constant_velocity(boxes, one, size=32)
    np.testing.assert_array_equal(filled[0, 5:], np.tile(boxes[0, 4], (3, 1)))
    np.testing.assert_array_equal(filled[0, :4], np.tile([10.0, 10.0, 22.0, 22.0], (4, 1)))   # none yet: centre
    edge = np.array([[0.0, 18.0, 12.0, 28.0], [0.0, 20.0, 12.0, 30.0], [0.0, 0.0, 0.0, 0.0]])[None]
    # moving right by 2 from x1 = 30 would leave the frame: shifted back inside, its width kept
    np.testing.assert_array_equal(constant_velocity(edge, np.array([[True, True, False]]), size=32)[0, 2],
                                  [0.0, 22.0, 12.0, 32.0])
    with pytest.raises(ValueError, match=r"\(N, T, 4\) and known \(N, T\)"):
        constant_velocity(boxes, known[:, :3], size=32)


def test_the_detector_finds_the_generators_boxes_where_nothing_hides_the_digit():
    clips = make_moving_digits(n_clips=14, split="test", seed=1)
    boxes, found = detect_boxes(clips.frames)
    assert found.all()
    np.testing.assert_array_equal(boxes, clips.boxes)
    np.testing.assert_array_equal(detector_tracker(clips.frames), clips.boxes)


def test_the_detector_completes_a_box_the_bar_cuts_and_coasts_through_a_hidden_frame():
    # a 4 x 4 square moving 2 px right a frame in an 8 x 16 frame, behind a static bar (0.6) over columns 8..11
    T = 6
    frames = np.zeros((1, T, 8, 16), np.float32)
    for t in range(T):
        frames[0, t, 2:6, 2 * t:2 * t + 4] = 1.0
    frames[0, :, :, 8:12] = 0.6
    truth = np.array([[2, 2 * t, 6, 2 * t + 4] for t in range(T)], np.float64)
    boxes, found = detect_boxes(frames)
    assert found[0].tolist() == [True, True, True, True, False, True]     # frame 4: columns 8..11, all hidden
    np.testing.assert_array_equal(boxes[0, 3], [2, 6, 6, 8])              # frame 3: only columns 6, 7 show
    np.testing.assert_array_equal(boxes[0, 5], [2, 12, 6, 14])            # frame 5: only columns 12, 13
    tracked = detector_tracker(frames)                   # completed to 4 wide into the bar; frame 4 coasted
    np.testing.assert_array_equal(tracked[0], truth)
    report = iou_report(tracked, truth[None], found)
    assert report["iou"] == 1.0 and report["hidden_frames"] == 1


def test_iou_report_splits_visible_and_hidden_frames():
    truth = np.tile([0.0, 0.0, 4.0, 4.0], (1, 3, 1))
    predicted = truth.copy()
    predicted[0, 2] = [0, 2, 4, 6]
    report = iou_report(predicted, truth, np.array([[True, True, False]]))
    assert report["iou"] == pytest.approx((2 + 1 / 3) / 3) and report["iou_visible"] == 1.0
    assert report["iou_hidden"] == pytest.approx(1 / 3) and report["hidden_frames"] == 1
    assert iou_report(truth, truth, np.ones((1, 3), bool))["iou_hidden"] is None


# --- the model ----------------------------------------------------------------------------------------------
def test_box_encoding_round_trips_and_decoding_orders_and_clips_corners():
    boxes = np.array([[3.0, 5.0, 15.0, 12.0], [0.0, 0.0, 32.0, 32.0]])
    encoded = encode_boxes(boxes, 32)
    assert encoded.dtype == np.float32 and np.abs(encoded).max() <= 2.0
    np.testing.assert_allclose(decode_boxes(encoded, 32), boxes, atol=1e-5)
    np.testing.assert_allclose(decode_boxes(np.array([0.5, 3.0, -0.5, -3.0]), 32), [12, 0, 20, 32])


def test_the_tracker_boxes_every_frame_from_that_frame_and_the_ones_before_only():
    rnnkit.set_seed(0)
    model = build_tracker(TINY)
    clips = make_moving_digits(n_clips=2, split="test", seed=2, frames=6, occlusion=True).frames
    boxes = predict_boxes(model, clips, size=32)
    assert boxes.shape == (2, 6, 4)
    assert (boxes[..., 2] >= boxes[..., 0]).all() and (boxes >= 0).all() and (boxes <= 32).all()
    changed = clips.copy()
    changed[:, 4:] = 1.0 - changed[:, 4:]                       # other frames 4 and 5
    after = predict_boxes(model, changed, size=32)
    np.testing.assert_array_equal(after[:, :4], boxes[:, :4])   # online: the past does not see the future
    assert not np.allclose(after[:, 4:], boxes[:, 4:])
    alone = predict_boxes(model, [clips[1], clips[0][:3]], size=32)   # clips of other lengths, one at a time
    np.testing.assert_allclose(alone[0], boxes[1], atol=1e-5)
    np.testing.assert_allclose(alone[1], boxes[0, :3], atol=1e-5)


def test_training_the_tracker_saves_a_run_that_boxes_as_trained(tmp_path):
    from PIL import Image

    from rnnkit.tasks.runs import open_run, start_run

    result = train_tracker(TINY)
    test = result.metrics["test"]
    assert set(test) == {"model", "detector_tracker", "constant_velocity_true_visible", "per_motion", "clips"}
    assert set(test["per_motion"]) <= set(result.test.motion_names)
    assert 0.0 <= test["model"]["iou"] <= 1.0 and test["model"]["frames"] == 6 * 6
    assert result.metrics["train_clips"] == 12 and result.metrics["val_clips"] == 4
    folder = save_track_run(result, folder=start_run(tmp_path, task="track", config=TINY))
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["test"]["model"]["iou"] == pytest.approx(test["model"]["iou"])
    rows = (folder / "test_boxes.csv").read_text().splitlines()
    assert rows[0].startswith("clip,frame,visible,true_y0") and len(rows) == 1 + 6 * 6
    with Image.open(folder / "tracking_strip.png") as strip:
        assert strip.mode == "RGB"
    run = open_run(folder)
    assert run.task == "track" and run.config == TINY
    np.testing.assert_allclose(track_clip(run, result.test.frames[0]), result.test_boxes[0], atol=1e-5)
    with pytest.raises(rnnkit.data.DataError, match=r"shape \(T, 32, 32\)"):
        track_clip(run, np.zeros((3, 28, 28), np.float32))
    again = track_report(result.test_boxes, result.test)
    assert again == test


@pytest.mark.parametrize("change, needle", [
    (dict(data="mnist"), "data must be 'moving_digits'"),
    (dict(frames=1), "frames must be in 2..1000"),
    (dict(size=16), "size must be in 24..256"),
    (dict(n_digits=3), "n_digits must be 1 or 2"),
    (dict(units=0), "units must be >= 1"),
    (dict(filters=1), "filters must be >= 2"),
    (dict(train_clips=3, val_fraction=0.1), "leaves no validation"),
    (dict(learning_rate=0.0), "learning_rate must be > 0"),
])
def test_config_errors_name_the_option(change, needle):
    with pytest.raises(ConfigError, match=needle):
        dataclasses.replace(TINY, **change).check()


def test_clips_of_another_shape_are_refused_before_training():
    train = make_moving_digits(n_clips=8, split="train", frames=5)
    test = make_moving_digits(n_clips=4, split="test", frames=6)
    with pytest.raises(ConfigError, match=r"train clips must have frames \(N, 6, 32, 32\)"):
        train_tracker(TINY, clips=(train, test))
