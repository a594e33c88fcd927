"""Audio for the speech task: WAV files in, feature frames out, all in plain torch (torchaudio does not
support this torch).

    >>> signal = read_wav("0_george_0.wav")                 # (N,) float32 in [-1, 1], resampled to 8 kHz
    >>> mfcc(signal, sample_rate=8000)                        # (T, 13): 25 ms frames every 10 ms
    >>> cmvn(add_deltas(mfcc(signal, sample_rate=8000)))      # (T, 39), zero mean, unit variance per coefficient

One concern per file: `wav.py` reads and resamples, `features.py` computes frames -> power spectrum ->
log-mel -> MFCC, deltas and normalisation, `augment.py` masks time and frequency bands (SpecAugment).
"""

from rnnkit.data.audio.augment import spec_augment
from rnnkit.data.audio.features import (
    FeatureConfig,
    add_deltas,
    cmvn,
    deltas,
    features,
    frame_features,
    frame_signal,
    log_mel,
    mel_filterbank,
    mfcc,
    num_frames,
    power_spectrum,
    stack_frames,
    window,
)
from rnnkit.data.audio.wav import read_wav, resample

__all__ = [
    "FeatureConfig",
    "add_deltas",
    "cmvn",
    "deltas",
    "features",
    "frame_features",
    "frame_signal",
    "log_mel",
    "mel_filterbank",
    "mfcc",
    "num_frames",
    "power_spectrum",
    "read_wav",
    "resample",
    "spec_augment",
    "stack_frames",
    "window",
]
