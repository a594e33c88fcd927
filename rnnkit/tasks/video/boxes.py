r"""Bounding boxes of a tracked digit: IoU, and the two trackers every tracking run reports beside its model.

A box is (y0, x0, y1, x1), half-open in pixels (rows y0 .. y1-1, columns x0 .. x1-1), as the generator's
`MovingDigits.boxes`; shapes (N, T, 4) for N clips of T frames.

    IoU(a, b) = |a ∩ b| / (|a| + |b| - |a ∩ b|)          (0 where the boxes do not meet; 1: the same box)

The trackers (no learning; the model has to beat them):

- `detector_tracker` — tracking by detection, what a classical pipeline does with no training data: a
  threshold detector (the box of the frame's ink, pixels > 0, after removing the static occluder: pixels
  that hold one value > 0 in every frame of the clip), then constant-velocity extrapolation through the
  frames where it finds nothing. Where a bar hides part of the digit, the box of the visible part is
  extended into the bar to the digit's size (the largest height and width the detector finds in the clip).
- `constant_velocity` from the true boxes of the frames where the digit is visible (an oracle detector):
  through each hidden stretch, the last visible box moves on at the velocity of the last two visible ones
  (held still after only one; the frame's centre before any). Exact on visible frames by construction, so
  it is scored on the hidden frames alone: what motion models add when nothing is seen.

Constant velocity, from the last two known boxes b_s (at frame s) and b_r (r < s), k frames after s:

    b̂_{s+k} = b_s + k (b_s - b_r) / (s - r),   then shifted (not shrunk) back inside the frame
"""

from __future__ import annotations

import numpy as np

__all__ = ["box_iou", "constant_velocity", "detect_boxes", "detector_tracker", "iou_report"]


