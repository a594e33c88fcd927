"""FSDD clips as feature frames, split the usual way or leaving one speaker out.

    >>> data = load_digits(SpeechConfig())                 # the usual split: takes 0-4 of every speaker test
    >>> data.train_features[0].shape                        # (T_i, 39): 13 MFCC + deltas + delta-deltas

Features are computed once per clip and process (`clip_features`, memoised on the path and the front end):
the 3000 clips take about 10 s on one core.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from rnnkit.data import DataError, SpokenDigit, fsdd_files
from rnnkit.data.audio import FeatureConfig, cmvn, features, read_wav, spec_augment
from rnnkit.tasks.speech.config import SpeechConfig, feature_config

__all__ = ["DIGITS", "DigitData", "FeatureDataset", "SPEEDS", "clip_features", "digit_features", "load_digits",
           "perturbed_features", "speaker_normalised", "wav_features"]

DIGITS = tuple(str(d) for d in range(10))


@functools.lru_cache(maxsize=8192)
def _raw_features(path: Path, front_end: FeatureConfig) -> torch.Tensor:
    return features(torch.from_numpy(read_wav(path, sample_rate=front_end.sample_rate)),
                    dataclasses.replace(front_end, normalize=False))


def clip_features(path: Path, front_end: FeatureConfig) -> np.ndarray:
    """(T, I) float32 features of one FSDD clip. Memoised before normalisation (every run of a process reads
    each clip once, and the baseline's un-normalised statistics come from the same frames)."""
    raw = _raw_features(path, dataclasses.replace(front_end, normalize=False))
    return (cmvn(raw) if front_end.normalize else raw).numpy()


SPEEDS = {0.9: (10, 9), 1.1: (10, 11)}  # speed -> (up, down) of the resampling that plays a clip that fast


@functools.lru_cache(maxsize=8192)
def perturbed_features(path: Path, front_end: FeatureConfig, speed: float) -> np.ndarray:
    """(T', I) features of a clip played `speed` times as fast (resampled by 1 / speed and read at the old
    rate: shorter and higher at 1.1, as in Ko et al. 2015's speed perturbation)."""
    from scipy.signal import resample_poly

    up, down = SPEEDS[speed]
    signal = resample_poly(read_wav(path, sample_rate=front_end.sample_rate), up, down).astype(np.float32)
    return features(torch.from_numpy(signal), front_end).numpy()


def wav_features(path: str | Path, front_end: FeatureConfig) -> np.ndarray:
    """(T, I) features of a user's WAV (any rate: resampled), not memoised."""
    return features(torch.from_numpy(read_wav(path, sample_rate=front_end.sample_rate)), front_end).numpy()


def speaker_normalised(features: Sequence[np.ndarray], speakers: Sequence[str], *,
                       eps: float = 1e-5) -> list[np.ndarray]:
    """(T_i, I) un-normalised clips -> (T_i, I) float32: each coefficient minus its mean, over its standard
    deviation (population), across all frames of the clips of the same speaker.

        x_hat_t = (x_t - mean_s) / (std_s + eps),   mean_s, std_s over {x_t of every clip i with speakers[i] = s}

    `cmvn` with a speaker's clips in place of one utterance: cepstral mean and variance normalisation per
    speaker. No labels are read, so a new speaker's unlabelled recordings give their own statistics
    (unsupervised speaker adaptation); with one clip a speaker this is `cmvn`. The clips are the unpadded
    frames of each, so padding never enters the statistics; statistics in float64.
    """
    if len(features) != len(speakers):
        raise ValueError(f"speaker_normalised: speakers must name one speaker per clip ({len(features)} clips); got "
                         f"{len(speakers)} speakers")
    widths = {f.shape[1] if f.ndim == 2 else None for f in features}
    if len(widths) > 1 or None in widths:
        raise ValueError(f"speaker_normalised: features must be (T_i, I) arrays with one I; got shapes "
                         f"{sorted({tuple(f.shape) for f in features})[:4]}")
    clips = [torch.from_numpy(np.asarray(f)) for f in features]
    stats = {}
    for speaker in dict.fromkeys(speakers):
        frames = torch.cat([x for x, s in zip(clips, speakers) if s == speaker]).double()     # (sum T_i, I)
        mean = frames.mean(0)
        std = frames.std(0, unbiased=False) if len(frames) > 1 else torch.ones_like(mean)   # as cmvn
        stats[speaker] = (mean, std + eps)
    return [((x.double() - stats[s][0]) / stats[s][1]).float().numpy() for x, s in zip(clips, speakers)]


def digit_features(clips: Sequence[SpokenDigit], front_end: FeatureConfig, normalization: str) -> list[np.ndarray]:
    """(T_i, I) model input of FSDD clips: normalised per clip ("utterance": `front_end.normalize`) or
    per speaker over these clips ("speaker", `front_end` un-normalised)."""
    if normalization == "speaker":
        raw = dataclasses.replace(front_end, normalize=False)
        return speaker_normalised([clip_features(c.path, raw) for c in clips], [c.speaker for c in clips])
    return [clip_features(c.path, front_end) for c in clips]


@dataclass(kw_only=True)
class DigitData:
    name: str
    train_clips: list[SpokenDigit]
    test_clips: list[SpokenDigit]
    train_features: list[np.ndarray]        # (T_i, I) each
    test_features: list[np.ndarray]
    front_end: FeatureConfig

    @property
    def train_labels(self) -> np.ndarray:
        return np.array([c.digit for c in self.train_clips], dtype=np.int64)

    @property
    def test_labels(self) -> np.ndarray:
        return np.array([c.digit for c in self.test_clips], dtype=np.int64)


def split_clips(clips: list[SpokenDigit], split: str, test_speaker: str | None) -> tuple[list, list]:
    if split == "usual":
        return [c for c in clips if c.split == "train"], [c for c in clips if c.split == "test"]
    speakers = sorted({c.speaker for c in clips})
    if test_speaker not in speakers:
        raise DataError(f"--test-speaker {test_speaker!r} is not a speaker of FSDD; its speakers are "
                        f"{', '.join(speakers)}")
    return [c for c in clips if c.speaker != test_speaker], [c for c in clips if c.speaker == test_speaker]


def load_digits(config: SpeechConfig, *, quiet: bool = True) -> DigitData:
    """The split's clips and features. normalization "speaker": the training clips normalised per training
    speaker, the test clips per test speaker over that speaker's test clips only (no labels read)."""
    front_end = feature_config(config)
    clips = fsdd_files(config.data, quiet=quiet)
    train, test = split_clips(clips, config.split, config.test_speaker)
    return DigitData(name=config.data, train_clips=train, test_clips=test, front_end=front_end,
                     train_features=digit_features(train, front_end, config.normalization),
                     test_features=digit_features(test, front_end, config.normalization))


class FeatureDataset(Dataset):
    """(features (T_i, I), target) pairs for `pad_collate`; with `augment`, SpecAugment masks drawn anew each
    time a clip is read (from torch's generator, which `fit` seeds per epoch)."""

    def __init__(self, features: list[np.ndarray], targets: list, *, augment: bool = False) -> None:
        self.features, self.targets, self.augment = [torch.from_numpy(f) for f in features], targets, augment

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, object]:
        x = self.features[i]
        if self.augment:
            x = spec_augment(x, time_masks=2, time_width=8, freq_masks=2, freq_width=5)
        return x, self.targets[i]
