"""A CTC run interrupted during training resumes from its per-epoch backup to the weights, history and test
transcripts of an uninterrupted run: in the training function, and through the run folder
(`rnnkit train --task ctc` interrupted, `rnnkit train --resume RUN`)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from safetensors.torch import load_file

import rnnkit.tasks.speech.ctc as ctc
from rnnkit.cli import main
from rnnkit.tasks.speech import CTCConfig
from rnnkit.tasks.speech.ctc_backup import read_ctc_backup
from tests.speech.conftest import RECORDINGS, needs_mirror

TINY = CTCConfig(train_strings=40, test_strings=6, max_digits=3, units=8, layers=1, epochs=4, batch_size=8,
                 beam_size=3, patience=0, dropout=0.2)


def _interrupt_during_epoch(monkeypatch, epoch: int) -> None:
    """Ctrl-C while validating epoch `epoch` (1-based): epochs before it are backed up, that one is not."""
    calls = {"n": 0}
    validate = ctc._evaluate_loss

    def validate_or_interrupt(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == epoch:
            raise KeyboardInterrupt
        return validate(*args, **kwargs)

    monkeypatch.setattr(ctc, "_evaluate_loss", validate_or_interrupt)


@pytest.fixture
def mirror(monkeypatch):
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(RECORDINGS.parents[1]))


@needs_mirror
def test_an_interrupted_ctc_training_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch, mirror):
    straight = ctc.train_ctc_model(TINY)
    with monkeypatch.context() as patch:
        _interrupt_during_epoch(patch, 3)
        with pytest.raises(KeyboardInterrupt):
            ctc.train_ctc_model(TINY, backup_dir=tmp_path)
    model = ctc.build_ctc_model(TINY, 78)
    optimizer = torch.optim.Adam(model.parameters())
    state = read_ctc_backup(tmp_path, model=model, optimizer=optimizer, generator=torch.Generator())
    assert state.epoch == 2 and len(state.history["loss"]) == 2 and not state.stopped
    resumed = ctc.train_ctc_model(TINY, backup_dir=tmp_path)
    assert resumed.history == straight.history and len(resumed.history["loss"]) == 4
    expected = straight.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0, msg=key)
    assert resumed.transcripts == straight.transcripts
    assert resumed.metrics["test"] == straight.metrics["test"]
    # the backup after the last epoch says training is over: calling again trains no further
    again = ctc.train_ctc_model(TINY, backup_dir=tmp_path)
    assert again.history == straight.history


@needs_mirror
def test_a_resumed_run_keeps_the_best_epoch_and_stops_early_as_the_uninterrupted_one(tmp_path, monkeypatch, mirror):
    config = dataclasses.replace(TINY, epochs=6, patience=1, learning_rate=0.05)
    straight = ctc.train_ctc_model(config)
    with monkeypatch.context() as patch:
        _interrupt_during_epoch(patch, 2)
        with pytest.raises(KeyboardInterrupt):
            ctc.train_ctc_model(config, backup_dir=tmp_path)
    resumed = ctc.train_ctc_model(config, backup_dir=tmp_path)
    assert resumed.history == straight.history
    assert resumed.metrics["best_epoch"] == straight.metrics["best_epoch"]
    assert resumed.transcripts == straight.transcripts


@needs_mirror
def test_a_backup_of_another_model_is_a_clear_error(tmp_path, monkeypatch, mirror):
    with monkeypatch.context() as patch:
        _interrupt_during_epoch(patch, 2)
        with pytest.raises(KeyboardInterrupt):
            ctc.train_ctc_model(TINY, backup_dir=tmp_path)
    with pytest.raises(ValueError, match="do not fit this run's model.*delete it"):
        ctc.train_ctc_model(dataclasses.replace(TINY, units=12), backup_dir=tmp_path)
    (tmp_path / "backup.safetensors").write_bytes(b"not a backup")
    with pytest.raises(ValueError, match="not a readable backup"):
        ctc.train_ctc_model(TINY, backup_dir=tmp_path)


CLI = ["--task", "ctc", "--data", "fsdd", "--train-strings", "40", "--test-strings", "6", "--max-digits", "3",
       "--units", "8", "--layers", "1", "--epochs", "4", "--batch-size", "8", "--patience", "0", "--seed", "3"]


@needs_mirror
def test_rnnkit_train_resume_finishes_an_interrupted_ctc_run_like_an_uninterrupted_one(tmp_path, monkeypatch,
                                                                                       mirror, capsys):
    assert main(["train", "-q", "--out", str(tmp_path / "straight"), *CLI]) == 0
    (straight,) = (tmp_path / "straight").iterdir()
    with monkeypatch.context() as patch:
        _interrupt_during_epoch(patch, 3)
        assert main(["train", "-q", "--out", str(tmp_path / "killed"), *CLI]) == 130
    (folder,) = (tmp_path / "killed").iterdir()
    assert json.loads((folder / "run.json").read_text())["status"] == "interrupted"
    assert (folder / "backup.safetensors").is_file()
    assert main(["train", "-q", "--resume", str(folder)]) == 0
    assert json.loads((folder / "run.json").read_text())["status"] == "done"
    assert not (folder / "backup.safetensors").exists()                 # finish_run drops it
    a, b = load_file(straight / "model.rnnkit"), load_file(folder / "model.rnnkit")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=key)
    assert (json.loads((folder / "metrics.json").read_text())["test"]
            == json.loads((straight / "metrics.json").read_text())["test"])