def _check_boxes(name: str, boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (..., 4) (y0, x0, y1, x1); got {boxes.shape}")
    return boxes


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a (..., 4) and b (..., 4) (broadcast), float64 in [0, 1]; an empty box scores 0."""
    a, b = _check_boxes("a", a), _check_boxes("b", b)
    height = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0.0, None)
    width = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0.0, None)
    inter = height * width

    def area(c: np.ndarray) -> np.ndarray:
        return np.clip(c[..., 2] - c[..., 0], 0.0, None) * np.clip(c[..., 3] - c[..., 1], 0.0, None)

    union = area(a) + area(b) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _inside(box: np.ndarray, size: int) -> np.ndarray:
    """Shift box (4,) so it lies in [0, size] on both axes (its height and width kept)."""
    low = np.clip(-box[:2], 0.0, None)                      # how far it sticks out at the top / left
    box = box + np.concatenate([low, low])
    high = np.clip(box[2:] - size, 0.0, None)               # ... and at the bottom / right
    return box - np.concatenate([high, high])


def constant_velocity(boxes: np.ndarray, known: np.ndarray, *, size: int) -> np.ndarray:
    """Fill the frames where `known` (N, T) is False by constant-velocity extrapolation of the last two known
    boxes of `boxes` (N, T, 4) (causal: a frame uses only the frames before it); known frames are copied."""
    boxes = _check_boxes("boxes", boxes)
    known = np.asarray(known, dtype=bool)
    if boxes.ndim != 3 or known.shape != boxes.shape[:2]:
        raise ValueError(f"boxes must be (N, T, 4) and known (N, T); got {boxes.shape} and {known.shape}")
    centre = np.array([size / 2 - 6, size / 2 - 6, size / 2 + 6, size / 2 + 6])   # a 12 x 12 box, the patch
    filled = boxes.copy()
    N, T, _ = boxes.shape
    for n in range(N):
        seen: list[int] = []                                  # the last two known frames
        for t in range(T):
            if known[n, t]:
                seen = (seen + [t])[-2:]
                continue
            if not seen:
                filled[n, t] = centre
                continue
            s = seen[-1]
            velocity = (boxes[n, s] - boxes[n, seen[0]]) / (s - seen[0]) if len(seen) == 2 else 0.0
            filled[n, t] = _inside(boxes[n, s] + (t - s) * velocity, size)
    return filled


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 4:
        raise ValueError(f"frames must have shape (N, T, Y, X); got {frames.shape}")
    return frames


def _occluder(frames: np.ndarray) -> np.ndarray:
    """(N, Y, X) bool: the pixels that hold one value > 0 in every frame of their clip (a static bar)."""
    return (frames == frames[:, :1]).all(axis=1) & (frames[:, 0] > 0)


def detect_boxes(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The threshold detector: (boxes (N, T, 4), found (N, T)) of the ink in frames (N, T, Y, X), pixels > 0 once
    the static occluder (a pixel with the same value > 0 in every frame of its clip) is taken out."""
    frames = _check_frames(frames)
    static = _occluder(frames)                                                         # (N, Y, X)
    ink = (frames > 0) & ~static[:, None]                                              # (N, T, Y, X)
    rows, cols = ink.any(axis=3), ink.any(axis=2)                                      # (N, T, Y), (N, T, X)
    found = rows.any(axis=2)
    Y, X = frames.shape[2:]

    def first_last(mask: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
        first = mask.argmax(axis=2)
        last = length - mask[..., ::-1].argmax(axis=2)
        return first, last

    y0, y1 = first_last(rows, Y)
    x0, x1 = first_last(cols, X)
    boxes = np.stack([y0, x0, y1, x1], axis=2).astype(np.float64)
    boxes[~found] = 0.0
    return boxes, found


def _complete(boxes: np.ndarray, found: np.ndarray, static: np.ndarray) -> np.ndarray:
    """Extend each found box whose side touches the occluder (static (N, Y, X)) into it, to the clip's largest
    detected height and width: the part of the digit the bar hides."""
    boxes = boxes.copy()
    N, Y, X = static.shape
    for n in range(N):
        if not found[n].any() or not static[n].any():
            continue
        height = (boxes[n, found[n], 2] - boxes[n, found[n], 0]).max()
        width = (boxes[n, found[n], 3] - boxes[n, found[n], 1]).max()
        for t in np.flatnonzero(found[n]):
            y0, x0, y1, x1 = boxes[n, t].astype(int)
            if x1 - x0 < width:
                if x0 > 0 and static[n, y0:y1, x0 - 1].any():
                    boxes[n, t, 1] = max(0.0, x1 - width)
                elif x1 < X and static[n, y0:y1, x1].any():
                    boxes[n, t, 3] = min(float(X), x0 + width)
            if y1 - y0 < height:
                if y0 > 0 and static[n, y0 - 1, x0:x1].any():
                    boxes[n, t, 0] = max(0.0, y1 - height)
                elif y1 < Y and static[n, y1, x0:x1].any():
                    boxes[n, t, 2] = min(float(Y), y0 + height)
    return boxes


def detector_tracker(frames: np.ndarray) -> np.ndarray:
    """Tracking by detection: `detect_boxes`, truncated boxes completed into the occluder, then
    `constant_velocity` through the frames it finds nothing in."""
    frames = _check_frames(frames)
    boxes, found = detect_boxes(frames)
    return constant_velocity(_complete(boxes, found, _occluder(frames)), found, size=int(frames.shape[-1]))


def iou_report(predicted: np.ndarray, truth: np.ndarray, visible: np.ndarray) -> dict[str, float | int | None]:
    """Mean IoU over all frames, the visible ones and the hidden ones (None where there are none)."""
    iou = box_iou(predicted, truth)
    visible = np.asarray(visible, dtype=bool)
    if visible.shape != iou.shape:
        raise ValueError(f"visible must have the shape of the boxes without their last axis {iou.shape}; got "
                         f"{visible.shape}")
    hidden = ~visible
    return {"iou": float(iou.mean()),
            "iou_visible": float(iou[visible].mean()) if visible.any() else None,
            "iou_hidden": float(iou[hidden].mean()) if hidden.any() else None,
            "frames": int(iou.size), "hidden_frames": int(hidden.sum())}
