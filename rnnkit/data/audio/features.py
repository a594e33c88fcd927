"""Speech features in plain torch: frames -> power spectrum -> log-mel -> MFCC, deltas, per-utterance CMVN.

Legend: N samples, L frame length (samples), S hop (samples), T frames, F = n_fft / 2 + 1 frequency bins,
M mel filters, C cepstral coefficients.

    x_t[n]  = pre-emphasised signal s[n] - a s[n-1], cut into T frames of L samples every S, the last zero-padded
    P_t[k]  = |FFT_n_fft(w * x_t)[k]|^2 / n_fft                          power spectrum          (T, F)
    E_t     = log sum_k P_t[k]                                           log frame energy        (T,)
    m_t[j]  = log sum_k H[j, k] P_t[k]                                   log-mel (triangles H)   (T, M)
    c_t[i]  = (1 + lifter/2 sin(pi i / lifter)) DCT-II_ortho(m_t)[i]     MFCC, i < C             (T, C)
    d_t     = sum_{n=1..K} n (c_{t+n} - c_{t-n}) / (2 sum n^2)           deltas, edges repeated  (T, C)

The conventions are those of python_speech_features (Lyons), which the tests compare against on FSDD
recordings: frames are cut by `Tensor.unfold` and transformed by `torch.fft.rfft` rather than `torch.stft`,
because stft centres a short window inside the n_fft-sample frame and would shift every frame by
(n_fft - L) / 2 samples; the mel triangles sit on whole FFT bins (`floor((n_fft + 1) f / rate)`); with
`energy` the log frame energy replaces c_0. Zeros are floored at float eps before each log, as there.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

__all__ = ["FeatureConfig", "add_deltas", "cmvn", "deltas", "features", "frame_features", "frame_signal", "log_mel", "mel_filterbank",
           "mfcc", "num_frames", "power_spectrum", "stack_frames", "window"]


@dataclass(frozen=True, kw_only=True)
class FeatureConfig:
    """How a signal becomes feature frames (the defaults: 13 MFCC + deltas + delta-deltas, 25 ms every 10 ms)."""

    sample_rate: int = 8000  # Hz; FSDD is recorded at 8 kHz
    frame_ms: float = 25.0  # analysis window
    hop_ms: float = 10.0  # one frame every hop_ms: 100 frames a second
    n_fft: int = 256  # FFT size (>= the frame length in samples: 200 at 8 kHz)
    n_mels: int = 26  # triangular mel filters between 0 Hz and the Nyquist frequency
    n_mfcc: int = 13  # cepstral coefficients kept
    kind: Literal["mfcc", "logmel"] = "mfcc"  # what each frame holds before deltas
    preemphasis: float = 0.97  # s[n] - a s[n-1] (0: none)
    lifter: int = 22  # sinusoidal cepstral liftering (0: none)
    energy: bool = True  # mfcc: the log frame energy replaces c_0
    window: Literal["hamming", "hann", "rectangular"] = "hamming"
    delta_order: int = 2  # 0: the features only; 1: + deltas; 2: + deltas + delta-deltas
    delta_width: int = 2  # K frames either side in the delta regression
    normalize: bool = True  # per-utterance mean/variance normalisation of every coefficient

    @property
    def frame_length(self) -> int:
        return _round_half_up(self.frame_ms * self.sample_rate / 1000)

    @property
    def hop_length(self) -> int:
        return _round_half_up(self.hop_ms * self.sample_rate / 1000)

    @property
    def size(self) -> int:
        """Coefficients per frame after deltas: the model's input size I."""
        base = self.n_mfcc if self.kind == "mfcc" else self.n_mels
        return base * (self.delta_order + 1)

    def check(self) -> None:
        if self.n_fft < self.frame_length:
            raise ValueError(f"FeatureConfig: n_fft must be >= the frame length ({self.frame_length} samples = "
                             f"{self.frame_ms} ms at {self.sample_rate} Hz); got {self.n_fft}")
        if self.kind == "mfcc" and not 1 <= self.n_mfcc <= self.n_mels:
            raise ValueError(f"FeatureConfig: n_mfcc must be in [1, n_mels={self.n_mels}]; got {self.n_mfcc}")
        if self.delta_order not in (0, 1, 2):
            raise ValueError(f"FeatureConfig: delta_order must be 0, 1 or 2; got {self.delta_order}")


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _log(x: Tensor) -> Tensor:
    return torch.log(torch.clamp(x, min=torch.finfo(x.dtype).eps))


