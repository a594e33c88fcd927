"""`rnnkit train --task lm`, `rnnkit generate`, `rnnkit evaluate` of an lm run, and `rnnkit demo lm`
(a tiny config in place of the 4-minute one), through `rnnkit.cli.main`."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from rnnkit.cli import lm_commands, main

VERSE = "the cat sat on the mat. the dog lay on the log.\nso the cat and the dog lay down together.\n"
SMALL = ["--units", "16", "--layers", "1", "--embedding-size", "8", "--seq-len", "16", "--batch-size", "4",
         "--epochs", "1", "--time-budget", "0", "--sample-length", "30", "--ngram-order", "3"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lm_cli")
    (root / "verse.txt").write_text(VERSE * 30, encoding="utf-8")
    assert main(["train", "-q", "--task", "lm", "--data", str(root / "verse.txt"), "--out", str(root / "runs"),
                 *SMALL]) == 0
    (folder,) = (root / "runs").iterdir()
    return folder


def test_train_writes_a_run_folder(run):
    assert {"model.rnnkit", "metrics.json", "sample.txt", "loss.png", "config.toml"} <= {p.name for p in run.iterdir()}
    assert 'task = "lm"' in (run / "config.toml").read_text()


def test_generate_is_deterministic_under_a_seed(run, capsys, tmp_path):
    outputs = []
    for seed in (4, 4, 5):
        assert main(["generate", str(run), "--prompt", "the ", "--length", "40", "--seed", str(seed), "-q"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] != outputs[2]
    assert outputs[0].startswith("the ") and len(outputs[0].rstrip("\n")) == 44
    assert main(["generate", str(run), "--prompt", "the ", "--length", "20", "--beam", "3",
                 "-o", str(tmp_path / "beam.txt")]) == 0
    out = capsys.readouterr().out
    assert "tokens/s" in out and "beam 3" in out
    assert (tmp_path / "beam.txt").read_text(encoding="utf-8") in out


def test_evaluate_prints_the_model_beside_the_baselines(run, capsys):
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert "nats/char" in out and "Kneser-Ney 3-gram" in out and "unigram" in out


@pytest.mark.parametrize("argv,needle", [
    (["--prompt", "the \u20ac"], "'\u20ac'"),
    (["--temperature", "0"], "--temperature"),
    (["--top-k", "0"], "--top-k"),
    (["--top-p", "1.5"], "--top-p"),
    (["--length", "0"], "--length"),
    (["--greedy", "--top-k", "3"], "--top-k"),
    (["--prompt", ""], "--prompt is empty"),
])
def test_bad_generate_options_are_one_line_errors(run, capsys, argv, needle):
    assert main(["generate", str(run), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_predict_points_an_lm_run_to_generate(run, capsys):
    assert main(["predict", str(run)]) == 2
    assert "rnnkit generate" in capsys.readouterr().err


def test_demo_lm_trains_and_prints_a_sample(tmp_path, monkeypatch, capsys):
    (tmp_path / "verse.txt").write_text(VERSE * 30, encoding="utf-8")
    tiny = dataclasses.replace(lm_commands.DEMO_LM_CONFIG, data=str(tmp_path / "verse.txt"), units=16, layers=1,
                               embedding_size=8, seq_len=16, batch_size=4, epochs=1, sample_length=30)
    monkeypatch.setattr(lm_commands, "DEMO_LM_CONFIG", tiny)
    args = argparse.Namespace(out=str(tmp_path / "runs"), seed=None, quiet=False, threads=1, which="lm")
    assert lm_commands.demo_lm(args) == 0
    out = capsys.readouterr().out
    assert "LSTM 1x16" in out and "Kneser-Ney 5-gram" in out and "tokens/s" in out and "demo done" in out
