"""The moving-digits generator: deterministic, disjoint splits, and labels that the pixels confirm.

The label checks recompute everything from the frames alone: the motion class from the track of the
ink's centroid, the boxes from where the ink is, `visible` from the same clips drawn without the bar.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.video import BAR_VALUE, MOTIONS, make_moving_digits, split_images


@pytest.fixture(scope="module")
def clear():
    return make_moving_digits(n_clips=280, split="train", seed=3)


def _centroids(frames: np.ndarray) -> np.ndarray:
    """(T, 2) intensity-weighted centroid (y, x) of each frame (T, Y, X)."""
    T, Y, X = frames.shape
    mass = frames.sum(axis=(1, 2))
    ys = (frames.sum(axis=2) * np.arange(Y)).sum(axis=1) / mass
    xs = (frames.sum(axis=1) * np.arange(X)).sum(axis=1) / mass
    return np.stack([ys, xs], axis=1)


def _reversals(steps: np.ndarray) -> int:
    signs = np.sign(steps[steps != 0])
    return int((signs[1:] != signs[:-1]).sum())


def _circle_residual(points: np.ndarray) -> tuple[float, float]:
    """Least-squares circle through the points (Kasa fit): (radius, RMS distance of the points from it)."""
    y, x = points[:, 0], points[:, 1]
    A = np.stack([2 * y, 2 * x, np.ones_like(y)], axis=1)
    (cy, cx, k), *_ = np.linalg.lstsq(A, y ** 2 + x ** 2, rcond=None)
    radius = np.sqrt(max(k + cy ** 2 + cx ** 2, 0.0))
    distance = np.hypot(y - cy, x - cx)
    return float(radius), float(np.sqrt(np.mean((distance - radius) ** 2)))


def _motion_from_track(track: np.ndarray) -> str:
    """Name the motion of a centroid track (T, 2) the way a person would."""
    steps = np.rint(np.diff(track, axis=0)).astype(int)           # (T-1, 2), exact: the ink moves whole pixels
    dy, dx = steps[:, 0], steps[:, 1]
    if not dy.any():
        return "left" if dx[dx != 0][0] < 0 else "right"
    if not dx.any():
        return "up" if dy[dy != 0][0] < 0 else "down"
    turns = max(_reversals(dy), _reversals(dx))
    if (np.abs(dy) == np.abs(dx)).all() and len(set(np.abs(dx))) == 1 and turns <= 2:
        return "diagonal"                                           # straight at 45 degrees, turning at walls only
    radius, residual = _circle_residual(track)
    if 2.5 <= radius <= 8 and residual < 0.75:
        return "circle"
    assert turns >= 3, steps                                        # turns again and again, away from the walls
    return "zigzag"


def test_deterministic_under_a_seed_and_different_seeds_differ():
    a = make_moving_digits(n_clips=20, seed=5, occlusion=True, n_digits=2)
    b = make_moving_digits(n_clips=20, seed=5, occlusion=True, n_digits=2)
    for name in ("frames", "motion", "boxes", "visible", "digit", "image"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    c = make_moving_digits(n_clips=20, seed=6, occlusion=True, n_digits=2)
    assert not np.array_equal(a.frames, c.frames)
    assert not np.array_equal(a.boxes, c.boxes)
    test = make_moving_digits(n_clips=20, split="test", seed=5)
    assert not np.array_equal(a.boxes, test.boxes)


def test_shapes_types_range_and_balance(clear):
    N, T = 280, 20
    assert clear.frames.shape == (N, T, 32, 32) and clear.frames.dtype == np.float32
    assert clear.frames.min() == 0.0 and clear.frames.max() <= 1.0 and clear.frames.max() > 0.9
    assert clear.motion.dtype == np.int64 and clear.digit.dtype == np.int64
    assert clear.boxes.shape == (N, T, 4) and clear.boxes.dtype == np.float32
    assert clear.visible.shape == (N, T) and clear.visible.dtype == bool and clear.visible.all()
    assert clear.motion_names == MOTIONS and len(MOTIONS) >= 6
    np.testing.assert_array_equal(np.bincount(clear.motion, minlength=len(MOTIONS)), [N // len(MOTIONS)] * 7)
    small = make_moving_digits(n_clips=3, frames=5, size=24, seed=0)
    assert small.frames.shape == (3, 5, 24, 24) and len(small) == 3


def test_train_and_test_use_disjoint_digit_images():
    train, test = split_images("train"), split_images("test")
    assert len(train) + len(test) == 1797 and not set(train) & set(test)
    a = make_moving_digits(n_clips=400, split="train", seed=0, n_digits=2)
    b = make_moving_digits(n_clips=400, split="test", seed=0, n_digits=2)
    assert set(a.image) <= set(train) and set(b.image) <= set(test)
    # no frame content is shared either: every test clip's first frame differs from every training one
    from sklearn.datasets import load_digits

    images = load_digits().images
    assert not {images[i].tobytes() for i in a.image} & {images[i].tobytes() for i in b.image}
    np.testing.assert_array_equal(a.digit, load_digits().target[a.image])


def test_motion_labels_match_the_centroid_track(clear):
    named = [_motion_from_track(_centroids(clip)) for clip in clear.frames]
    np.testing.assert_array_equal(np.array(named), np.array(MOTIONS)[clear.motion])


def test_boxes_are_where_the_ink_is(clear):
    for clip, boxes in zip(clear.frames[:60], clear.boxes[:60]):
        for frame, (y0, x0, y1, x1) in zip(clip, boxes):
            rows, cols = np.flatnonzero(frame.any(axis=1)), np.flatnonzero(frame.any(axis=0))
            assert (rows[0], cols[0], rows[-1] + 1, cols[-1] + 1) == (y0, x0, y1, x1)
    assert (clear.boxes[..., :2] >= 0).all() and (clear.boxes[..., 2:] <= 32).all()


def test_occlusion_and_distractor_change_nothing_else_and_visible_is_right(clear):
    hidden = make_moving_digits(n_clips=280, split="train", seed=3, occlusion=True)
    np.testing.assert_array_equal(hidden.motion, clear.motion)
    np.testing.assert_array_equal(hidden.boxes, clear.boxes)
    ink = clear.frames > 0                                               # (N, T, Y, X)
    covered = hidden.frames == np.float32(BAR_VALUE)
    np.testing.assert_array_equal(hidden.visible, (ink & ~covered).any(axis=(2, 3)))
    assert 0 < (~hidden.visible).sum() < hidden.visible.size         # some frames hide the digit, most do not
    two = make_moving_digits(n_clips=280, split="train", seed=3, n_digits=2)
    np.testing.assert_array_equal(two.boxes, clear.boxes)
    assert (two.frames >= clear.frames).all() and (two.frames > clear.frames).any()   # max-composited
    assert two.visible.all()


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n_clips": 0}, ValueError, "n_clips must be >= 1; got 0"),
    ({"n_clips": 2.5}, TypeError, "n_clips must be an int"),
    ({"n_clips": 2, "split": "val"}, ValueError, "split must be 'train' or 'test'; got 'val'"),
    ({"n_clips": 2, "size": 16}, ValueError, "size must be in 24..256; got 16"),
    ({"n_clips": 2, "frames": 1}, ValueError, "frames must be in 2..1000; got 1"),
    ({"n_clips": 2, "n_digits": 3}, ValueError, "n_digits must be in 1..2; got 3"),
    ({"n_clips": 2, "seed": -1}, ValueError, "seed must be >= 0; got -1"),
    ({"n_clips": 2, "occlusion": "yes"}, TypeError, "occlusion must be True or False"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_moving_digits(**kwargs)
