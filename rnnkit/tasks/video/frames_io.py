"""Frames to and from files (Pillow): a PNG strip of input | truth | prediction, an animated GIF, clips read back.

    >>> write_strip("strip.png", inputs, truth, predictions)      # (N, T_in, Y, X), (N, T_out, Y, X) x 2, in [0, 1]
    >>> write_gif("clips.gif", inputs, truth, predictions)
    >>> write_box_strip("track.png", frames, true_boxes, boxes)  # (N, T, Y, X), (N, T, 4) x 2: green truth, red model
    >>> clip = read_clip("clip.npy")                              # (T, Y, X) float32 in [0, 1]; or a folder of PNGs

Pixels are grey levels: 0 black, 1 white; values outside [0, 1] are clipped when written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data import DataError

__all__ = ["read_clip", "strip_image", "write_box_strip", "write_gif", "write_strip"]

GAP = 2          # pixels between frames (grey)
LABEL_WIDTH = 64  # the left margin holding a row's name
GREY = 96


def _uint8(frames: np.ndarray) -> np.ndarray:
    return (np.clip(np.asarray(frames, dtype=np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _check(inputs: np.ndarray, truth: np.ndarray | None, predictions: np.ndarray) -> None:
    truth = predictions if truth is None else truth
    if inputs.ndim != 4 or truth.ndim != 4 or truth.shape != predictions.shape or \
            inputs.shape[0] != truth.shape[0] or inputs.shape[2:] != truth.shape[2:]:
        raise ValueError(f"frames: inputs must be (N, T_in, Y, X) and truth, predictions (N, T_out, Y, X) of the same "
                         f"N, Y, X; got {inputs.shape}, {truth.shape}, {predictions.shape}")


def strip_image(inputs: np.ndarray, truth: np.ndarray | None, predictions: np.ndarray, *,
                scale: int = 2) -> np.ndarray:
    """(height, width) uint8: for each clip three rows of frames, labelled input, truth, prediction (two rows,
    input and prediction, when `truth` is None: a clip whose future is unknown)."""
    from PIL import Image, ImageDraw

    _check(inputs, truth, predictions)
    N, _, Y, X = inputs.shape
    T = max(inputs.shape[1], predictions.shape[1])
    y, x = Y * scale, X * scale
    R = 2 if truth is None else 3                                   # rows a clip
    width = LABEL_WIDTH + T * (x + GAP)
    height = N * (R * (y + GAP) + 2 * GAP)
    canvas = Image.new("L", (width, height), GREY)
    draw = ImageDraw.Draw(canvas)
    for n in range(N):
        rows = [("input", inputs[n])] + ([] if truth is None else [("truth", truth[n])]) + \
            [("prediction", predictions[n])]
        for row, (name, frames) in enumerate(rows):
            top = n * (R * (y + GAP) + 2 * GAP) + row * (y + GAP)
            draw.text((2, top + y // 2 - 5), name, fill=255)
            for t, frame in enumerate(_uint8(frames)):
                image = Image.fromarray(frame, mode="L").resize((x, y), Image.NEAREST)
                canvas.paste(image, (LABEL_WIDTH + t * (x + GAP), top))
    return np.asarray(canvas)


def write_strip(path: str | Path, inputs: np.ndarray, truth: np.ndarray | None, predictions: np.ndarray, *,
                scale: int = 2) -> Path:
    """Write `strip_image` as a PNG."""
    from PIL import Image

    path = Path(path)
    Image.fromarray(strip_image(inputs, truth, predictions, scale=scale), mode="L").save(path)
    return path


def write_box_strip(path: str | Path, frames: np.ndarray, truth: np.ndarray | None, boxes: np.ndarray, *,
                    scale: int = 3) -> Path:
    """A PNG, one clip (N, T, Y, X) a row of frames: the true box (N, T, 4) (y0, x0, y1, x1) in green (None: a
    clip whose boxes are unknown), the tracked box in red, each drawn just outside its pixels."""
    from PIL import Image, ImageDraw

    frames, boxes = np.asarray(frames), np.asarray(boxes, np.float64)
    truth = None if truth is None else np.asarray(truth, np.float64)
    if frames.ndim != 4 or boxes.shape != (*frames.shape[:2], 4) or (truth is not None and truth.shape != boxes.shape):
        raise ValueError(f"frames must be (N, T, Y, X) and both box arrays (N, T, 4); got {frames.shape}, "
                         f"{None if truth is None else truth.shape}, {boxes.shape}")
    N, T, Y, X = frames.shape
    y, x = Y * scale, X * scale
    canvas = Image.new("RGB", (GAP + T * (x + GAP), GAP + N * (y + GAP)), (GREY,) * 3)
    draw = ImageDraw.Draw(canvas)
    for n in range(N):
        for t in range(T):
            left, top = GAP + t * (x + GAP), GAP + n * (y + GAP)
            image = Image.fromarray(_uint8(frames[n, t]), mode="L").resize((x, y), Image.NEAREST).convert("RGB")
            canvas.paste(image, (left, top))
            pairs = ([] if truth is None else [(truth[n, t], (0, 200, 0))]) + [(boxes[n, t], (230, 30, 30))]
            for box, colour in pairs:
                y0, x0, y1, x1 = box * scale
                draw.rectangle((left + x0 - 1, top + y0 - 1, left + x1, top + y1), outline=colour)
    path = Path(path)
    canvas.save(path)
    return path


def write_gif(path: str | Path, inputs: np.ndarray, truth: np.ndarray, predictions: np.ndarray, *, scale: int = 3,
              frame_ms: int = 200) -> Path:
    """An animated GIF, one clip per row: left the clip (input frames, then the true future), right the same
    input frames, then the prediction. A white bar under the right pane marks the predicted frames."""
    from PIL import Image

    _check(inputs, truth, predictions)
    N, T_in, Y, X = inputs.shape
    y, x = Y * scale, X * scale
    frames = []
    for t in range(T_in + truth.shape[1]):
        canvas = Image.new("L", (2 * x + 3 * GAP, N * (y + 3 * GAP) + GAP), GREY)
        for n in range(N):
            left = inputs[n, t] if t < T_in else truth[n, t - T_in]
            right = inputs[n, t] if t < T_in else predictions[n, t - T_in]
            top = GAP + n * (y + 3 * GAP)
            for column, frame in enumerate((left, right)):
                image = Image.fromarray(_uint8(frame), mode="L").resize((x, y), Image.NEAREST)
                canvas.paste(image, (GAP + column * (x + GAP), top))
            if t >= T_in:
                canvas.paste(255, (2 * GAP + x, top + y, 2 * GAP + 2 * x, top + y + GAP))
        frames.append(canvas)
    path = Path(path)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return path


def read_clip(path: str | Path) -> np.ndarray:
    """A clip (T, Y, X) float32 in [0, 1] from a `.npy` file of that shape (floats in [0, 1], or uint8 0-255),
    or from a folder of PNG frames (read in name order, as grey levels)."""
    path = Path(path)
    if path.is_dir():
        from PIL import Image

        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".png")
        if not files:
            raise DataError(f"{str(path)!r} holds no .png frames; pass a folder of PNG frames or a .npy clip (T, H, W)")
        frames = [np.asarray(Image.open(f).convert("L"), dtype=np.float32) / 255.0 for f in files]
        shapes = {f.shape for f in frames}
        if len(shapes) != 1:
            raise DataError(f"{str(path)!r}: the PNG frames differ in size ({sorted(shapes)}); every frame must be "
                            f"the same size")
        return np.stack(frames)
    if path.suffix.lower() != ".npy" or not path.is_file():
        raise DataError(f"clip {str(path)!r}: expected a .npy file of shape (T, H, W) or a folder of PNG frames")
    try:
        clip = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise DataError(f"clip {str(path)!r}: not a NumPy array file ({error})") from None
    if clip.ndim != 3:
        raise DataError(f"clip {str(path)!r} must have shape (T, H, W); got {clip.shape}. For several clips save "
                        f"one file each")
    if clip.dtype == np.uint8:
        return clip.astype(np.float32) / 255.0
    clip = clip.astype(np.float32)
    if clip.size and (not np.isfinite(clip).all() or clip.min() < 0 or clip.max() > 1):
        raise DataError(f"clip {str(path)!r}: float pixels must be in [0, 1] (or save uint8 0-255); got values in "
                        f"[{np.nanmin(clip):g}, {np.nanmax(clip):g}]")
    return clip
