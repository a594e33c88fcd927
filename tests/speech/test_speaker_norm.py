"""normalization "speaker": the per-speaker normaliser on hand-made frames, the config's check, and a tiny run
whose saved model transcribes and evaluates as it scored in training (few clips, one epoch)."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.cli import main
from rnnkit.data import DataError
from rnnkit.data.audio import cmvn
from rnnkit.tasks._config import ConfigError, config_from_dict
from rnnkit.tasks.runs import open_run
from rnnkit.tasks.speech import CTCConfig, SpeechConfig, save_speech_run, train_digit_classifier, transcribe_run
from rnnkit.tasks.speech.config import feature_config
from rnnkit.tasks.speech.data import DigitData, digit_features, speaker_normalised, split_clips
from rnnkit.tasks.speech.evaluate import evaluate_speech_run
from tests.speech.conftest import mirror_clips, needs_mirror
from tests.speech.test_digits import TINY

SPEAKER_TINY = dataclasses.replace(TINY, normalization="speaker", epochs=1)


def _clips(rng: np.random.Generator, lengths: list[int], *, mean: float, scale: float) -> list[np.ndarray]:
    return [(mean + scale * rng.standard_normal((T, 3))).astype(np.float32) for T in lengths]


def test_each_speakers_frames_end_with_mean_0_and_std_1():
    rng = np.random.default_rng(0)
    a, b = _clips(rng, [5, 9, 7], mean=4.0, scale=3.0), _clips(rng, [11, 6], mean=-2.0, scale=0.5)
    out = speaker_normalised(a + b, ["a"] * 3 + ["b"] * 2)
    assert [x.shape for x in out] == [x.shape for x in a + b] and all(x.dtype == np.float32 for x in out)
    for frames in (np.concatenate(out[:3]), np.concatenate(out[3:])):                       # (sum T_i, 3)
        np.testing.assert_allclose(frames.mean(axis=0), 0.0, atol=1e-6)
        np.testing.assert_allclose(frames.std(axis=0), 1.0, atol=1e-4)     # 1 - eps / std: eps 1e-5, std 0.5
    # the clips of one speaker are not normalised each alone: a clip's own mean stays off zero
    assert np.abs(out[0].mean(axis=0)).max() > 0.05


def test_another_speakers_clips_leave_a_speakers_statistics_alone():
    rng = np.random.default_rng(1)
    a, b = _clips(rng, [5, 9, 7], mean=4.0, scale=3.0), _clips(rng, [11, 6], mean=-2.0, scale=0.5)
    alone = speaker_normalised(a, ["a"] * 3)
    interleaved = speaker_normalised([a[0], b[0], a[1], b[1], a[2]], ["a", "b", "a", "b", "a"])
    for x, y in zip(alone, [interleaved[0], interleaved[2], interleaved[4]]):
        np.testing.assert_array_equal(x, y)


def test_one_clip_a_speaker_is_per_utterance_normalisation():
    rng = np.random.default_rng(2)
    clips = _clips(rng, [8, 13], mean=1.0, scale=2.0)
    out = speaker_normalised(clips, ["x", "y"])
    for x, y in zip(out, clips):
        np.testing.assert_allclose(x, cmvn(torch.from_numpy(y)).numpy(), rtol=0, atol=1e-5)
    single = speaker_normalised([clips[0][:1]], ["x"])[0]                    # one frame: zero, not a division by 0
    np.testing.assert_array_equal(single, np.zeros((1, 3), dtype=np.float32))
    assert speaker_normalised([], []) == []


def test_the_normaliser_says_what_is_wrong():
    clips = [np.zeros((4, 3), dtype=np.float32), np.zeros((5, 3), dtype=np.float32)]
    with pytest.raises(ValueError, match=r"speakers must name one speaker per clip \(2 clips\); got 1"):
        speaker_normalised(clips, ["a"])
    with pytest.raises(ValueError, match=r"one I; got shapes \[\(4, 3\), \(5, 2\)\]"):
        speaker_normalised([clips[0], np.zeros((5, 2), dtype=np.float32)], ["a", "a"])


def test_the_config_checks_its_normalization():
    assert SpeechConfig().normalization == "utterance" and feature_config(SpeechConfig()).normalize
    config = config_from_dict(SpeechConfig, {"normalization": "speaker"})
    assert not feature_config(config).normalize                       # the front end gives the raw frames
    with pytest.raises(ConfigError, match="SpeechConfig.normalization must be one of utterance, speaker; got 'global'"):
        config_from_dict(SpeechConfig, {"normalization": "global"})
    with pytest.raises(ConfigError, match="CTCConfig.normalization must be one of utterance, global; got 'speaker'"):
        config_from_dict(CTCConfig, {"normalization": "speaker"})


def tiny_speaker_data(config: SpeechConfig = SPEAKER_TINY) -> DigitData:
    train, test = split_clips(mirror_clips(), "usual", None)
    front_end = feature_config(config)
    return DigitData(name="fsdd", train_clips=train, test_clips=test, front_end=front_end,
                     train_features=digit_features(train, front_end, config.normalization),
                     test_features=digit_features(test, front_end, config.normalization))


@pytest.fixture(scope="module")
def speaker_run(tmp_path_factory):
    data = tiny_speaker_data()
    result = train_digit_classifier(SPEAKER_TINY, data=data, baseline=False)
    root = tmp_path_factory.mktemp("speaker_runs")
    clips = root / "test_clips"
    clips.mkdir()
    for clip in data.test_clips:
        shutil.copy(clip.path, clips / clip.path.name)
    return save_speech_run(result, root), result, clips


@needs_mirror
def test_test_clips_are_normalised_over_their_speakers_test_clips_only():
    data = tiny_speaker_data()
    george = [i for i, c in enumerate(data.test_clips) if c.speaker == "george"]
    frames = np.concatenate([data.test_features[i] for i in george])
    np.testing.assert_allclose(frames.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(frames.std(axis=0), 1.0, atol=1e-4)
    # the training clips of george (takes 5-7 here) gave their own statistics, not the test clips'
    george_train = np.concatenate([f for f, c in zip(data.train_features, data.train_clips) if c.speaker == "george"])
    np.testing.assert_allclose(george_train.mean(axis=0), 0.0, atol=1e-5)


@needs_mirror
def test_a_speaker_normalised_run_transcribes_as_it_scored(speaker_run):
    folder, result, _ = speaker_run
    run = open_run(folder, task="speech")
    assert run.config.normalization == "speaker" and not run.state["front_end"]["normalize"]
    test_clips = result.data.test_clips
    # one call, one speaker: george's 50 test clips together give the probabilities of training's test scores
    george = [i for i, c in enumerate(test_clips) if c.speaker == "george"]
    transcripts = transcribe_run(run, [test_clips[i].path for i in george])
    expected = result.test_probabilities[george]
    assert [t.text for t in transcripts] == [str(k) for k in expected.argmax(axis=1)]
    np.testing.assert_allclose([t.confidence for t in transcripts], expected.max(axis=1), rtol=0, atol=1e-5)
    # both speakers in one call, each named
    every = transcribe_run(run, [c.path for c in test_clips], speakers=[c.speaker for c in test_clips])
    np.testing.assert_allclose([t.confidence for t in every], result.test_probabilities.max(axis=1), rtol=0,
                               atol=1e-5)
    with pytest.raises(ValueError, match=r"speakers must name one speaker per path \(2 paths\); got 1"):
        transcribe_run(run, [c.path for c in test_clips[:2]], speakers=["george"])


@needs_mirror
def test_evaluate_of_a_speaker_normalised_run_groups_clips_by_speaker(speaker_run, tmp_path, capsys):
    folder, result, clips = speaker_run
    run, test = open_run(folder), result.metrics["test"]
    report, _ = evaluate_speech_run(run, str(clips))                               # a folder: the file names
    assert report["accuracy"] == test["accuracy"] and report["per_speaker"] == test["per_speaker"]
    assert report["normalization"] == "normalised per speaker of the file names (2 speakers)"
    paths = sorted(clips.iterdir())
    digits = [p.name[0] for p in paths]
    pd.DataFrame({"path": [str(p) for p in paths], "text": digits}).to_csv(tmp_path / "names.csv", index=False)
    report, _ = evaluate_speech_run(run, str(tmp_path / "names.csv"))           # no speaker column: FSDD names
    assert report["accuracy"] == test["accuracy"] and "FSDD file names (2 speakers" in report["normalization"]
    speakers = [p.name.split("_")[1] for p in paths]
    pd.DataFrame({"path": [str(p) for p in paths], "text": digits, "speaker": speakers}).to_csv(
        tmp_path / "column.csv", index=False)
    report, _ = evaluate_speech_run(run, str(tmp_path / "column.csv"))
    assert report["accuracy"] == test["accuracy"] and "CSV's speaker column (2 speakers)" in report["normalization"]
    # names that do not parse and no speaker column: one speaker, and the report says so
    shutil.copy(paths[0], tmp_path / "mine.wav")
    pd.DataFrame({"path": ["mine.wav", str(paths[1])], "text": digits[:2]}).to_csv(tmp_path / "odd.csv", index=False)
    report, _ = evaluate_speech_run(run, str(tmp_path / "odd.csv"))
    assert report["normalization"].startswith("all 2 clips normalised together as one speaker's")
    assert "'mine.wav' is not named" in report["normalization"]
    pd.DataFrame({"path": [str(p) for p in paths[:2]], "text": digits[:2], "speaker": ["george", ""]}).to_csv(
        tmp_path / "empty.csv", index=False)
    with pytest.raises(DataError, match=r"row 2 \(after the header\) has an empty speaker"):
        evaluate_speech_run(run, str(tmp_path / "empty.csv"))
    assert main(["evaluate", str(folder), "--data", str(clips)]) == 0
    out = capsys.readouterr().out
    assert "features normalised per speaker of the file names" in out and f"{test['accuracy']:.4f}" in out


@needs_mirror
def test_transcribe_of_a_speaker_normalised_run_says_how_it_normalises(speaker_run, capsys):
    folder, result, _ = speaker_run
    paths = [str(c.path) for c in result.data.test_clips[:3]]
    assert main(["transcribe", str(folder), *paths]) == 0
    out = capsys.readouterr().out
    assert "the files of this call (3) are taken as recordings of one speaker" in out and "note:" not in out
    assert len([line for line in out.splitlines() if "\t" in line]) == 3
    assert main(["transcribe", str(folder), paths[0]]) == 0
    assert "note: with one file the speaker statistics are that file's own" in capsys.readouterr().out


@needs_mirror
def test_speed_perturbed_copies_are_normalised_as_speakers_of_their_own():
    data = tiny_speaker_data()
    config = dataclasses.replace(SPEAKER_TINY, speed_perturb=True)
    result = train_digit_classifier(config, data=data, baseline=False)
    assert result.metrics["train_examples"] == 3 * result.metrics["train_clips"]
