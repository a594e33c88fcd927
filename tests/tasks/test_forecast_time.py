"""Time columns of forecasting tables: numbers, formats, duplicates, gaps, frequency, season, calendar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnkit.data import DataError, load_series_table
from rnnkit.data.table import load_series_and_axis
from rnnkit.data.time_index import (
    calendar_columns,
    calendar_inputs,
    infer_frequency,
    missing_periods,
    parse_time_column,
)
from rnnkit.tasks import ForecastConfig, prepare_forecast


def write(tmp_path, frame: pd.DataFrame, name: str = "s.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def series(times, n=None) -> pd.DataFrame:
    n = len(times) if n is None else n
    return pd.DataFrame({"t": times, "y": np.sin(np.arange(n) / 3.0) + np.arange(n) * 0.01})


def test_fractional_years_become_monthly_dates(tmp_path):
    years = np.round(1920 + np.arange(40) / 12, 3)  # 1920.0, 1920.083, ... as a CSV writes them
    data, axis = load_series_and_axis(write(tmp_path, series(years)), target="y", time_column="t")
    index = data.frame.index
    assert isinstance(index, pd.DatetimeIndex)
    assert [str(d.date()) for d in index[:3]] == ["1920-01-01", "1920-02-01", "1920-03-01"]
    assert str(index[-1].date()) == "1923-04-01"
    assert axis.frequency.name == "monthly" and data.season == 12
    assert any("fractional years" in note and "monthly" in note for note in axis.notes)


def test_fractional_quarters_become_quarterly_dates(tmp_path):
    data, axis = load_series_and_axis(write(tmp_path, series(1990 + np.arange(20) / 4)), target="y", time_column="t")
    assert [d.month for d in data.frame.index[:5]] == [1, 4, 7, 10, 1]
    assert axis.frequency.name == "quarterly" and data.season == 4


def test_integer_positions_mean_no_calendar_and_say_so(tmp_path):
    path = write(tmp_path, series(np.arange(100, 400)))
    data, axis = load_series_and_axis(path, target="y", time_column="t")
    assert not isinstance(data.frame.index, pd.DatetimeIndex) and data.frame.index[0] == 100
    assert axis.kind == "positions" and data.season is None
    assert any("row positions" in note and "no calendar" in note for note in axis.notes)
    config = ForecastConfig(data=str(path), target="y", time_column="t")
    problem = prepare_forecast(config)
    assert problem.input_columns == ("y",) and problem.calendar == ()


@pytest.mark.parametrize("values, expected", [
    (np.arange(50) / 10, "neither whole months or quarters"),   # fractional, not calendar years
    (1990 + np.arange(50) / 7, "neither whole months"),          # years, but weekly-ish steps
    ([20200101 + k for k in range(20)], "--time-format %Y%m%d"),  # integers that also read as dates
])
def test_ambiguous_numeric_times_are_an_error_that_suggests_time_format(tmp_path, values, expected):
    with pytest.raises(DataError, match="--time-format") as info:
        load_series_table(write(tmp_path, series(values)), target="y", time_column="t")
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_time_format_for_non_iso_dates(tmp_path):
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    path = write(tmp_path, series(days.strftime("%d/%m/%Y")))
    with pytest.raises(DataError, match=r"not ISO dates .* e\.g\. '01/01/2021'\); it matches --time-format '%d/%m/%Y'"):
        load_series_table(path, target="y", time_column="t")
    data = load_series_table(path, target="y", time_column="t", time_format="%d/%m/%Y")
    assert data.frame.index.equals(pd.DatetimeIndex(days, name="t"))
    with pytest.raises(DataError, match=r"do not match --time-format '%m/%d/%Y' \(row index 12, 13, 14, \.\.\., "
                                        r"e\.g\. '13/01/2021'\); it matches --time-format '%d/%m/%Y'"):
        load_series_table(path, target="y", time_column="t", time_format="%m/%d/%Y")
    early = write(tmp_path, series(days[:12].strftime("%d/%m/%Y")), "early.csv")  # both day orders fit
    with pytest.raises(DataError, match="it matches '%d/%m/%Y' and '%m/%d/%Y': pass the one you mean"):
        load_series_table(early, target="y", time_column="t")


def test_duplicate_timestamps_are_an_error_naming_rows(tmp_path):
    days = list(pd.date_range("2021-01-01", periods=30, freq="D").strftime("%Y-%m-%d"))
    days[7] = days[6]
    with pytest.raises(DataError, match=r"repeats 2021-01-07 00:00:00 at row index 6, 7 \(1 repeated time"):
        load_series_table(write(tmp_path, series(days)), target="y", time_column="t")


@pytest.fixture
def gappy(tmp_path):
    days = pd.date_range("2021-01-01", periods=40, freq="D").delete([10, 11, 25])
    frame = pd.DataFrame({"t": days.strftime("%Y-%m-%d"), "y": np.arange(40.0)[np.r_[0:10, 12:25, 26:40]]})
    return write(tmp_path, frame)


def test_gaps_are_reported_not_filled_by_default(gappy):
    data, axis = load_series_and_axis(gappy, target="y", time_column="t")
    assert len(data.frame) == 37 and axis.missing_count == 3 and axis.filled == 0
    assert axis.missing == ("2021-01-11", "2021-01-12", "2021-01-26")
    note = next(n for n in axis.notes if "missing period" in n)
    assert "3 missing period(s)" in note and "--fill" in note
    assert axis.to_dict()["missing_periods"] == 3  # run.json: state["time"]


@pytest.mark.parametrize("fill, expected", [("ffill", [9.0, 9.0]), ("interpolate", [10.0, 11.0])])
def test_gaps_are_filled_as_fill_says(gappy, fill, expected):
    data, axis = load_series_and_axis(gappy, target="y", time_column="t", fill=fill)
    assert len(data.frame) == 40 and axis.missing_count == 0 and axis.filled == 3
    assert data.frame["y"].iloc[10:12].tolist() == expected
    assert data.frame.index.equals(pd.date_range("2021-01-01", periods=40, freq="D", name="t"))


def test_fill_drop_leaves_gaps_reported(gappy):
    data, axis = load_series_and_axis(gappy, target="y", time_column="t", fill="drop")
    assert len(data.frame) == 37 and axis.missing_count == 3


@pytest.mark.parametrize("freq, name, season, calendar", [
    ("30min", "30min", 48, ("tod_sin", "tod_cos", "dow_sin", "dow_cos")),
    ("15min", "15min", 96, ("tod_sin", "tod_cos", "dow_sin", "dow_cos")),
    ("h", "hourly", 24, ("tod_sin", "tod_cos", "dow_sin", "dow_cos")),
    ("D", "daily", 7, ("dow_sin", "dow_cos", "doy_sin", "doy_cos")),
    ("B", "business-daily", 5, ("dow_sin", "dow_cos", "doy_sin", "doy_cos")),
    ("W-SUN", "weekly", 52, ("doy_sin", "doy_cos")),
    ("MS", "monthly", 12, ("moy_sin", "moy_cos")),
    ("ME", "monthly", 12, ("moy_sin", "moy_cos")),
    ("QS", "quarterly", 4, ("qoy_sin", "qoy_cos")),
    ("YS", "yearly", None, ()),
])
def test_frequency_season_and_calendar_inputs(freq, name, season, calendar):
    index = pd.date_range("2020-01-06", periods=120, freq=freq)
    frequency = infer_frequency(index)
    assert (frequency.name, frequency.season, calendar_columns(frequency)) == (name, season, calendar)
    holes = index.delete([30, 31, 70])
    assert infer_frequency(holes).name == name  # gaps do not hide the frequency
    assert missing_periods(holes, infer_frequency(holes)).equals(index[[30, 31, 70]])


def test_irregular_times_have_no_frequency():
    index = pd.DatetimeIndex(pd.Timestamp("2020-01-01") + pd.to_timedelta(np.cumsum([0, 1, 3, 2, 5, 1.5, 4]), "D"))
    assert infer_frequency(index) is None


def test_calendar_values_are_positions_in_each_cycle():
    index = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 06:00", "2024-01-03 12:00", "2024-07-01 00:00"])
    values = calendar_inputs(index, ("tod_sin", "tod_cos", "dow_sin", "moy_cos"))
    np.testing.assert_allclose(values["tod_sin"], [0, 1, 0, 0], atol=1e-12)   # 6 h = a quarter of a day
    np.testing.assert_allclose(values["tod_cos"], [1, 0, -1, 1], atol=1e-12)
    np.testing.assert_allclose(values["dow_sin"], np.sin(2 * np.pi * np.array([0, 0, 2, 0]) / 7), atol=1e-12)
    np.testing.assert_allclose(values["moy_cos"], [1, 1, 1, -1], atol=1e-12)  # July: half a year on


def test_csv_without_time_or_season_has_no_season(tmp_path):
    path = write(tmp_path, pd.DataFrame({"y": np.sin(np.arange(200) / 5.0)}))
    problem = prepare_forecast(ForecastConfig(data=str(path), target="y"))
    assert problem.season is None and problem.calendar == ()
    assert prepare_forecast(ForecastConfig(data=str(path), target="y", season=10)).season == 10


def test_season_defaults_from_the_frequency_and_season_overrides(tmp_path):
    hours = pd.date_range("2021-03-01", periods=24 * 30, freq="h")
    frame = pd.DataFrame({"t": hours.strftime("%Y-%m-%d %H:%M"), "y": np.sin(np.arange(len(hours)) * 2 * np.pi / 24)})
    path = write(tmp_path, frame)
    problem = prepare_forecast(ForecastConfig(data=str(path), target="y", time_column="t", lookback=24))
    assert problem.season == 24 and problem.time.frequency.name == "hourly"
    assert problem.input_columns == ("y", "tod_sin", "tod_cos", "dow_sin", "dow_cos")
    assert any(note.startswith("calendar inputs (hourly data): tod_sin") for note in problem.notes)
    override = prepare_forecast(ForecastConfig(data=str(path), target="y", time_column="t", lookback=24, season=168))
    assert override.season == 168


def test_parse_time_column_keeps_plain_iso_dates():
    index, note = parse_time_column(pd.Series(["2020-01-01", "2020-01-02 06:30"]), column="t", source="x")
    assert note is None and index[1] == pd.Timestamp("2020-01-02 06:30")
