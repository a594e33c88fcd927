"""`rnnkit train --task text` end to end on a small CSV: the run folder, evaluate, predict from raw text, explain."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rnnkit.cli import main
from tests.tasks.test_text_corpus import write_reviews

TINY = ["--embedding-size", "8", "--units", "8", "--epochs", "2", "--batch-size", "16", "--patience", "0"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("text")
    write_reviews(root / "reviews.csv", 120, 0)
    assert main(["train", "-q", "--data", str(root / "reviews.csv"), "--text-column", "review", "--label-column",
                 "score", "--out", str(root / "runs"), *TINY]) == 0   # --text-column alone picks --task text
    (folder,) = [p for p in (root / "runs").iterdir() if p.is_dir()]
    return root, folder


def test_train_writes_a_text_run_folder(trained):
    _, folder = trained
    assert folder.name.startswith("text-reviews-")
    for name in ("model.rnnkit", "metrics.json", "run.json", "config.toml", "confusion_matrix.png",
                 "test_predictions.csv", "loss.png"):
        assert (folder / name).is_file(), name
    state = json.loads((folder / "run.json").read_text())
    assert state["task"] == "text" and state["class_names"] == ["bad", "good"] and state["text_column"] == "review"
    test = json.loads((folder / "metrics.json").read_text())["test"]
    assert {"accuracy", "macro_f1", "roc_auc", "confusion_matrix"} <= set(test)
    assert {"majority", "tfidf_logistic"} == set(test["baselines"])
    frame = pd.read_csv(folder / "test_predictions.csv")
    assert list(frame.columns) == ["row", "predicted", "actual", "p_bad", "p_good", "text"] and len(frame) == 24
    assert 'task = "text"' in (folder / "config.toml").read_text()


def test_train_prints_the_model_beside_both_baselines(capsys, tmp_path):
    write_reviews(tmp_path / "r.csv", 60, 1)
    code, out, err = run_cli(capsys, "train", "--task", "text", "--data", str(tmp_path / "r.csv"), "--text-column",
                             "review", "--label-column", "score", "--out", str(tmp_path / "runs"), *TINY)
    assert code == 0, err
    for needle in ("BiGRU", "majority class", "TF-IDF + logistic regression", "macro-F1", "ROC-AUC", "run folder:",
                   "rnnkit explain"):
        assert needle in out, needle


def test_evaluate_and_predict_from_raw_text(capsys, trained):
    root, folder = trained
    code, out, err = run_cli(capsys, "evaluate", str(folder))
    assert code == 0, err
    assert "accuracy" in out and "on 24 test texts" in out
    code, out, err = run_cli(capsys, "evaluate", str(folder), "--data", str(root / "reviews.csv"), "-o",
                             str(root / "e.csv"))
    assert code == 0, err
    assert "on 120 test texts" in out and len(pd.read_csv(root / "e.csv")) == 120
    code, out, err = run_cli(capsys, "predict", str(folder), "--text", "Stale and bitter.", "--text", "Great tea!")
    assert code == 0, err
    assert "Stale and bitter." in out and "p_good" in out and not (folder / "predictions.csv").exists()
    code, _, err = run_cli(capsys, "predict", str(folder), "--text", "fresh", "-o", str(root / "one.csv"))
    assert code == 0, err
    assert pd.read_csv(root / "one.csv")["text"].tolist() == ["fresh"]
    unlabelled = pd.read_csv(root / "reviews.csv").drop(columns="score")
    unlabelled.to_csv(root / "new.csv", index=False)
    code, _, err = run_cli(capsys, "predict", str(folder), "--data", str(root / "new.csv"), "-o", str(root / "p.csv"))
    assert code == 0, err
    predictions = pd.read_csv(root / "p.csv")
    assert "actual" not in predictions and set(predictions["predicted"]) <= {"bad", "good"}
    assert predictions["row"].tolist() == list(range(120))


def test_explain_writes_html_and_png(capsys, trained, tmp_path):
    _, folder = trained
    code, out, err = run_cli(capsys, "explain", str(folder), "--text", "The box was stale, my dog loved it",
                             "-o", str(tmp_path / "why"))
    assert code == 0, err
    assert "predicted:" in out and "stale" in out
    page = (tmp_path / "why.html").read_text(encoding="utf-8")
    assert page.count('class="tok"') == 8                      # one shaded span per token the model read
    assert (tmp_path / "why.png").read_bytes()[:4] == b"\x89PNG"
    code, _, err = run_cli(capsys, "explain", str(folder), "--text", "...")
    assert code == 2 and "no words" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv,needle", [
    (["predict", "{run}", "--text", "tea", "--data", "x.csv"], "--text or --data, not both"),
    (["predict", "{run}", "--text", "  "], "is empty"),
    (["evaluate", "{run}", "--span", "all"], "--span"),
    (["evaluate", "{run}", "--fill", "ffill"], "--fill"),
    (["evaluate", "{run}", "--task", "classify"], "holds a text model"),
    (["predict", "{run}", "--data", "fine_food_reviews"], "'review' column"),
])
def test_bad_requests_are_one_line(capsys, trained, argv, needle):
    _, folder = trained
    code, _, err = run_cli(capsys, *[a.replace("{run}", str(folder)) for a in argv])
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err


def test_demo_takes_which(capsys):
    code, out, _ = run_cli(capsys, "demo", "--help")
    assert code == 0 and all(name in out for name in ("forecast", "text", "lm", "translate", "speech"))
    code, _, err = run_cli(capsys, "demo", "weather")
    assert code == 2 and "invalid choice" in err


def test_wide_and_deep_trains_saves_predicts_and_explains(capsys, tmp_path):
    write_reviews(tmp_path / "r.csv", 60, 2)
    code, out, err = run_cli(capsys, "train", "--task", "text", "--data", str(tmp_path / "r.csv"), "--text-column",
                             "review", "--label-column", "score", "--out", str(tmp_path / "runs"), "--wide-ngrams",
                             "2", *TINY)
    assert code == 0, err
    assert "BiGRU + wide TF-IDF 1-2-grams" in out and "TF-IDF + logistic regression" in out
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    wide = json.loads((folder / "metrics.json").read_text())["wide"]
    assert wide["ngrams"] == 2 and wide["C"] in (1.0, 3.0, 10.0, 30.0, 100.0) and wide["l2"] > 0
    code, out, err = run_cli(capsys, "predict", str(folder), "--text", "Stale and bitter.", "-o",
                             str(tmp_path / "p.csv"))
    assert code == 0, err
    row = pd.read_csv(tmp_path / "p.csv").iloc[0]
    assert row["p_bad"] + row["p_good"] == pytest.approx(1.0)
    code, out, err = run_cli(capsys, "explain", str(folder), "--text", "stale but my dog loved it", "-o",
                             str(tmp_path / "why"))
    assert code == 0, err
    assert "predicted:" in out and "nan" not in out
