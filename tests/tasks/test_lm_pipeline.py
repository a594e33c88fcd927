"""The language-model pipeline end to end on a small text: it learns, saves a run folder that evaluates and
generates the same again, resumes, and refuses bad text with one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.data import DataError
from rnnkit.tasks.lm import LMConfig, generate, train_lm
from rnnkit.tasks.lm.run import evaluate_lm_run, load_lm_model, save_lm_run
from rnnkit.tasks.runs import open_run

# a text with structure an LSTM picks up in a few hundred steps (and an n-gram too)
VERSE = ("the cat sat on the mat. the dog lay on the log. a cat and a dog sat on a mat and a log.\n"
         "so the cat and the dog lay down together, and the mat and the log were warm.\n")
SMALL = {"units": 32, "layers": 1, "embedding_size": 16, "seq_len": 32, "batch_size": 8, "epochs": 4,
         "time_budget": 0.0, "learning_rate": 1e-2, "sample_length": 60, "ngram_order": 3}


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "verse.txt"
    path.write_text(VERSE * 60, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(text_file):
    return train_lm(LMConfig(data=str(text_file), **SMALL))


def test_the_model_learns_and_is_scored_beside_the_baselines(trained):
    val = trained.metrics["val"]
    assert set(val) == {"model", "unigram", "kneser_ney_3"}
    assert val["model"]["nats_per_char"] < 0.6 * val["unigram"]["nats_per_char"]
    for entry in val.values():
        assert entry["bits_per_char"] == pytest.approx(entry["nats_per_char"] / np.log(2))
        assert entry["tokens"] == entry["chars"] == trained.metrics["val_tokens"] - 1
    history = trained.history
    assert len(history["val_loss"]) == 4 and history["val_loss"][-1] < history["val_loss"][0]
    assert trained.metrics["best_epoch"] == int(np.argmin(history["val_loss"])) + 1
    assert len(trained.curve) == trained.metrics["steps"] and trained.sample.tokens == 60
    assert trained.metrics["stop_reason"] == "4 epochs done"


def test_the_same_config_gives_the_same_run(text_file, trained):
    again = train_lm(LMConfig(data=str(text_file), **SMALL))
    assert again.history["loss"] == trained.history["loss"]
    assert again.sample.text == trained.sample.text


def test_a_run_folder_evaluates_and_generates_as_the_trained_model(trained, tmp_path):
    folder = save_lm_run(trained, tmp_path)
    assert {"model.rnnkit", "metrics.json", "sample.txt", "loss.png", "training_curve.csv", "config.toml",
            "run.json"} <= {p.name for p in folder.iterdir()}
    assert json.loads((folder / "metrics.json").read_text())["val"]["model"] == trained.metrics["val"]["model"]
    assert (folder / "sample.txt").read_text(encoding="utf-8") == trained.sample.prompt + trained.sample.text
    scores, notes = evaluate_lm_run(open_run(folder))
    assert scores["model"]["nats_per_char"] == pytest.approx(trained.metrics["val"]["model"]["nats_per_char"],
                                                             rel=1e-9)
    assert scores["kneser_ney_3"] == trained.metrics["val"]["kneser_ney_3"]
    for path in (folder, folder / "model.rnnkit"):           # the model file alone is enough to generate
        model = load_lm_model(path)
        with torch.no_grad():
            ids = torch.tensor([model.tokenizer.encode(VERSE[:50])])
            assert torch.equal(model.forward_chunk(ids)[0], trained.model.forward_chunk(ids)[0])
        for kwargs in ({"method": "sample", "temperature": 0.8, "top_p": 0.9, "seed": 5}, {"method": "beam",
                                                                                          "beam_size": 3}):
            assert (generate(model, "the cat", length=40, **kwargs).text
                    == generate(trained.model, "the cat", length=40, **kwargs).text)


def test_evaluate_on_another_text_counts_unseen_characters(trained, tmp_path):
    folder = save_lm_run(trained, tmp_path)
    other = tmp_path / "other.txt"
    other.write_text("the cat sat on the mat. ZEBRA!\n", encoding="utf-8")
    scores, notes = evaluate_lm_run(open_run(folder), data=str(other))
    assert scores["model"]["tokens"] == len("the cat sat on the mat. ZEBRA!\n") - 1
    assert any("never seen in training" in n for n in notes)


def test_an_interrupted_run_resumes_to_the_same_weights(text_file, trained, tmp_path, monkeypatch):
    from rnnkit.tasks.lm.schedule import StreamValidation

    original = StreamValidation.on_epoch_end

    def interrupted(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt        # after the validation of epoch 2, before its backup

    config = LMConfig(data=str(text_file), **SMALL)
    monkeypatch.setattr(StreamValidation, "on_epoch_end", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_lm(config, backup_dir=tmp_path)
    monkeypatch.setattr(StreamValidation, "on_epoch_end", original)
    resumed = train_lm(config, backup_dir=tmp_path)   # from the backup of epoch 1
    assert resumed.history["loss"] == pytest.approx(trained.history["loss"], rel=1e-6)
    for a, b in zip(resumed.model.parameters(), trained.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_subword_models_report_perplexity_and_nats_per_character(text_file):
    result = train_lm(LMConfig(data=str(text_file), tokenizer="bpe", vocab_size=300, **{**SMALL, "epochs": 2}))
    model = result.metrics["val"]["model"]
    assert model["tokens"] < model["chars"]              # subwords span several characters
    assert model["perplexity"] == pytest.approx(np.exp(model["nats_per_token"]))
    assert model["nats_per_char"] == pytest.approx(model["nats_per_token"] * model["tokens"] / model["chars"])


@pytest.mark.parametrize("content,needle", [(b"", "is empty"), (b"  \n\t\n", "only whitespace"),
                                            ("caf\u00e9 na\u00efve\n".encode("latin-1"), "not UTF-8"),
                                            (b"short text\n" * 20, "shorter than --batch-size")])
def test_bad_text_is_a_one_line_data_error(tmp_path, content, needle):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=needle) as info:
        train_lm(LMConfig(data=str(path), **SMALL))
    assert "\n" not in str(info.value)


def test_bad_data_arguments_name_the_fix(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        train_lm(LMConfig(data=str(tmp_path / "missing.txt"), **SMALL))
    with pytest.raises(DataError, match="is a folder"):
        train_lm(LMConfig(data=str(tmp_path) + "/", **SMALL))
    with pytest.raises(DataError, match="unknown remote dataset"):
        train_lm(LMConfig(data="no_such_corpus", **SMALL))
    with pytest.raises(DataError, match="audio"):
        train_lm(LMConfig(data="fsdd", **SMALL))
