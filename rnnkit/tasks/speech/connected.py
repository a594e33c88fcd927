"""Connected digit strings made from FSDD takes, deterministically from a seed.

    >>> strings = make_strings(clips, count=3000, min_digits=2, max_digits=7, seed=0)
    >>> strings[0].digits, strings[0].signal.shape              # (4, 0, 7), (N,) float32 at 8 kHz

Each string is one speaker's takes of its digits, end to end: 50-150 ms of silence before and after, a
random pause of 0-120 ms between takes, and light white noise over the whole (its standard deviation 1 %
of the string's RMS: about 40 dB SNR). Which takes may be used is the caller's choice (train: takes 5-49,
test: takes 0-4; the unseen-speaker split: other speakers); the same seed gives the same strings.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from rnnkit.data import DataError, SpokenDigit
from rnnkit.data.audio import read_wav

__all__ = ["DigitString", "make_strings"]

RATE = 8000


@dataclass(frozen=True, kw_only=True)
class DigitString:
    digits: tuple[int, ...]
    speaker: str
    takes: tuple[int, ...]        # the FSDD take of each digit
    signal: np.ndarray            # (N,) float32 at 8 kHz

    @property
    def text(self) -> str:
        return " ".join(map(str, self.digits))


def make_strings(clips: list[SpokenDigit], *, count: int, min_digits: int, max_digits: int,
                 seed: int) -> list[DigitString]:
    """`count` strings of `min_digits`..`max_digits` digits from `clips` (every speaker among them must have
    every digit)."""
    by_speaker: dict[str, dict[int, list[SpokenDigit]]] = defaultdict(lambda: defaultdict(list))
    for clip in clips:
        by_speaker[clip.speaker][clip.digit].append(clip)
    speakers = sorted(by_speaker)
    if not speakers:
        raise DataError("make_strings: no clips to build digit strings from")
    for speaker in speakers:
        missing = [d for d in range(10) if not by_speaker[speaker][d]]
        if missing:
            raise DataError(f"make_strings: speaker {speaker!r} has no take of digit(s) {missing}; every speaker "
                            f"used needs all ten")
    rng = np.random.default_rng(seed)
    signals: dict[object, np.ndarray] = {}
    strings = []
    for _ in range(count):
        speaker = speakers[rng.integers(len(speakers))]
        digits = tuple(int(d) for d in rng.integers(0, 10, size=rng.integers(min_digits, max_digits + 1)))
        chosen = [by_speaker[speaker][d][rng.integers(len(by_speaker[speaker][d]))] for d in digits]
        parts = [np.zeros(int(rng.integers(400, 1201)), dtype=np.float32)]              # 50-150 ms lead-in
        for k, clip in enumerate(chosen):
            if clip.path not in signals:
                signals[clip.path] = read_wav(clip.path, sample_rate=RATE)
            parts.append(signals[clip.path])
            if k < len(chosen) - 1:
                parts.append(np.zeros(int(rng.integers(0, 961)), dtype=np.float32))     # 0-120 ms pause
        parts.append(np.zeros(int(rng.integers(400, 1201)), dtype=np.float32))
        signal = np.concatenate(parts)
        rms = float(np.sqrt(np.mean(signal.astype(np.float64) ** 2))) or 1e-3
        signal = signal + (0.01 * rms * rng.standard_normal(signal.shape[0])).astype(np.float32)
        strings.append(DigitString(digits=digits, speaker=speaker, takes=tuple(c.take for c in chosen),
                                   signal=signal.astype(np.float32)))
    return strings
