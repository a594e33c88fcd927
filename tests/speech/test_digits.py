"""Isolated spoken digits: a padded batch gives each clip its unpadded prediction, save -> load -> the same
answers, the config's checks, and a tiny model that learns (few clips, one epoch or two)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from rnnkit.data import DataError
from rnnkit.tasks._config import ConfigError, config_from_dict
from rnnkit.tasks.runs import open_run
from rnnkit.tasks.speech import SpeechConfig, save_speech_run, train_digit_classifier, transcribe_run
from rnnkit.tasks.speech.data import DigitData, clip_features, split_clips
from rnnkit.tasks.speech.model import build_digit_model, predict_digits
from tests.speech.conftest import mirror_clips, needs_mirror

TINY = SpeechConfig(units=8, epochs=2, patience=0, val_fraction=0.0, batch_size=16, learning_rate=1e-2)


def tiny_data(config: SpeechConfig = TINY) -> DigitData:
    from rnnkit.tasks.speech.config import feature_config

    clips = mirror_clips()
    train, test = split_clips(clips, "usual", None)
    front_end = feature_config(config)
    return DigitData(name="fsdd", train_clips=train, test_clips=test, front_end=front_end,
                     train_features=[clip_features(c.path, front_end) for c in train],
                     test_features=[clip_features(c.path, front_end) for c in test])


@needs_mirror
@pytest.mark.parametrize("pooling, bidirectional", [("mean", True), ("max", False), ("concat", True)])
def test_a_padded_batch_gives_each_clip_its_unpadded_prediction(pooling, bidirectional):
    torch.manual_seed(0)
    config = dataclasses.replace(TINY, pooling=pooling, bidirectional=bidirectional, layers=2)
    model = build_digit_model(config, 39)
    data = tiny_data()
    features = data.test_features[:6]
    assert len({len(f) for f in features}) > 1                     # lengths differ: the batch is padded
    together = np.asarray(model.predict(features, batch_size=6))
    alone = np.concatenate([np.asarray(model.predict([f], batch_size=1)) for f in features])
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)
    np.testing.assert_allclose(predict_digits(model, features), alone, rtol=0, atol=1e-6)   # sorted by length


@needs_mirror
def test_train_save_load_and_transcribe_give_the_same_answers(tmp_path):
    data = tiny_data()
    result = train_digit_classifier(TINY, data=data, baseline=False)
    assert result.history["loss"][-1] < result.history["loss"][0]
    test = result.metrics["test"]
    assert set(test["per_speaker"]) == {"george", "theo"} and test["samples"] == 100
    folder = save_speech_run(result, tmp_path)
    for name in ("model.rnnkit", "metrics.json", "confusion_matrix.png", "test_predictions.csv", "run.json"):
        assert (folder / name).is_file()
    run = open_run(folder, task="speech")
    paths = [c.path for c in data.test_clips[:5]]
    transcripts = transcribe_run(run, paths)
    expected = result.test_probabilities[:5]
    assert [t.text for t in transcripts] == [str(k) for k in expected.argmax(axis=1)]
    np.testing.assert_allclose([t.confidence for t in transcripts], expected.max(axis=1), rtol=0, atol=1e-6)


def test_the_config_checks_its_split_and_speaker():
    with pytest.raises(ConfigError, match="needs test_speaker"):
        config_from_dict(SpeechConfig, {"split": "speaker"})
    with pytest.raises(ConfigError, match="test_speaker must be one of george"):
        config_from_dict(SpeechConfig, {"split": "speaker", "test_speaker": "bob"})
    with pytest.raises(ConfigError, match="applies to split 'speaker'"):
        config_from_dict(SpeechConfig, {"test_speaker": "theo"})
    with pytest.raises(ConfigError, match="data must be 'fsdd'"):
        config_from_dict(SpeechConfig, {"data": "timit"})
    with pytest.raises(ConfigError, match="n_mfcc must be in"):
        config_from_dict(SpeechConfig, {"n_mfcc": 40})


@needs_mirror
def test_leave_one_speaker_out_tests_on_every_take_of_that_speaker():
    clips = mirror_clips(speakers=("george", "theo", "lucas"), takes=range(0, 2))
    train, test = split_clips(clips, "speaker", "lucas")
    assert {c.speaker for c in test} == {"lucas"} and len(test) == 20
    assert "lucas" not in {c.speaker for c in train}
    with pytest.raises(DataError, match="not a speaker of FSDD"):
        split_clips(clips, "speaker", "jackson")


@needs_mirror
def test_speed_perturbation_adds_a_slower_and_a_faster_copy_of_each_training_clip():
    from rnnkit.tasks.speech.data import perturbed_features

    data = tiny_data()
    clip = data.train_clips[0]
    lengths = [len(perturbed_features(clip.path, data.front_end, 0.9)), len(data.train_features[0]),
               len(perturbed_features(clip.path, data.front_end, 1.1))]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] > lengths[2]
    result = train_digit_classifier(dataclasses.replace(TINY, epochs=1, speed_perturb=True), data=data, baseline=False)
    assert result.metrics["train_examples"] == 3 * result.metrics["train_clips"]
