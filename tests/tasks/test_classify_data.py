"""Classification on the user's own files: a given train/test split (.ts or CSV), kept sequence ids, clear errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli import main
from rnnkit.cli._output import classification_table
from rnnkit.data import DataError, SequenceData
from rnnkit.tasks.classify.config import ClassifyConfig
from rnnkit.tasks.classify.pipeline import _split_validation, load_sequences, train_classifier
from rnnkit.tasks.classify.run import evaluate_classify_run, predict_classify_run, save_classify_run
from rnnkit.tasks.runs import open_run

FAST = {"units": 8, "epochs": 12, "batch_size": 8, "learning_rate": 0.02, "patience": 12}


def ramps(count: int, seed: int, labels=("down", "up")) -> list[tuple[str, np.ndarray]]:
    """Sequences (T_i, 2) whose first channel ramps down or up by class; lengths 4..10."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        label = labels[i % len(labels)]
        length = 4 + (i * 7) % 7
        ramp = np.linspace(0, 1, length) * (1 if label == "up" else -1)
        out.append((label, np.stack([ramp + rng.normal(0, 0.05, length), rng.normal(0, 0.1, length)], axis=1)))
    return out


def write_ts(path, cases) -> None:
    lines = ["@problemName ramps", "@univariate false", "@classLabel true down up", "@data"]
    for label, x in cases:
        lines.append(":".join(",".join(f"{v:.5f}" for v in x[:, c]) for c in range(x.shape[1])) + f":{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_csv(path, cases, ids) -> None:
    rows = [{"id": sequence_id, "label": label, "a": x[t, 0], "b": x[t, 1]}
            for sequence_id, (label, x) in zip(ids, cases) for t in range(len(x))]
    pd.DataFrame(rows).to_csv(path, index=False)


def test_ts_train_and_test_files_give_the_split_and_case_indices(tmp_path):
    write_ts(tmp_path / "r_TRAIN.ts", ramps(40, 0))
    write_ts(tmp_path / "r_TEST.ts", ramps(14, 1))
    config = ClassifyConfig(data=str(tmp_path / "r_TRAIN.ts"), test_data=str(tmp_path / "r_TEST.ts"), **FAST)
    data = load_sequences(config)
    assert (len(data.train_sequences), len(data.test_sequences)) == (40, 14)
    assert data.channel_names == ("dim0", "dim1") and data.class_names == ("down", "up")
    result = train_classifier(config)
    assert result.metrics["test"]["accuracy"] >= 0.9
    assert result.metrics["train_sequences"] + result.metrics["val_sequences"] == 40
    baselines = result.metrics["test"]["baselines"]
    assert baselines["1nn_dtw"]["accuracy"] >= 0.9 and baselines["1nn_euclidean"]["method"] == "1-NN Euclidean"
    folder = save_classify_run(result, tmp_path / "runs")
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved["test"]["baselines"]["1nn_dtw"]["method"] == "1-NN DTW (full window)"
    frame = predict_classify_run(open_run(folder))
    assert frame["sequence"].tolist() == list(range(14))  # case index in r_TEST.ts
    report, frame = evaluate_classify_run(open_run(folder))
    assert report["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    assert frame["sequence"].tolist() == list(range(14))


def test_csv_files_keep_the_users_sequence_ids(tmp_path):
    train, test = ramps(30, 0), ramps(8, 2)
    write_csv(tmp_path / "train.csv", train, [f"walk-{i}" for i in range(30)])
    write_csv(tmp_path / "test.csv", test, [1000 + 7 * i for i in range(8)])
    config = ClassifyConfig(data=str(tmp_path / "train.csv"), test_data=str(tmp_path / "test.csv"),
                            id_column="id", label_column="label", **FAST)
    result = train_classifier(config)
    folder = save_classify_run(result, tmp_path / "runs")
    written = pd.read_csv(folder / "test_predictions.csv")
    assert written["sequence"].tolist() == [1000 + 7 * i for i in range(8)]
    frame = predict_classify_run(open_run(folder), data=str(tmp_path / "train.csv"))
    assert frame["sequence"].tolist() == [f"walk-{i}" for i in range(30)]
    assert frame["length"].tolist() == [len(x) for _, x in train]


def test_a_split_file_keeps_the_ids_of_its_test_sequences(tmp_path):
    cases = ramps(24, 0)
    ids = [f"s{i:02d}" for i in range(24)]
    write_csv(tmp_path / "all.csv", cases, ids)
    config = ClassifyConfig(data=str(tmp_path / "all.csv"), id_column="id", label_column="label", test_fraction=0.25)
    data = load_sequences(config)
    assert len(data.test_ids) == 6 and set(data.test_ids) | set(data.train_ids) == set(ids)
    lengths = {i: len(x) for i, (_, x) in zip(ids, cases)}
    assert [len(s) for s in data.test_sequences] == [lengths[i] for i in data.test_ids]


def test_test_data_errors(tmp_path):
    write_ts(tmp_path / "train.ts", ramps(10, 0))
    write_ts(tmp_path / "test.ts", ramps(4, 1))
    text = (tmp_path / "test.ts").read_text().replace("down up", "down up left").replace(":up\n", ":left\n", 1)
    (tmp_path / "odd.ts").write_text(text)
    with pytest.raises(DataError, match=r"test data odd: label\(s\) left are not among the training classes"):
        load_sequences(ClassifyConfig(data=str(tmp_path / "train.ts"), test_data=str(tmp_path / "odd.ts")))
    one_channel = [(label, x[:, :1]) for label, x in ramps(4, 1)]
    write_ts(tmp_path / "narrow.ts", one_channel)
    with pytest.raises(DataError, match=r"test data narrow has 1 channel\(s\); the training data train has 2"):
        load_sequences(ClassifyConfig(data=str(tmp_path / "train.ts"), test_data=str(tmp_path / "narrow.ts")))
    with pytest.raises(DataError, match="--test-data needs --data to be a file of training sequences"):
        load_sequences(ClassifyConfig(data="gun_point", test_data=str(tmp_path / "test.ts")))
    with pytest.raises(DataError, match="does not exist"):
        load_sequences(ClassifyConfig(data=str(tmp_path / "train.ts"), test_data=str(tmp_path / "nope.ts")))


def test_one_class_in_the_training_data_is_an_error(tmp_path):
    write_ts(tmp_path / "train.ts", ramps(10, 0, labels=("up",)))
    write_ts(tmp_path / "test.ts", ramps(4, 1))
    with pytest.raises(DataError, match=r"train: the training sequences hold 1 class \('up'\); a classifier needs at "
                                        r"least 2. Check --label-column"):
        train_classifier(ClassifyConfig(data=str(tmp_path / "train.ts"), test_data=str(tmp_path / "test.ts")))


def test_validation_split_keeps_every_class_on_both_sides():
    labels = np.array([0] * 2 + [1] * 3 + [2] * 10 + [3])  # tiny classes, and one of a single sequence
    data = SequenceData(name="t", train_sequences=[np.zeros((2, 1), np.float32)] * len(labels), train_labels=labels,
                        test_sequences=[], test_labels=np.array([], int), class_names=("a", "b", "c", "d"),
                        channel_names=("x",), source="generated")
    for seed in range(5):
        train, val = _split_validation(data, 0.2, seed)
        assert sorted(np.concatenate([train, val]).tolist()) == list(range(len(labels)))
        assert set(labels[val]) == {0, 1, 2} and set(labels[train]) == {0, 1, 2, 3}
        assert np.bincount(labels[val], minlength=4).tolist() == [1, 1, 2, 0]


def test_table_shows_the_baselines_and_says_which_wins():
    report = {"accuracy": 0.9, "samples": 10, "per_class": {},
              "baselines": {"1nn_dtw": {"method": "1-NN DTW (full window)", "accuracy": 0.95, "seconds": 1.2},
                            "1nn_euclidean": {"method": "1-NN Euclidean", "accuracy": 0.8, "seconds": 0.0}}}
    table = classification_table(report, model_name="LSTM")
    assert re.search(r"1-NN DTW \(full window\) +accuracy 0.9500  \(1.2 s\)", table)
    assert "The LSTM does NOT beat 1-NN DTW (full window) (accuracy 0.9000 vs 0.9500)" in table
    report["accuracy"] = 0.96
    assert "beats every baseline" in classification_table(report)


def test_cli_trains_on_a_given_ts_split_and_predicts_with_case_indices(capsys, tmp_path):
    write_ts(tmp_path / "r_TRAIN.ts", ramps(30, 0))
    write_ts(tmp_path / "r_TEST.ts", ramps(9, 1))
    code = main(["train", "--task", "classify", "-q", "--data", str(tmp_path / "r_TRAIN.ts"), "--test-data",
                 str(tmp_path / "r_TEST.ts"), "--units", "8", "--epochs", "3", "--out", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "on 9 test sequences" in out and "1-NN DTW (full window)" in out and "1-NN Euclidean" in out
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert 'test_data = "' in (folder / "config.toml").read_text()
    assert main(["predict", str(folder), "-q", "-o", str(tmp_path / "p.csv")]) == 0
    assert pd.read_csv(tmp_path / "p.csv")["sequence"].tolist() == list(range(9))
