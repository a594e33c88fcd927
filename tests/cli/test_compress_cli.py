"""`rnnkit compress RUN`: a pruned or distilled classification run in a new folder, the original's metrics beside
its own; bad requests are one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from rnnkit.cli import main
from tests.cli.test_cli import run_cli, tiny_text_run

TRAIN = ["train", "-q", "--data", "japanese_vowels", "--units", "16", "--epochs", "3", "--patience", "0",
         "--baseline", "none"]



@pytest.fixture(scope="module")
def classify_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main([*TRAIN, "--out", str(out)]) == 0
    (folder,) = out.iterdir()
    return folder


def test_prune_writes_a_new_run_with_the_original_beside(capsys, tmp_path, classify_run):
    code, out, err = run_cli(capsys, "compress", str(classify_run), "--prune", "0.5", "--epochs", "2", "-q",
                             "--out", str(tmp_path))
    assert code == 0, err
    (folder,) = tmp_path.iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    original = json.loads((classify_run / "metrics.json").read_text())
    assert metrics["original"]["test_accuracy"] == pytest.approx(original["test"]["accuracy"])
    assert metrics["compression"]["method"] == "prune" and metrics["compression"]["sparsity"] == pytest.approx(0.5)
    assert f"{metrics['test']['accuracy']:.4f}" in out and "original" in out
    state = json.loads((folder / "run.json").read_text())
    assert state["compressed_from"] == str(classify_run) and (folder / "report.html").is_file()
    code, out, err = run_cli(capsys, "evaluate", str(folder))        # the new run is a run like any other
    assert code == 0 and f"{metrics['test']['accuracy']:.4f}" in out


def test_int8_writes_a_run_that_reloads_as_int8(capsys, tmp_path, classify_run):
    code, out, err = run_cli(capsys, "compress", str(classify_run), "--int8", "-q", "--out", str(tmp_path))
    assert code == 0, err
    (folder,) = tmp_path.iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    c = metrics["compression"]
    assert c["method"] == "int8" and c["int8_bytes"] * 2.5 < c["float32_bytes"]   # biases and scales stay float
    assert abs(metrics["test"]["accuracy"] - metrics["original"]["test_accuracy"]) <= 0.02
    from rnnkit.compress import Int8Recurrent
    from rnnkit.tasks.runs import open_run

    model = open_run(folder).model()
    assert any(isinstance(m, Int8Recurrent) for m in model.modules())          # the saved run comes back int8
    code, out, err = run_cli(capsys, "evaluate", str(folder))
    assert code == 0 and f"{metrics['test']['accuracy']:.4f}" in out


def test_distill_into_fewer_units(capsys, tmp_path, classify_run):
    code, out, err = run_cli(capsys, "compress", str(classify_run), "--distill", "--units", "8", "-q",
                             "--out", str(tmp_path))
    assert code == 0, err
    (folder,) = tmp_path.iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["compression"]["units"] == 8 and metrics["compression"]["weights"] < \
        metrics["compression"]["original_weights"]
    assert "units = 8" in (folder / "config.toml").read_text()


@pytest.mark.parametrize("extra, message", [
    (["--prune", "1.5"], "--prune must be a fraction in [0, 1)"),
    (["--distill"], "--distill needs --units N"),
    (["--prune", "0.5", "--units", "4"], "--units goes with --distill"),
])
def test_bad_requests(capsys, tmp_path, classify_run, extra, message):
    code, _, err = run_cli(capsys, "compress", str(classify_run), *extra, "--out", str(tmp_path))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_only_classify_runs(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "-q", "--out", str(tmp_path), "--lookback", "7", "--units", "8",
                           "--epochs", "1", "--patience", "0")
    assert code == 0, err
    (folder,) = tmp_path.iterdir()
    code, _, err = run_cli(capsys, "compress", str(folder), "--prune", "0.5", "--out", str(tmp_path / "c"))
    assert code == 2 and "is a forecast run; compress takes classify runs" in err


def test_int8_of_a_forecast_run_is_scored_like_evaluate(capsys, tmp_path):
    runs = tmp_path / "runs"
    assert main(["train", "-q", "--data", "seattle_weather", "--units", "8", "--epochs", "1", "--out", str(runs)]) == 0
    (original,) = runs.iterdir()
    code, out, err = run_cli(capsys, "compress", str(original), "--int8", "-q", "--out", str(tmp_path / "int8"))
    assert code == 0, err
    (folder,) = (tmp_path / "int8").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    before, after = metrics["original"]["test"]["model"], metrics["test"]["model"]
    assert before["mae"] == pytest.approx(json.loads((original / "metrics.json").read_text())["test"]["model"]["mae"])
    assert after["mae"] == pytest.approx(before["mae"], rel=0.02)        # weights to 1/254 of each row's range
    assert metrics["compression"]["int8_bytes"] < metrics["compression"]["float32_bytes"]
    assert (folder / "report.html").is_file() and json.loads((folder / "run.json").read_text())["compression"] == "int8"
    code, out, err = run_cli(capsys, "evaluate", str(folder))
    assert code == 0 and f"{after['mae']:.3f}" in out


def test_int8_of_a_text_run(capsys, tmp_path):
    original = tiny_text_run(tmp_path, epochs=2)
    code, out, err = run_cli(capsys, "compress", str(original), "--int8", "-q", "--out", str(tmp_path / "int8"))
    assert code == 0, err
    (folder,) = (tmp_path / "int8").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["original"]["test"]["accuracy"] == pytest.approx(
        json.loads((original / "metrics.json").read_text())["test"]["accuracy"])
    assert abs(metrics["test"]["accuracy"] - metrics["original"]["test"]["accuracy"]) <= 0.05
    assert (folder / "test_predictions.csv").is_file()
    code, out, err = run_cli(capsys, "evaluate", str(folder))
    assert code == 0 and f"{metrics['test']['accuracy']:.4f}" in out

