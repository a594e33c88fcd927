"""The clips of a video run, and clips a user gives: moving digits generated from the config, a `.npy`
array (T, H, W) or a folder of PNG frames, all as channels-last float32 arrays (N, T, Y, X, 1) in [0, 1].

    >>> data = load_clips(VideoClassifyConfig())
    >>> data.train.frames.shape, data.test.frames.shape        # (2100, 20, 32, 32), (700, 20, 32, 32)
    >>> clip = read_clip("clip.npy", size=32)                   # (T, 32, 32, 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data import DataError
from rnnkit.data.video import MovingDigits, make_moving_digits

__all__ = ["VideoData", "channels_last", "load_clips", "read_clip"]


@dataclass(kw_only=True)
class VideoData:
    train: MovingDigits
    test: MovingDigits

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.train.motion_names


def load_clips(config: Any) -> VideoData:
    """The training and test clips a config describes (the same every time: they come from its seed)."""
    options = {"frames": config.frames, "size": config.size, "n_digits": config.n_digits, "occlusion": config.occlusion}
    return VideoData(train=make_moving_digits(n_clips=config.train_clips, split="train", seed=config.seed, **options),
                     test=make_moving_digits(n_clips=config.test_clips, split="test", seed=config.seed, **options))


def channels_last(frames: np.ndarray) -> np.ndarray:
    """(N, T, Y, X) -> (N, T, Y, X, 1): what Conv2D (channels last) reads, without a copy."""
    return frames[..., None]


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _read_png_folder(folder: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    paths = sorted((p for p in folder.iterdir() if p.suffix.lower() == ".png"), key=_natural_key)
    if not paths:
        raise DataError(f"--clip {str(folder)!r}: the folder holds no .png frames; give one PNG per frame "
                        f"(frame_000.png, frame_001.png, ... read in that order) or a .npy array (T, H, W)")
    frames = []
    for path in paths:
        try:
            with Image.open(path) as image:
                frames.append(np.asarray(image.convert("L"), dtype=np.float32) / 255.0)
        except (OSError, UnidentifiedImageError) as error:
            raise DataError(f"--clip {str(path)!r}: not a readable PNG image ({error})") from None
        if frames[-1].shape != frames[0].shape:
            raise DataError(f"--clip {str(folder)!r}: every frame must have the same size; {paths[0].name} is "
                            f"{frames[0].shape[1]}x{frames[0].shape[0]} but {path.name} is "
                            f"{frames[-1].shape[1]}x{frames[-1].shape[0]} (width x height)")
    return np.stack(frames)


def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"--clip {str(path)!r}: not a NumPy .npy array of frames (T, H, W) ({error})") from None
    if not isinstance(array, np.ndarray):
        raise DataError(f"--clip {str(path)!r}: expected a .npy array (T, H, W), not an .npz archive")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype.kind not in "fiub":
        raise DataError(f"--clip {str(path)!r}: expected numbers (float in [0, 1] or uint8 0-255); got dtype "
                        f"{array.dtype}")
    array = array.astype(np.float32)
    if array.size and (not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0):
        raise DataError(f"--clip {str(path)!r}: float frames must be finite values in [0, 1] (background 0); got "
                        f"values in [{np.nanmin(array):.3g}, {np.nanmax(array):.3g}]: divide by the maximum, or save "
                        f"uint8 0-255")
    return array


def read_clip(path: str | Path, *, size: int) -> np.ndarray:
    """One clip (T, size, size, 1) float32 in [0, 1] from a `.npy` (T, H, W) or a folder of PNG frames."""
    path = Path(path)
    if path.is_dir():
        frames = _read_png_folder(path)
    elif not path.exists():
        raise DataError(f"--clip {str(path)!r} does not exist; give a .npy array (T, H, W) or a folder of PNG frames")
    elif path.suffix.lower() == ".npy":
        frames = _read_npy(path)
    else:
        raise DataError(f"--clip {str(path)!r}: expected a .npy array (T, H, W) or a folder of PNG frames; got a "
                        f"{path.suffix or 'suffix-less'} file")
    if frames.ndim != 3:
        hint = " (grey frames: drop the channel axis)" if frames.ndim == 4 and frames.shape[-1] == 1 else \
            " (a batch of clips? save one clip (T, H, W) a file)" if frames.ndim == 4 else ""
        raise DataError(f"--clip {str(path)!r}: expected frames of shape (T, H, W) = (T, {size}, {size}); got shape "
                        f"{tuple(frames.shape)}{hint}")
    T, Y, X = frames.shape
    if T < 1 or (Y, X) != (size, size):
        raise DataError(f"--clip {str(path)!r}: the run reads frames of {size}x{size} pixels; got {T} frame(s) of "
                        f"{Y}x{X}: resize the frames to {size}x{size}")
    return np.ascontiguousarray(frames)[..., None]
