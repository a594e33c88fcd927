"""rnnkit.data.audio: the WAV reader's errors, resampling, and the features against python_speech_features
(Lyons) on FSDD recordings, in float64.

Bound: MFCC, log-mel and deltas agree with python_speech_features to 1e-9 absolute (measured: ~1e-12; the
two differ only in the order of floating-point sums). The reference reads int16 sample values, so both get
the same float64 signal scaled by 32768.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import python_speech_features as psf
import torch

from rnnkit.data import DataError
from rnnkit.data.audio import (FeatureConfig, add_deltas, cmvn, deltas, features, frame_signal, log_mel, mfcc,
                               num_frames, read_wav, resample, spec_augment)
from rnnkit.data.audio.wav import read_wav_info

RECORDINGS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "fsdd" / "recordings"
CLIPS = ("0_george_0.wav", "3_theo_7.wav", "9_yweweler_49.wav")
needs_mirror = pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"the FSDD mirror {RECORDINGS} is not here")


def write_wav(path: Path, samples: np.ndarray, *, rate: int = 8000, channels: int = 1, width: int = 2) -> Path:
    with wave.open(str(path), "wb") as file:
        file.setnchannels(channels)
        file.setsampwidth(width)
        file.setframerate(rate)
        file.writeframes(np.asarray(samples).tobytes())
    return path


def tone(seconds: float = 0.5, rate: int = 8000, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")


# ---- WAV reading -------------------------------------------------------------------------------------------


def test_a_16_bit_mono_wav_reads_as_floats_in_minus_one_one(tmp_path):
    samples = np.array([0, 16384, -32768, 32767], dtype="<i2")
    signal, rate = read_wav_info(write_wav(tmp_path / "a.wav", samples))
    assert rate == 8000 and signal.dtype == np.float32
    np.testing.assert_array_equal(signal, samples / 32768.0)


@pytest.mark.parametrize("make, words", [
    (lambda p: write_wav(p, np.zeros(800, dtype="<i2"), channels=2), ["mono", "2 channels"]),
    (lambda p: write_wav(p, np.zeros(2400, dtype=np.uint8), width=3), ["16-bit", "24-bit"]),
    (lambda p: write_wav(p, np.zeros(800, dtype=np.uint8), width=1), ["16-bit", "8-bit"]),
    (lambda p: write_wav(p, np.zeros(0, dtype="<i2")), ["no samples", "0 frames"]),
    (lambda p: (p.write_text("not audio at all"), p)[1], ["16-bit PCM WAV", "RIFF"]),
    (lambda p: p, ["no such WAV file"]),
])
def test_a_wav_that_cannot_be_read_is_a_data_error_naming_the_file(tmp_path, make, words):
    path = make(tmp_path / "clip.wav")
    with pytest.raises(DataError) as error:
        read_wav(path)
    message = str(error.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message


def test_another_sample_rate_is_resampled_to_8_khz_keeping_the_pitch(tmp_path):
    signal = read_wav(write_wav(tmp_path / "a.wav", tone(rate=16000), rate=16000))
    assert signal.shape == (4000,)
    peak = np.argmax(np.abs(np.fft.rfft(signal))) * 8000 / len(signal)
    assert abs(peak - 440.0) < 2.0
    assert resample(signal, 8000, 8000) is signal


# ---- features against python_speech_features --------------------------------------------------------------


@needs_mirror
@pytest.mark.parametrize("name", CLIPS)
def test_mfcc_log_mel_and_deltas_match_python_speech_features(name):
    s = read_wav(RECORDINGS / name).astype(np.float64) * 32768
    config = FeatureConfig(n_fft=256)
    reference = dict(samplerate=8000, winlen=0.025, winstep=0.01, nfilt=26, nfft=256, preemph=0.97,
                     winfunc=np.hamming)
    expected = psf.mfcc(s, numcep=13, ceplifter=22, appendEnergy=True, **reference)
    got = mfcc(torch.from_numpy(s), config).numpy()
    assert got.shape == expected.shape == (num_frames(len(s), 200, 80), 13)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    filterbank, _ = psf.fbank(s, **reference)
    np.testing.assert_allclose(log_mel(torch.from_numpy(s), config).numpy(), np.log(filterbank), rtol=0, atol=1e-9)
    np.testing.assert_allclose(deltas(torch.from_numpy(expected), 2).numpy(), psf.delta(expected, 2), rtol=0,
                               atol=1e-9)


@needs_mirror
def test_without_energy_or_lifter_or_preemphasis_it_still_matches():
    s = read_wav(RECORDINGS / CLIPS[1]).astype(np.float64) * 32768
    config = FeatureConfig(n_fft=512, energy=False, lifter=0, preemphasis=0.0, window="rectangular", n_mels=40)
    expected = psf.mfcc(s, samplerate=8000, numcep=13, nfilt=40, nfft=512, preemph=0.0, ceplifter=0,
                        appendEnergy=False)
    np.testing.assert_allclose(mfcc(torch.from_numpy(s), config).numpy(), expected, rtol=0, atol=1e-9)


def test_frames_cover_every_sample_and_the_last_is_zero_padded():
    signal = torch.arange(1.0, 11.0)                          # 10 samples, frames of 4 every 3
    frames = frame_signal(signal, 4, 3)
    assert frames.shape == (num_frames(10, 4, 3), 4) == (3, 4)
    assert frames[-1].tolist() == [7.0, 8.0, 9.0, 10.0]
    assert frame_signal(torch.arange(1.0, 3.0), 4, 3).tolist() == [[1.0, 2.0, 0.0, 0.0]]


def test_deltas_of_a_ramp_are_its_slope_and_add_deltas_stacks_them():
    x = torch.arange(20.0)[:, None] * 3.0                     # (T, 1), slope 3
    d = deltas(x, 2)
    assert torch.allclose(d[2:-2], torch.full((16, 1), 3.0))  # the edges repeat, so the slope drops there
    assert add_deltas(x, 2, 2).shape == (20, 3)


def test_cmvn_gives_each_coefficient_zero_mean_and_unit_variance():
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(0)) * 7 + 3
    y = cmvn(x)
    assert torch.allclose(y.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(y.std(0, unbiased=False), torch.ones(4), atol=1e-4)


@needs_mirror
def test_the_model_features_are_float32_39_wide_and_normalised():
    x = features(torch.from_numpy(read_wav(RECORDINGS / CLIPS[0])))
    assert x.dtype == torch.float32 and x.shape[1] == FeatureConfig().size == 39
    assert torch.allclose(x.mean(0), torch.zeros(39), atol=1e-4)


def test_a_frame_shorter_than_n_fft_is_checked():
    with pytest.raises(ValueError, match="n_fft must be >= the frame length"):
        mfcc(torch.zeros(800), FeatureConfig(n_fft=128))
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        mfcc(torch.zeros(2, 800))


def test_spec_augment_zeroes_whole_bands_and_leaves_the_input_alone():
    x = torch.ones(100, 20)
    y = spec_augment(x, time_masks=2, time_width=10, freq_masks=2, freq_width=4,
                     generator=torch.Generator().manual_seed(1))
    assert torch.equal(x, torch.ones(100, 20))
    zero_rows, zero_columns = (y == 0).all(dim=1), (y == 0).all(dim=0)
    assert ((y == 0) == (zero_rows[:, None] | zero_columns[None, :])).all()   # zeros come only in whole bands
    assert 0 < int(zero_columns.sum()) <= 8 and int(zero_rows.sum()) <= 20
