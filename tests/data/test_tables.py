"""CSV/Parquet loading: every bad input is one clear line naming the problem and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnkit.data import DataError, load_sequence_table, load_series_table, read_table


@pytest.fixture
def series_csv(tmp_path):
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=6, freq="D").strftime("%Y-%m-%d"),
                          "sales": ["1", "2", "x", "4", "", "6"], "price": [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]})
    path = tmp_path / "shop.csv"
    frame.to_csv(path, index=False)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_unsupported_suffix(tmp_path):
    (tmp_path / "a.xlsx").write_text("x")
    with pytest.raises(DataError, match="expected .csv, .tsv or .parquet"):
        read_table(tmp_path / "a.xlsx")


def test_missing_column_lists_the_columns(series_csv):
    with pytest.raises(DataError, match="column 'revenue' is not in shop.csv; its columns are: date, sales, price"):
        load_series_table(series_csv, target="revenue")


def test_bad_values_say_how_many_and_where(series_csv):
    with pytest.raises(DataError) as info:
        load_series_table(series_csv, target="sales")
    message = str(info.value)
    assert "1 non-numeric value(s) in 'sales' (row index 2, e.g. 'x')" in message
    assert "1 missing value(s) in 'sales' (row index 4)" in message
    assert "--fill" in message and "\n" not in message


@pytest.mark.parametrize("fill, expected", [("ffill", [1, 2, 2, 4, 4, 6]), ("interpolate", [1, 2, 3, 4, 5, 6]),
                                            ("drop", [1, 2, 4, 6])])
def test_fill(series_csv, fill, expected):
    data = load_series_table(series_csv, target="sales", features=("price",), time_column="date", fill=fill)
    assert data.frame["sales"].tolist() == expected
    assert data.features == ("sales", "price")
    assert isinstance(data.frame.index, pd.DatetimeIndex)


def test_parquet_roundtrip(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "s.parquet"
    pd.DataFrame({"y": np.arange(10.0)}).to_parquet(path)
    assert load_series_table(path, target="y").frame.shape == (10, 1)


def test_sequence_table_groups_rows_and_keeps_lengths(tmp_path):
    rows = []
    for sequence, (label, length) in enumerate([("up", 3), ("down", 5), ("up", 4), ("down", 2)] * 2):
        for t in range(length):
            rows.append({"id": sequence, "label": label, "a": t * (1 if label == "up" else -1), "b": 1.0})
    path = tmp_path / "seq.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    data = load_sequence_table(path, id_column="id", label_column="label", test_fraction=0.25, seed=0)
    assert data.class_names == ("down", "up") and data.channel_names == ("a", "b")
    assert len(data.train_sequences) == 6 and len(data.test_sequences) == 2
    assert sorted(len(s) for s in data.train_sequences + data.test_sequences) == [2, 2, 3, 3, 4, 4, 5, 5]
    with pytest.raises(DataError, match="column 'speaker' is not in seq.csv; its columns are: id, label, a, b"):
        load_sequence_table(path, id_column="id", label_column="speaker")
    with pytest.raises(DataError, match="label.* up .*not classes of this model"):
        load_sequence_table(path, id_column="id", label_column="label", class_names=("down", "left"))