def num_frames(samples: int, frame_length: int, hop_length: int) -> int:
    """T: frames of `frame_length` every `hop_length` covering `samples` (the last one zero-padded)."""
    return 1 + math.ceil(max(samples - frame_length, 0) / hop_length)


def frame_signal(signal: Tensor, frame_length: int, hop_length: int) -> Tensor:
    """(N,) -> (T, L): overlapping frames, the end zero-padded so that every sample lies in a frame."""
    N = signal.shape[0]
    T = num_frames(N, frame_length, hop_length)
    padded = torch.nn.functional.pad(signal, (0, (T - 1) * hop_length + frame_length - N))
    return padded.unfold(0, frame_length, hop_length)                       # (T, L)


def _window(kind: str, length: int, dtype: torch.dtype) -> Tensor:
    if kind == "rectangular":
        return torch.ones(length, dtype=dtype)
    make = torch.hamming_window if kind == "hamming" else torch.hann_window
    return make(length, periodic=False, dtype=dtype)                         # symmetric, as numpy's


def power_spectrum(frames: Tensor, n_fft: int, window: Tensor) -> Tensor:
    """(T, L) -> (T, F): |FFT(w * x)|^2 / n_fft, each frame zero-padded to n_fft."""
    spectrum = torch.fft.rfft(frames * window, n=n_fft)                      # (T, F) complex
    return spectrum.abs().square() / n_fft


