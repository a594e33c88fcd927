r"""Moving digits: short grey-scale clips of handwritten digits that move by a named pattern, generated
deterministically from scikit-learn's bundled 8x8 digits (`sklearn.datasets.load_digits`, 1797 images).

    >>> clips = make_moving_digits(n_clips=700, split="train", seed=0)
    >>> clips.frames.shape, clips.motion[:3], clips.motion_names[clips.motion[0]]
    ((700, 20, 32, 32), array([3, 6, 0]), 'down')

One clip, T = `frames` steps of a `size` x `size` frame (values in [0, 1], background 0):

- **The digit.** Each 8x8 image (values 0..16) is scaled to [0, 1] and upsampled to a 12x12 patch by
  bilinear interpolation (`scipy.ndimage.zoom(order=1)`, so the blank border stays exactly 0). The patch
  sits at an integer position (top-left corner) `p_t = (y_t, x_t)` in `[0, M]^2`, `M = size - 12`, and is
  pasted there; the digit never leaves the frame.
- **Its motion** (the action-recognition label, `MOTIONS`), with integer steps so every label can be
  recomputed exactly from the pixels:

      left / right / up / down   one axis moves at v in {1, 2} px a step, the first 5 steps at least in the
                                 named direction (then it may bounce back), the other axis stays put
      diagonal                   both axes move at the same v, any of the four directions
      zigzag                     one axis moves at v; the other goes back and forth at 2 px a step (1 where
                                 the frame is too small), turning every P in {3, 4} steps (never reaching an edge)
      circle                     p_t = round(c + r (sin(phi + w t), cos(phi + w t))), r in 3..7 px,
                                 one turn every 8..12 steps, either sense (never reaching an edge)

  Straight motions bounce off the edges: a step past 0 or M is reflected (`p -> -p`, `p -> 2M - p`) and
  the velocity on that axis flips. Starting positions are multiples of v and M is a multiple of v, so a
  reflection lands exactly on the edge and every step keeps its length v.
- **Occlusion** (`occlusion=True`): one static bar across the whole frame, vertical or horizontal,
  10..13 px wide (as wide as a digit's ink, so the digit can disappear behind it), painted over everything
  with the value `BAR_VALUE` = 0.6.
- **A distractor** (`n_digits=2`): a second digit image of the same split, at half brightness, moving in a
  straight line at a random (vy, vx) in {-2..2}^2 (not both 0) with the same bouncing; the two digits are
  max-composited (the first digit's labels are the clip's labels; the dimmer distractor only gets in the way).

Labels, per clip: `motion` (index into `motion_names`), `digit` (what digit the moving image shows, 0-9),
`image` (its index in `load_digits()`), and per frame `boxes` (y0, x0, y1, x1): the half-open pixel box of
the first digit's ink (the rows y0 .. y1-1 and columns x0 .. x1-1 of the frame where its pixels are > 0),
given also where the digit is hidden, and `visible`: True unless a bar covers every ink pixel of it.

Train and test never share a digit image: image i of the 1797 is a test image when i % 5 == 0
(`split_images`), a training image otherwise (1437 train, 360 test). The first digit's motion is drawn
from a random stream of its own (seeded by (seed, split)), the bar and the distractor from two others, so
switching `occlusion` or `n_digits` on changes nothing else in a clip.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["BAR_VALUE", "MOTIONS", "PATCH", "MovingDigits", "digit_patches", "make_moving_digits", "split_images"]

MOTIONS = ("left", "right", "up", "down", "diagonal", "zigzag", "circle")
PATCH = 12           # the side of an upsampled digit (8x8 -> 12x12)
BAR_VALUE = 0.6      # the grey of the occluding bars
DISTRACTOR_GAIN = 0.5
SPLITS = ("train", "test")
RUN_BEFORE_BOUNCE = 5  # left/right/up/down: at least this many steps in the named direction first


@dataclass(frozen=True)
class MovingDigits:
    """N clips of T frames, size x size (legend: N clips, T frames, Y rows, X columns)."""

    frames: np.ndarray        # (N, T, Y, X) float32 in [0, 1]
    motion: np.ndarray        # (N,) int64: index into motion_names
    motion_names: tuple[str, ...]
    boxes: np.ndarray         # (N, T, 4) float32 (y0, x0, y1, x1), half-open, of the first digit's ink
    visible: np.ndarray       # (N, T) bool: some ink of the first digit is not under a bar
    digit: np.ndarray         # (N,) int64: the digit (0-9) the first image shows
    image: np.ndarray         # (N,) int64: the first image's index in sklearn's load_digits()

    def __len__(self) -> int:
        return len(self.frames)

    def take(self, index: np.ndarray) -> MovingDigits:
        """The clips at `index` (an int array or a boolean mask over N), in that order."""
        return MovingDigits(frames=self.frames[index], motion=self.motion[index], motion_names=self.motion_names,
                            boxes=self.boxes[index], visible=self.visible[index], digit=self.digit[index],
                            image=self.image[index])


def split_images(split: str) -> np.ndarray:
    """The indices (into the 1797 images of `load_digits()`) a split draws from: test i % 5 == 0, train the rest."""
    _check_split(split)
    index = np.arange(1797)
    return index[index % 5 == 0] if split == "test" else index[index % 5 != 0]


@functools.lru_cache(maxsize=1)
def digit_patches() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 12, 12) float32 patches in [0, 1] and (1797,) int64 digit labels (read once per process)."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float64) / 16.0                             # (1797, 8, 8)
    patches = np.stack([zoom(image, PATCH / 8, order=1) for image in images])   # (1797, 12, 12)
    patches = np.clip(patches, 0.0, 1.0).astype(np.float32)
    patches.setflags(write=False)
    return patches, bunch.target.astype(np.int64)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"make_moving_digits: split must be 'train' or 'test'; got {split!r}")


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"make_moving_digits: {name} must be an int; got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"make_moving_digits: {name} must be {bound}; got {value}")
    return int(value)


def _bounce(p: np.ndarray, v: np.ndarray, M: int, steps: int) -> np.ndarray:
    """(steps, 2) positions from p (2,) moving at v (2,) inside [0, M]^2, reflected at the edges."""
    p, v = p.astype(np.int64).copy(), v.astype(np.int64).copy()
    track = np.empty((steps, 2), dtype=np.int64)
    for t in range(steps):
        track[t] = p
        p = p + v
        low, high = p < 0, p > M
        p[low], v[low] = -p[low], -v[low]
        p[high], v[high] = 2 * M - p[high], -v[high]
    return track


def _track(motion: str, rng: np.random.Generator, M: int, steps: int) -> np.ndarray:
    """(steps, 2) integer positions (y, x) of a patch's top-left corner for one motion pattern."""
    speeds = [v for v in (1, 2) if M % v == 0]
    if motion in ("left", "right", "up", "down", "diagonal"):
        v = int(rng.choice(speeds))
        start = v * rng.integers(0, M // v + 1, size=2)
        if motion == "diagonal":
            velocity = v * rng.choice([-1, 1], size=2)
        else:
            axis, sign = {"up": (0, -1), "down": (0, 1), "left": (1, -1), "right": (1, 1)}[motion]
            velocity = np.zeros(2, dtype=np.int64)
            velocity[axis] = sign * v
            lead = RUN_BEFORE_BOUNCE                    # steps of the named sign before an edge can turn it
            start[axis] = v * (rng.integers(lead, M // v + 1) if sign < 0 else rng.integers(0, M // v - lead + 1))
            start[1 - axis] = rng.integers(0, M + 1)
        return _bounce(start, velocity, M, steps)
    if motion == "zigzag":
        axis = int(rng.integers(0, 2))                   # the axis that travels; the other one zigzags
        v = int(rng.choice(speeds))
        turn = int(rng.integers(3, 5))                   # steps between turns
        s = 2 if 2 * turn <= M // 2 else 1              # the swing: s * turn px, 6-8 px at size 32
        travel = v * rng.integers(0, M // v + 1)
        sign = int(rng.choice([-1, 1]))
        line = _bounce(np.array([travel, 0]), np.array([sign * v, 0]), M, steps)[:, 0]
        centre = int(rng.integers(s * turn, M - s * turn + 1))
        direction = int(rng.choice([-1, 1]))
        zig, q = np.empty(steps, dtype=np.int64), centre
        for t in range(steps):
            zig[t] = q
            if (t + 1) % turn == 0:
                direction = -direction
            q += direction * s
        return np.stack([line, zig] if axis == 0 else [zig, line], axis=1)
    if motion == "circle":
        radius = int(rng.integers(3, min(7, M // 2) + 1))
        centre = rng.integers(radius, M - radius + 1, size=2)
        omega = rng.choice([-1.0, 1.0]) * 2 * np.pi / rng.integers(8, 13)
        angle = rng.uniform(0, 2 * np.pi) + omega * np.arange(steps)
        return np.rint(centre + radius * np.stack([np.sin(angle), np.cos(angle)], axis=1)).astype(np.int64)
    raise AssertionError(motion)


def _paste(canvas: np.ndarray, patch: np.ndarray, track: np.ndarray, gain: float = 1.0) -> None:
    """Max-composite `patch` * gain onto every frame of canvas (T, Y, X) at the positions track (T, 2)."""
    P = patch.shape[0]
    for t, (y, x) in enumerate(track):
        np.maximum(canvas[t, y:y + P, x:x + P], gain * patch, out=canvas[t, y:y + P, x:x + P])


def _ink_box(patch: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(patch.any(axis=1)), np.flatnonzero(patch.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def make_moving_digits(*, n_clips: int, split: str = "train", seed: int = 0, frames: int = 20, size: int = 32,
                       n_digits: int = 1, occlusion: bool = False) -> MovingDigits:
    """`n_clips` clips of `frames` frames of `size` x `size`, the motions balanced (n_clips // 7 or one more each).

    Deterministic in (seed, split, and the other arguments); train and test clips use disjoint digit images.
    """
    n_clips = _check_int("n_clips", n_clips, 1)
    seed = _check_int("seed", seed, 0)
    T = _check_int("frames", frames, 2, 1000)
    size = _check_int("size", size, 24, 256)
    n_digits = _check_int("n_digits", n_digits, 1, 2)
    _check_split(split)
    if not isinstance(occlusion, (bool, np.bool_)):
        raise TypeError(f"make_moving_digits: occlusion must be True or False; got {occlusion!r}")
    patches, labels = digit_patches()
    pool = split_images(split)
    M = size - PATCH
    stream = SPLITS.index(split)
    motion_rng, bar_rng, distractor_rng = (np.random.default_rng([seed, stream, k]) for k in range(3))

    motion = motion_rng.permutation(np.arange(n_clips) % len(MOTIONS)).astype(np.int64)
    image = motion_rng.choice(pool, size=n_clips).astype(np.int64)
    video = np.zeros((n_clips, T, size, size), dtype=np.float32)                  # (N, T, Y, X)
    boxes = np.empty((n_clips, T, 4), dtype=np.float32)
    visible = np.ones((n_clips, T), dtype=bool)
    for n in range(n_clips):
        patch = patches[image[n]]
        track = _track(MOTIONS[motion[n]], motion_rng, M, T)                      # (T, 2)
        _paste(video[n], patch, track)
        y0, x0, y1, x1 = _ink_box(patch)
        boxes[n] = np.concatenate([track + (y0, x0), track + (y1, x1)], axis=1)
        if n_digits == 2:
            other = distractor_rng.choice(pool[pool != image[n]])
            velocity = np.zeros(2, dtype=np.int64)
            while not velocity.any():
                velocity = distractor_rng.integers(-2, 3, size=2)
            start = distractor_rng.integers(0, M + 1, size=2)
            _paste(video[n], patches[other], _bounce(start, velocity, M, T), DISTRACTOR_GAIN)
        if occlusion:
            width = int(bar_rng.integers(10, 14))
            at = int(bar_rng.integers(0, size - width + 1))
            vertical = bool(bar_rng.integers(0, 2))
            bar = np.zeros((size, size), dtype=bool)
            if vertical:
                bar[:, at:at + width] = True
            else:
                bar[at:at + width, :] = True
            video[n][:, bar] = BAR_VALUE
            for t, (y, x) in enumerate(track):
                ink = np.zeros((size, size), dtype=bool)
                ink[y:y + PATCH, x:x + PATCH] = patch > 0
                visible[n, t] = bool((ink & ~bar).any())
    return MovingDigits(frames=video, motion=motion, motion_names=MOTIONS, boxes=boxes, visible=visible,
                        digit=labels[image], image=image)
