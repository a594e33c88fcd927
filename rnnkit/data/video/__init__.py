"""Video data: generated clips of moving handwritten digits (action recognition, next-frame prediction, tracking).

    >>> from rnnkit.data.video import make_moving_digits
    >>> clips = make_moving_digits(n_clips=700, split="train", seed=0)   # frames (700, 20, 32, 32) in [0, 1]
"""

from rnnkit.data.video.moving_digits import (
    BAR_VALUE,
    MOTIONS,
    PATCH,
    MovingDigits,
    digit_patches,
    make_moving_digits,
    split_images,
)

__all__ = ["BAR_VALUE", "MOTIONS", "PATCH", "MovingDigits", "digit_patches", "make_moving_digits", "split_images"]
