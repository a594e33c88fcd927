"""`rnnkit explain RUN` for lab and sequence-classification runs: gates, saliency, integrated gradients and
lags as PNGs and an HTML page; text runs keep `--text` (tests/cli/test_text_cli.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnnkit.cli import main


def _only(folder):
    (run,) = [p for p in folder.iterdir() if p.is_dir()]
    return run


def test_explain_a_lab_run(tmp_path, capsys):
    assert main(["lab", "adding", "-q", "--length", "8", "--units", "3", "--model", "lstm", "--train-sequences", "20",
                 "--test-sequences", "6", "--epochs", "1", "--out", str(tmp_path / "runs"), "--threads", "1"]) == 0
    run = _only(tmp_path / "runs")
    capsys.readouterr()
    assert main(["explain", str(run), "--count", "3"]) == 0
    assert str(run / "explain" / "explain.html") in capsys.readouterr().out
    page = (run / "explain" / "explain.html").read_text(encoding="utf-8")
    for image in ("gates.png", "saliency.png", "ig.png", "lags.png"):
        assert (run / "explain" / image).read_bytes()[:4] == b"\x89PNG" and image in page


def test_explain_a_classify_run_with_variable_lengths(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [{"id": s, "label": "up" if s % 2 else "down", "a": (t if s % 2 else -t) + rng.normal(0, 0.1)}
            for s in range(24) for t in range(3 + s % 4)]
    path = tmp_path / "moves.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert main(["train", "--task", "classify", "-q", "--data", str(path), "--id-column", "id", "--label-column",
                 "label", "--units", "4", "--epochs", "1", "--out", str(tmp_path / "r")]) == 0
    run = _only(tmp_path / "r")
    assert main(["explain", str(run), "-o", str(tmp_path / "why")]) == 0
    assert (tmp_path / "why" / "explain.html").is_file() and (tmp_path / "why" / "gates.png").is_file()


def test_explain_errors_say_what_applies(tmp_path, capsys):
    assert main(["lab", "xor", "-q", "--length", "6", "--units", "2", "--train-sequences", "10", "--test-sequences",
                 "4", "--epochs", "1", "--out", str(tmp_path / "runs"), "--threads", "1"]) == 0
    run = _only(tmp_path / "runs")
    capsys.readouterr()
    for argv, needle in ((["--text", "hi"], "--text applies to text runs"), (["--count", "0"], "--count must be >= 1"),
                         (["--data", "GunPoint"], "explained on its own generated test sequences")):
        assert main(["explain", str(run), *argv]) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1
