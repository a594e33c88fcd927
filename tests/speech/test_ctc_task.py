"""Connected digits with CTC: the generated strings, the frame check before training, a padded batch gives
each utterance its unpadded log-probabilities, save -> load -> identical transcripts."""

from __future__ import annotations

import dataclasses
import wave

import numpy as np
import pytest
import torch

from rnnkit.data import DataError
from rnnkit.data.audio import FeatureConfig, stack_frames
from rnnkit.tasks.runs import open_run
from rnnkit.tasks.speech import CTCConfig, transcribe_run
from rnnkit.tasks.speech.connected import make_strings
from rnnkit.tasks.speech.data import wav_features
from rnnkit.tasks.speech.ctc import (check_frames, ctc_scores, required_steps, save_ctc_run, train_ctc_model,
                                     transcribe_features, utterance_features)
from rnnkit.tasks.speech.model import build_ctc_model, frame_logits
from tests.speech.conftest import RECORDINGS, mirror_clips, needs_mirror

TINY = CTCConfig(train_strings=40, test_strings=6, max_digits=3, units=8, layers=1, epochs=2, batch_size=8,
                 beam_size=3, patience=0)


@needs_mirror
def test_strings_are_one_speakers_takes_and_the_same_for_the_same_seed():
    clips = mirror_clips(takes=range(5, 8))
    a = make_strings(clips, count=5, min_digits=2, max_digits=4, seed=3)
    b = make_strings(clips, count=5, min_digits=2, max_digits=4, seed=3)
    for x, y in zip(a, b):
        assert x.digits == y.digits and np.array_equal(x.signal, y.signal)
        assert 2 <= len(x.digits) <= 4 and set(x.takes) <= {5, 6, 7} and x.speaker in ("george", "theo")
        assert x.text == " ".join(map(str, x.digits))
    assert any(x.digits != y.digits for x, y in zip(a, make_strings(clips, count=5, min_digits=2, max_digits=4,
                                                                       seed=4)))
    with pytest.raises(DataError, match="no take of digit"):
        make_strings([c for c in clips if c.digit != 7], count=1, min_digits=2, max_digits=3, seed=0)


def test_ctc_needs_a_blank_between_equal_digits_and_says_so_before_training():
    assert required_steps((1, 2, 3)) == 3 and required_steps((4, 4, 4)) == 5 and required_steps(()) == 0
    check_frames([3, 5], [(1, 2, 3), (4, 4, 4)], where="x")
    with pytest.raises(DataError, match=r"utterance 1 has 4 steps but its 3 digits '444' need at least 5"):
        check_frames([3, 4], [(1, 2, 3), (4, 4, 4)], where="the training strings")


def test_wer_and_cer_count_digits():
    scores = ctc_scores(["4 0 7", "1 2"], ["4 0", "1 2"])
    assert scores["wer"] == pytest.approx(1 / 5) and scores["cer"] == pytest.approx(1 / 5)
    assert scores["string_accuracy"] == 0.5 and scores["utterances"] == 2


@needs_mirror
def test_a_padded_batch_gives_each_utterance_its_unpadded_log_probabilities():
    torch.manual_seed(0)
    model = build_ctc_model(dataclasses.replace(TINY, layers=2), 78)
    strings = make_strings(mirror_clips(takes=range(0, 3)), count=5, min_digits=1, max_digits=4, seed=0)
    features = [utterance_features(s.signal, FeatureConfig(), 2) for s in strings]
    assert len({len(f) for f in features}) > 1
    together = frame_logits(model, features)
    for f, batched in zip(features, together):
        (alone,) = frame_logits(model, [f])
        assert batched.shape == (len(f), 11)
        torch.testing.assert_close(batched, alone, rtol=0, atol=1e-5)


def _write(path, signal):
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(8000)
        file.writeframes((np.clip(signal, -1, 1 - 1 / 32768) * 32768).astype("<i2").tobytes())
    return path


@needs_mirror
def test_train_save_load_transcribe_gives_identical_transcripts(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(RECORDINGS.parents[1]))
    result = train_ctc_model(TINY)
    assert set(result.metrics["test"]) == {"greedy", "beam 3"}
    assert len(result.history["loss"]) == 2 and result.history["loss"][1] < result.history["loss"][0]
    folder = save_ctc_run(result, tmp_path)
    run = open_run(folder, task="ctc")
    paths = [_write(tmp_path / f"s{i}.wav", s.signal) for i, s in enumerate(result.test_strings[:3])]
    features = [stack_frames(torch.from_numpy(wav_features(p, FeatureConfig())), 2).numpy() for p in paths]
    for beam in (1, 3):
        expected = transcribe_features(result.model, features, beam_size=beam)     # the model in memory
        got = transcribe_run(run, paths, beam_size=beam)                           # the one read from the folder
        assert [t.text for t in got] == [text for text, _ in expected]
        np.testing.assert_allclose([t.confidence for t in got], [p for _, p in expected], rtol=1e-6, atol=0)
