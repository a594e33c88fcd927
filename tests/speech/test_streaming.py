"""Streaming equals offline: features pushed in chunks of any size equal `features` of the whole signal, and
a unidirectional CTC model stepped one stacked frame at a time gives the log-probabilities and the greedy
transcript of the offline model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from rnnkit.data.audio import FeatureConfig, features, read_wav
from rnnkit.decoding.ctc import ctc_greedy
from rnnkit.tasks.speech import CTCConfig
from rnnkit.tasks.speech.connected import make_strings
from rnnkit.tasks.speech.ctc import fit_scaler, utterance_features
from rnnkit.tasks.speech.model import build_ctc_model, frame_logits
from rnnkit.tasks.speech.streaming import StreamingFeatures, StreamingTranscriber
from tests.speech.conftest import RECORDINGS, mirror_clips, needs_mirror

RAW = FeatureConfig(normalize=False)


def offline(signal: np.ndarray, front_end: FeatureConfig = RAW) -> torch.Tensor:
    return features(torch.from_numpy(signal.astype(np.float32)), front_end)


def stream(signal: np.ndarray, chunk: int, front_end: FeatureConfig = RAW) -> torch.Tensor:
    s = StreamingFeatures(front_end)
    parts = [s.push(signal[i:i + chunk]) for i in range(0, len(signal), chunk)] + [s.flush()]
    return torch.cat(parts)


@needs_mirror
@pytest.mark.parametrize("chunk", [80, 37, 200, 1000, 100_000])
def test_streamed_features_equal_the_offline_features(chunk):
    signal = read_wav(RECORDINGS / "5_jackson_12.wav")
    expected = offline(signal)
    got = stream(signal, chunk)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("samples", [1, 150, 200, 281])
def test_very_short_signals_stream_like_offline(samples):
    signal = np.random.default_rng(0).standard_normal(samples).astype(np.float32) * 0.1
    front_end = dataclasses.replace(RAW, delta_order=1)
    torch.testing.assert_close(stream(signal, 64, front_end), offline(signal, front_end), rtol=0, atol=1e-4)


def test_per_utterance_normalisation_cannot_stream():
    with pytest.raises(ValueError, match="normalize=False"):
        StreamingFeatures(FeatureConfig())


@needs_mirror
def test_the_stepped_model_equals_the_offline_model_and_its_greedy_transcript():
    torch.manual_seed(0)
    config = CTCConfig(units=12, layers=2, bidirectional=False, normalization="global")
    strings = make_strings(mirror_clips(takes=range(0, 2)), count=3, min_digits=2, max_digits=3, seed=0)
    scaler = fit_scaler([s.signal for s in strings], RAW)
    model = build_ctc_model(config, RAW.size * 2)
    for string in strings:
        (expected,) = frame_logits(model, [utterance_features(string.signal, RAW, 2, scaler)])
        transcriber = StreamingTranscriber(model, RAW, frame_stack=2, scaler=scaler)
        digits = []
        for i in range(0, len(string.signal), 80):                     # 10 ms chunks
            digits += transcriber.push(string.signal[i:i + 80])
        digits += transcriber.flush()
        got = torch.stack(transcriber.log_probs)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)
        assert tuple(d + 1 for d in digits) == ctc_greedy(expected).labels
        assert transcriber.text == " ".join(map(str, digits))


def test_a_bidirectional_model_cannot_stream():
    model = build_ctc_model(CTCConfig(units=4, layers=1), RAW.size)
    with pytest.raises(ValueError, match="unidirectional"):
        StreamingTranscriber(model, RAW, frame_stack=1, scaler=None)