def _hz_to_mel(hz: Tensor) -> Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: Tensor) -> Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@functools.lru_cache(maxsize=16)  # the same few filterbanks for every clip; never modified in place
def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, *, low_hz: float = 0.0, high_hz: float | None = None,
                   dtype: torch.dtype = torch.float32) -> Tensor:
    """(M, F) triangular filters, equally spaced in mel between low_hz and high_hz (default: Nyquist),
    corners on whole FFT bins; filter j rises from bin b_j to b_{j+1} and falls to b_{j+2}."""
    high_hz = sample_rate / 2 if high_hz is None else high_hz
    edges = torch.linspace(float(_hz_to_mel(torch.tensor(low_hz, dtype=torch.float64))),
                           float(_hz_to_mel(torch.tensor(high_hz, dtype=torch.float64))), n_mels + 2,
                           dtype=torch.float64)
    b = torch.floor((n_fft + 1) * _mel_to_hz(edges) / sample_rate).long()   # (M + 2,) corner bins
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)                   # (F,)
    H = torch.zeros(n_mels, n_fft // 2 + 1, dtype=torch.float64)
    for j in range(n_mels):
        left, centre, right = b[j], b[j + 1], b[j + 2]
        rising = (k >= left) & (k < centre)
        falling = (k >= centre) & (k < right)
        H[j, rising] = (k[rising] - left) / (centre - left)
        H[j, falling] = (right - k[falling]) / (right - centre)
    return H.to(dtype)


@functools.lru_cache(maxsize=16)
def _dct_ortho(n: int, dtype: torch.dtype) -> Tensor:
    """(n, n) DCT-II matrix, orthonormal: y = x @ D gives scipy.fft.dct(x, type=2, norm="ortho")."""
    i = torch.arange(n, dtype=torch.float64)
    D = torch.cos(math.pi * (i[:, None] + 0.5) * i[None, :] / n) * math.sqrt(2.0 / n)   # (n_in, n_out)
    D[:, 0] /= math.sqrt(2.0)
    return D.to(dtype)


def window(config: FeatureConfig, dtype: torch.dtype = torch.float32) -> Tensor:
    """(L,) the analysis window of `config`."""
    return _window(config.window, config.frame_length, dtype)


def _spectrum(signal: Tensor, config: FeatureConfig) -> Tensor:
    """(N,) -> (T, F) power spectrum of the pre-emphasised frames."""
    config.check()
    if signal.ndim != 1:
        raise ValueError(f"features: signal must have shape (N,) (one mono recording); got {tuple(signal.shape)}")
    if config.preemphasis:
        signal = torch.cat([signal[:1], signal[1:] - config.preemphasis * signal[:-1]])
    frames = frame_signal(signal, config.frame_length, config.hop_length)    # (T, L)
    return power_spectrum(frames, config.n_fft, _window(config.window, config.frame_length, signal.dtype))


def _as_tensor(signal: Tensor | object) -> Tensor:
    signal = torch.as_tensor(signal)
    return signal if signal.is_floating_point() else signal.to(torch.float32)


def frame_features(P: Tensor, config: FeatureConfig = FeatureConfig()) -> Tensor:
    """(T, F) power spectrum -> (T, C) MFCC or (T, M) log-mel, as `config.kind` says (one frame needs no other)."""
    H = mel_filterbank(config.n_mels, config.n_fft, config.sample_rate, dtype=P.dtype)        # (M, F)
    m = _log(P @ H.T)                                                                        # (T, M)
    if config.kind == "logmel":
        return m
    c = (m @ _dct_ortho(config.n_mels, m.dtype))[:, : config.n_mfcc]                         # (T, C)
    if config.lifter:
        i = torch.arange(config.n_mfcc, dtype=c.dtype)
        c = c * (1.0 + config.lifter / 2.0 * torch.sin(math.pi * i / config.lifter))
    if config.energy:
        c = torch.cat([_log(P.sum(dim=1))[:, None], c[:, 1:]], dim=1)
    return c


def log_mel(signal: Tensor, config: FeatureConfig = FeatureConfig()) -> Tensor:
    """(N,) -> (T, M) log mel-filterbank energies."""
    return frame_features(_spectrum(_as_tensor(signal), config), dataclasses.replace(config, kind="logmel"))


def mfcc(signal: Tensor, config: FeatureConfig = FeatureConfig()) -> Tensor:
    """(N,) -> (T, C) mel-frequency cepstral coefficients (liftered; c_0 = log energy with `energy`)."""
    return frame_features(_spectrum(_as_tensor(signal), config), dataclasses.replace(config, kind="mfcc"))


def deltas(x: Tensor, width: int = 2) -> Tensor:
    """(T, C) -> (T, C): the regression slope over `width` frames either side, edge frames repeated."""
    T = x.shape[0]
    padded = torch.cat([x[:1].expand(width, -1), x, x[-1:].expand(width, -1)])   # (T + 2K, C)
    numerator = sum(n * (padded[width + n: width + n + T] - padded[width - n: width - n + T])
                    for n in range(1, width + 1))
    return numerator / (2 * sum(n * n for n in range(1, width + 1)))


def add_deltas(x: Tensor, order: int = 2, width: int = 2) -> Tensor:
    """(T, C) -> (T, C (order + 1)): the features, their deltas, and (order 2) the deltas of the deltas."""
    parts = [x]
    for _ in range(order):
        parts.append(deltas(parts[-1], width))
    return torch.cat(parts, dim=1)


def cmvn(x: Tensor, eps: float = 1e-5) -> Tensor:
    """(T, C) -> (T, C): each coefficient minus its mean over the utterance, over its standard deviation
    (population; eps keeps a constant coefficient finite)."""
    mean = x.mean(dim=0, keepdim=True)
    std = x.std(dim=0, unbiased=False, keepdim=True) if x.shape[0] > 1 else torch.ones_like(mean)
    return (x - mean) / (std + eps)


def features(signal: Tensor, config: FeatureConfig = FeatureConfig()) -> Tensor:
    """(N,) -> (T, I): MFCC or log-mel frames, + deltas, normalised per utterance, as float32 model input."""
    signal = _as_tensor(signal)
    base = frame_features(_spectrum(signal, config), config)
    x = add_deltas(base, config.delta_order, config.delta_width)
    return (cmvn(x) if config.normalize else x).to(torch.float32)


def stack_frames(x: Tensor, k: int) -> Tensor:
    """(T, I) -> (ceil(T / k), k I): k consecutive frames side by side (the last group zero-padded), so a
    recurrence reads k times fewer, wider steps (CTC models: one step every 20 ms at k = 2)."""
    if k == 1:
        return x
    T, I = x.shape
    padded = torch.nn.functional.pad(x, (0, 0, 0, -T % k))                  # (k ceil(T / k), I)
    return padded.reshape(-1, k * I)
