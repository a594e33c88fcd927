"""Read a WAV file into a float signal with the standard library's `wave`, resampled to the rate asked for.

    >>> signal = read_wav("7_theo_3.wav")                    # (N,) float32 in [-1, 1) at 8 kHz
    >>> signal = read_wav("me.wav", sample_rate=None)         # as recorded (read_wav_info gives the rate)

Only what a speech model can use without guessing is read: 16-bit PCM, mono. Anything else is a `DataError`
naming the file, what was expected and what it holds (stereo, 8/24/32-bit, float or compressed samples,
no samples at all, not a WAV file), with the fix.
"""

from __future__ import annotations

import wave
from math import gcd
from pathlib import Path

import numpy as np

from rnnkit.data._errors import DataError

__all__ = ["read_wav", "read_wav_info", "resample"]


def read_wav_info(path: str | Path) -> tuple[np.ndarray, int]:
    """(signal (N,) float32 in [-1, 1), sample rate) of a mono 16-bit PCM WAV file, as recorded."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such WAV file" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        with wave.open(str(path), "rb") as file:
            channels, width, rate, count = (file.getnchannels(), file.getsampwidth(), file.getframerate(),
                                            file.getnframes())
            frames = file.readframes(count)
    except (wave.Error, EOFError) as error:
        # wave reads only PCM: float (format 3) and compressed WAVs arrive here as "unknown format: 3"
        raise DataError(f"{path}: expected a 16-bit PCM WAV file; cannot read it as one ({error}). Convert it, "
                        f"e.g. `ffmpeg -i {path.name} -ac 1 -acodec pcm_s16le out.wav`") from None
    if channels != 1:
        raise DataError(f"{path}: expected a mono WAV (1 channel); got {channels} channels. Mix it down, "
                        f"e.g. `ffmpeg -i {path.name} -ac 1 out.wav`")
    if width != 2:
        raise DataError(f"{path}: expected 16-bit samples; got {8 * width}-bit. Convert it, "
                        f"e.g. `ffmpeg -i {path.name} -acodec pcm_s16le out.wav`")
    if count == 0 or not frames:
        raise DataError(f"{path}: the WAV file holds no samples (0 frames); expected a recording")
    samples = np.frombuffer(frames[: len(frames) // 2 * 2], dtype="<i2")
    return samples.astype(np.float32) / 32768.0, rate


def resample(signal: np.ndarray, rate: int, target: int) -> np.ndarray:
    """`signal` at `rate` Hz resampled to `target` Hz (polyphase, Kaiser-windowed low-pass: scipy's
    `resample_poly`, which removes what lies above the new Nyquist frequency before decimating)."""
    if rate == target:
        return signal
    from scipy.signal import resample_poly

    common = gcd(rate, target)
    return resample_poly(signal, target // common, rate // common).astype(np.float32)


def read_wav(path: str | Path, *, sample_rate: int | None = 8000) -> np.ndarray:
    """The signal of a mono 16-bit WAV file, resampled to `sample_rate` (None: as recorded)."""
    signal, rate = read_wav_info(path)
    return signal if sample_rate is None else resample(signal, rate, sample_rate)
