"""A text run killed during training resumes (`rnnkit train --resume RUN`) to the weights of an uninterrupted one:
the length buckets are drawn from the generator `fit` seeds per epoch, so the resumed epochs see the same batches."""

from __future__ import annotations

import json
import signal

import pytest
import torch

from rnnkit.cli import main
from tests.cli.test_resume import kill_after, only_folder, start, weights
from tests.tasks.test_text_corpus import write_reviews


@pytest.mark.slow
def test_a_killed_text_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path, capsys):
    write_reviews(tmp_path / "reviews.csv", 800, 0)
    args = ["--data", str(tmp_path / "reviews.csv"), "--text-column", "review", "--label-column", "score",
            "--embedding-size", "16", "--units", "16", "--epochs", "8", "--patience", "3", "--seed", "1"]
    assert main(["train", "-q", "--out", str(tmp_path / "straight"), *args]) == 0
    straight = weights(only_folder(tmp_path / "straight"))
    process = start(tmp_path / "killed", args)
    folder = kill_after(process, tmp_path / "killed", 2, signal.SIGINT)
    assert process.returncode == 130, process.stderr_text
    assert json.loads((folder / "run.json").read_text())["status"] == "interrupted"
    capsys.readouterr()
    assert main(["train", "-q", "--resume", str(folder)]) == 0
    assert json.loads((folder / "run.json").read_text())["status"] == "done"
    resumed = weights(folder)
    assert straight.keys() == resumed.keys()
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=0, msg=key)
