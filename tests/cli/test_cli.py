"""The `rnnkit` command: help everywhere, runs that write folders, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli import main

SMALL = ["--lookback", "7", "--units", "8", "--epochs", "2", "--batch-size", "64", "--patience", "0"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse: --help and usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def tiny_text_run(tmp_path: Path, *, epochs: int = 1) -> Path:
    """A text run trained on 120 generated two-class reviews (a few seconds): for commands that read text runs."""
    import csv
    import random

    rng = random.Random(0)
    good, bad = "great tasty love fresh".split(), "bad stale awful bland".split()
    data = tmp_path / "reviews.csv"
    with open(data, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "score"])
        for _ in range(120):
            label = rng.choice(["pos", "neg"])
            writer.writerow([" ".join(rng.choices(good if label == "pos" else bad, k=rng.randint(2, 9))), label])
    runs = tmp_path / "text_runs"
    assert main(["train", "-q", "--task", "text", "--data", str(data), "--text-column", "review", "--label-column",
                 "score", "--epochs", str(epochs), "--out", str(runs)]) == 0
    return only_folder(runs)


def only_folder(root: Path) -> Path:
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    return folder


@pytest.mark.parametrize("command", [[], ["demo"], ["train"], ["evaluate"], ["predict"], ["datasets"]])
def test_help_everywhere(capsys, command):
    code, out, _ = run_cli(capsys, *command, "--help")
    assert code == 0 and "usage: rnnkit" in out


def test_train_help_lists_config_fields(capsys):
    _, out, _ = run_cli(capsys, "train", "--help")
    for flag in ("--lookback", "--horizon", "--target", "--features", "--fill", "--model", "--seed", "--config",
                 "--id-column", "--quiet"):
        assert flag in out


def test_datasets(capsys):
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0 and "seattle_weather" in out and "vega_datasets" in out and "japanese_vowels" in out


def test_python_dash_m():
    done = subprocess.run([sys.executable, "-m", "rnnkit", "datasets"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "seattle_weather" in done.stdout


def test_train_evaluate_predict_forecast(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "train", "--quiet", "--out", str(tmp_path), "--horizon", "2", *SMALL)
    assert code == 0
    assert "naive" in out and "seasonal naive" in out and "MASE" in out
    folder = only_folder(tmp_path)
    metrics = json.loads((folder / "metrics.json").read_text())
    code, out, _ = run_cli(capsys, "evaluate", str(folder), "--task", "forecast")
    assert code == 0 and f"{metrics['test']['model']['mase']:.3f}" in out
    output = tmp_path / "ahead.csv"
    code, out, _ = run_cli(capsys, "predict", str(folder), "--output", str(output))
    assert code == 0 and output.is_file()
    assert pd.read_csv(output)["step"].tolist() == [1, 2]


def test_config_file_and_flags(capsys, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('task = "forecast"\ndata = "seattle_weather"\nlookback = 7\nunits = 8\nepochs = 1\n'
                      'patience = 0\nseed = 3\n', encoding="utf-8")
    out_dir = tmp_path / "runs"
    code, _, err = run_cli(capsys, "train", "-q", "--config", str(config), "--out", str(out_dir), "--horizon", "2")
    assert code == 0, err
    saved = (only_folder(out_dir) / "config.toml").read_text()
    assert "seed = 3" in saved and "horizon = 2" in saved and "lookback = 7" in saved


def _bad_csv(tmp_path: Path) -> Path:
    frame = pd.DataFrame({"y": [1.0, 2.0, None, 4.0, 5.0] * 20, "x": ["a"] + ["1"] * 99})
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case, args, message", [
    ("missing file", ["--data", "nope.csv", "--target", "y"], "does not exist"),
    ("bad column", ["--data", "{csv}", "--target", "sales"], "column 'sales' is not in bad.csv; its columns are: y, x"),
    ("bad values", ["--data", "{csv}", "--target", "y"], "20 missing value(s) in 'y' (row index 2, 7, 12, ...)"),
    ("non-numeric", ["--data", "{csv}", "--target", "x"],
     "1 non-numeric value(s) in 'x' (row index 0, e.g. 'a')"),
    ("lookback too long", ["--lookback", "2000"], "lookback=2000 + horizon=1 is longer than the series"),
    ("unknown dataset", ["--data", "weather"], "unknown dataset 'weather'"),
    ("other task's option", ["--id-column", "id"], "--id-column is an option of --task classify"),
    ("classification data", ["--task", "forecast", "--data", "basic_motions"], "is for sequence classification"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, case, args, message):
    csv = _bad_csv(tmp_path)
    argv = [a.replace("{csv}", str(csv)) for a in args]
    if case == "classification data":
        pytest.importorskip("aeon")
    code, _, err = run_cli(capsys, "train", "-q", "--out", str(tmp_path / "runs"), *argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("content, message", [
    ("epoch = 3\n", "unknown key 'epoch'"),
    ("units = \"many\"\n", "ForecastConfig.units must be an integer; got 'many'"),
    ("task = \"regress\"\n", "task must be one of forecast, classify"),
    ("units = [\n", "cannot parse"),
])
def test_bad_config_file(capsys, tmp_path, content, message):
    path = tmp_path / "c.toml"
    path.write_text(content, encoding="utf-8")
    code, _, err = run_cli(capsys, "train", "--config", str(path))
    assert code == 2 and message in err and err.count("\n") == 1


def test_usage_errors_are_one_line(capsys):
    code, _, err = run_cli(capsys, "train", "--model", "tcn")
    assert code == 2 and err.count("\n") == 1 and "invalid choice: 'tcn'" in err
    code, _, err = run_cli(capsys, "train", "--epochs", "many")
    assert code == 2 and err.count("\n") == 1


def test_options_are_never_abbreviated(capsys):
    """`--output` once ran as `--output-dropout` (a prefix of one option of many): a prefix is an error."""
    code, _, err = run_cli(capsys, "train", "--task", "text", "--output", "runs2")
    assert code == 2 and err.count("\n") == 1 and "unrecognized arguments: --output runs2" in err
    code, _, err = run_cli(capsys, "train", "--epoch", "3")
    assert code == 2 and "--epoch" in err


def test_run_folder_of_another_task(capsys, tmp_path):
    code, _, _ = run_cli(capsys, "train", "-q", "--out", str(tmp_path), *SMALL)
    folder = only_folder(tmp_path)
    code, _, err = run_cli(capsys, "evaluate", str(folder), "--task", "classify")
    assert code == 2 and "holds a forecast model, not a classify model" in err
    code, _, err = run_cli(capsys, "predict", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(capsys, "predict", str(tmp_path))
    assert code == 2 and "is not an rnnkit run folder" in err


def test_classify_from_a_csv(capsys, tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for sequence in range(40):
        label = "up" if sequence % 2 else "down"
        for t in range(4 + sequence % 7):
            rows.append({"id": sequence, "activity": label, "a": (t if label == "up" else -t) + rng.normal(0, 0.1)})
    path = tmp_path / "moves.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    code, out, err = run_cli(capsys, "train", "--task", "classify", "-q", "--data", str(path), "--id-column", "id",
                             "--label-column", "activity", "--units", "8", "--epochs", "3", "--out", str(tmp_path / "r"))
    assert code == 0, err
    assert "accuracy" in out and "down" in out and "up" in out
    folder = only_folder(tmp_path / "r")
    assert (folder / "confusion_matrix.png").is_file()
    code, out, err = run_cli(capsys, "predict", str(folder), "--data", str(path))
    assert code == 0, err
    assert len(pd.read_csv(folder / "predictions.csv")) == 40
    unlabelled = tmp_path / "new.csv"
    pd.DataFrame(rows).drop(columns="activity").to_csv(unlabelled, index=False)
    code, _, err = run_cli(capsys, "predict", str(folder), "--data", str(unlabelled), "-o", str(tmp_path / "p.csv"))
    assert code == 0, err
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert "actual" not in predictions and set(predictions["predicted"]) <= {"down", "up"}
    code, _, err = run_cli(capsys, "evaluate", str(folder), "--task", "forecast")
    assert code == 2 and "holds a classify model" in err


@pytest.mark.slow
def test_demo_beats_both_baselines(capsys, tmp_path):
    code, out, err = run_cli(capsys, "demo", "--out", str(tmp_path))
    assert code == 0, err
    folder = only_folder(tmp_path)
    test = json.loads((folder / "metrics.json").read_text())["test"]
    assert test["model"]["mase"] < test["naive"]["mase"]
    assert test["model"]["mase"] < test["seasonal_naive"]["mase"]
    assert "beats every baseline" in out and str(folder) in out
    for name in ("model.rnnkit", "forecast.png", "loss.png", "config.toml", "run.json"):
        assert (folder / name).is_file()
