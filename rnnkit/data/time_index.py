"""The time axis of a series: parse a time column, infer its frequency, find gaps, derive calendar inputs.

| frequency      | step                | default season    | calendar inputs (a sin/cos pair each) |
|----------------|---------------------|-------------------|---------------------------------------|
| sub-hourly     | e.g. 30 min         | steps per day: 48 | time of day, day of week              |
| hourly         | 1 h (or n h)        | 24 (24 / n)       | time of day, day of week              |
| daily          | 1 day               | 7                 | day of week, day of year              |
| business-daily | Mon-Fri             | 5                 | day of week, day of year              |
| weekly         | 7 days              | 52                | day of year                           |
| monthly        | 1 month             | 12                | month of year                         |
| quarterly      | 3 months            | 4                 | quarter of year                       |
| yearly         | 1 year              | none              | none                                  |

A numeric time column is read by what its numbers are: fractional years on whole months or
quarters (`1920.0, 1920.083, ...`, as R's `time(ts)` writes them) become real dates; integers are
row positions (no calendar, said so in a note); anything else is an error that asks for
`--time-format`. Text must be ISO 8601 unless `--time-format` gives its strftime format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from rnnkit.data._errors import DataError

__all__ = [
    "CALENDAR_COLUMNS",
    "Frequency",
    "TimeAxis",
    "calendar_columns",
    "calendar_inputs",
    "describe_time_axis",
    "find_duplicates",
    "first_periods",
    "infer_frequency",
    "missing_periods",
    "parse_time_column",
    "regular_grid",
]

DAY = pd.Timedelta(days=1)

#: every calendar input a series can get, as (sin, cos) column pairs
_CYCLES: dict[str, tuple[str, str]] = {
    "time_of_day": ("tod_sin", "tod_cos"),
    "day_of_week": ("dow_sin", "dow_cos"),
    "day_of_year": ("doy_sin", "doy_cos"),
    "month_of_year": ("moy_sin", "moy_cos"),
    "quarter_of_year": ("qoy_sin", "qoy_cos"),
}
CALENDAR_COLUMNS: tuple[str, ...] = tuple(c for pair in _CYCLES.values() for c in pair)


@dataclass(frozen=True, kw_only=True)
class Frequency:
    """A regular step between timestamps: fixed (`step`) or in calendar months (`months`)."""

    name: str  # "30min", "hourly", "daily", "business-daily", "weekly", "monthly", "quarterly", "yearly"
    season: int | None  # the default seasonal period in steps (None: no seasonal cycle)
    cycles: tuple[str, ...]  # calendar inputs: keys of _CYCLES
    step: pd.Timedelta | None = None
    months: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "season": self.season,
                "step": str(self.step) if self.step is not None else f"{self.months} month(s)"}


@dataclass(frozen=True, kw_only=True)
class TimeAxis:
    """What a series' index is, and what happened to it on the way in.

    kind: "dates" (a DatetimeIndex), "positions" (integers from a time column) or "rows" (no time column).
    missing: periods absent from a regular index and not filled; filled: periods inserted and filled (--fill).
    """

    kind: Literal["dates", "positions", "rows"]
    frequency: Frequency | None = None
    missing: tuple[str, ...] = ()  # the first missing periods, as text
    missing_count: int = 0
    filled: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "frequency": self.frequency.to_dict() if self.frequency else None,
                "missing_periods": self.missing_count, "first_missing": list(self.missing),
                "filled_periods": self.filled, "notes": list(self.notes)}


# ---- parsing -------------------------------------------------------------------------------

#: formats tried, only to suggest one when a text column is not ISO 8601
_COMMON_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d", "%d/%m/%y",
                   "%m/%d/%y", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M", "%Y%m%d", "%b %Y",
                   "%Y %b", "%d %b %Y", "%Y-%m-%d %H:%M:%S%z")


def _rows(mask: np.ndarray, limit: int = 3) -> str:
    where = np.flatnonzero(mask)
    text = ", ".join(str(i) for i in where[:limit])
    return text + (", ..." if len(where) > limit else "")


def _matching_formats(text: pd.Series) -> list[str]:
    sample = text.iloc[np.linspace(0, len(text) - 1, min(len(text), 200)).astype(int)]
    found = []
    for fmt in _COMMON_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if not parsed.isna().any():
            found.append(fmt)
    return found


def _format_hint(text: pd.Series) -> str:
    found = _matching_formats(text)
    if len(found) == 1:
        return f"; it matches --time-format '{found[0]}'"
    if found:
        return f"; it matches {' and '.join(repr(f) for f in found[:3])}: pass the one you mean with --time-format"
    return ("; give its strftime format with --time-format (%Y year, %m month, %d day, %H:%M hour:minute), "
            "e.g. --time-format '%d/%m/%Y %H:%M'")


def _parse_with_format(values: pd.Series, fmt: str, *, column: str, source: str) -> pd.DatetimeIndex:
    if pd.api.types.is_float_dtype(values) and np.all(np.mod(values.dropna(), 1) == 0):
        values = values.astype("Int64")  # 20200131.0 -> "20200131"
    text = values.astype("string")
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        example = text[bad].iloc[0]
        raise DataError(f"{source}: {int(bad.sum())} value(s) of time column {column!r} do not match "
                        f"--time-format {fmt!r} (row index {_rows(bad)}, e.g. {example!r})"
                        f"{_format_hint(text.dropna())}")
    return pd.DatetimeIndex(parsed, name=column)


def _fractional_years(values: np.ndarray, *, column: str, source: str) -> tuple[pd.DatetimeIndex, str]:
    """1920.0, 1920.083, ... -> month starts; 1920.0, 1920.25, ... -> quarter starts."""
    months = np.round(values * 12.0)
    span = f"{values.min():g} .. {values.max():g}"
    on_months = np.abs(values * 12.0 - months).max() < 0.1  # R writes k/12 exactly; 2-3 decimals stay within 0.06
    steps = np.diff(np.unique(months))
    plausible = 1000 <= values.min() and values.max() <= 3000
    if not (on_months and plausible and steps.size):
        step = f" with steps of {np.median(np.diff(np.unique(values))):.4g}" if values.size > 1 else ""
        raise DataError(f"{source}: time column {column!r} holds numbers {span}{step} that are neither whole "
                        f"months or quarters of a year (1920.0, 1920.083, ...) nor integer row positions; "
                        f"for dates written as text or numbers give --time-format (e.g. %Y%m%d), or leave out "
                        f"--time-column to use the row order")
    every = 3 if (np.all(steps % 3 == 0) and np.all((months - months.min()) % 3 == 0)) else 1
    months = months.astype(np.int64)
    dates = pd.DatetimeIndex([pd.Timestamp(year=int(m // 12), month=int(m % 12) + 1, day=1) for m in months],
                             name=column)
    kind = "quarterly" if every == 3 else "monthly"
    note = (f"time column {column!r} holds fractional years ({span}): read as {kind} dates "
            f"{dates.min():%Y-%m} .. {dates.max():%Y-%m}")
    return dates, note


def _numeric_times(values: np.ndarray, *, column: str, source: str) -> tuple[pd.Index, str]:
    if np.all(np.mod(values, 1) == 0):
        integers = values.astype(np.int64)
        as_dates = pd.to_datetime(pd.Series(integers).astype(str), format="%Y%m%d", errors="coerce")
        if integers.size and as_dates.notna().all() and 18000101 <= integers.min():
            raise DataError(f"{source}: time column {column!r} holds integers like {integers[0]} that read as "
                            f"dates (YYYYMMDD) or as row positions; say which: --time-format %Y%m%d for dates, "
                            f"or leave out --time-column to use the row order")
        note = (f"time column {column!r} holds integers ({integers.min()} .. {integers.max()}): used as row "
                f"positions, so there are no calendar inputs; for dates give --time-format (e.g. %Y for years)")
        return pd.Index(integers, name=column), note
    return _fractional_years(values, column=column, source=source)


def parse_time_column(values: pd.Series, *, column: str, source: str,
                      time_format: str | None = None) -> tuple[pd.Index, str | None]:
    """The index a time column gives, and a note on how it was read (None for plain dates).

    returns a DatetimeIndex, or an integer Index of row positions; rows keep the file's order.
    """
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(f"{source}: {int(missing.sum())} empty value(s) in time column {column!r} "
                        f"(row index {_rows(missing)}); every row needs a time")
    if time_format is not None:
        return _parse_with_format(values, time_format, column=column, source=source), None
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.DatetimeIndex(values, name=column), None
    if pd.api.types.is_bool_dtype(values):
        raise DataError(f"{source}: time column {column!r} holds true/false values; expected dates or numbers")
    numbers = values if pd.api.types.is_numeric_dtype(values) else pd.to_numeric(values, errors="coerce")
    if numbers.notna().all():
        return _numeric_times(numbers.to_numpy(dtype=np.float64), column=column, source=source)
    text = values.astype("string")
    try:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    except (ValueError, TypeError) as exc:  # e.g. mixed time zones
        raise DataError(f"{source}: cannot read time column {column!r} as dates: {str(exc).splitlines()[0]}; "
                        f"give --time-format") from None
    bad = parsed.isna().to_numpy()
    if bad.any():
        raise DataError(f"{source}: {int(bad.sum())} value(s) of time column {column!r} are not ISO dates "
                        f"(YYYY-MM-DD[ HH:MM[:SS]]) (row index {_rows(bad)}, e.g. {text[bad].iloc[0]!r})"
                        f"{_format_hint(text)}")
    return pd.DatetimeIndex(parsed, name=column), None


def find_duplicates(index: pd.Index, *, column: str, source: str) -> None:
    """A timestamp on two rows is an error naming the rows (0-based, header not counted)."""
    repeated = index.duplicated(keep=False)
    if not repeated.any():
        return
    first = index[repeated][0]
    rows = np.flatnonzero(index == first)
    stamps = int(pd.Index(index[repeated]).nunique())
    raise DataError(f"{source}: time column {column!r} repeats {first} at row index "
                    f"{', '.join(map(str, rows[:5]))} ({stamps} repeated time(s) in all); keep one row per "
                    f"time step (remove or aggregate the duplicates)")


# ---- frequency and gaps --------------------------------------------------------------------

def _mode(values: np.ndarray) -> Any:
    unique, counts = np.unique(values, return_counts=True)
    return unique[np.argmax(counts)]


def _nanos(index: pd.DatetimeIndex) -> np.ndarray:
    """Timestamps as int64 nanoseconds (whatever the index's unit: pandas 3 defaults to microseconds)."""
    return index.values.astype("datetime64[ns]").view(np.int64)


def _month_number(index: pd.DatetimeIndex) -> np.ndarray:
    return index.year.to_numpy() * 12 + index.month.to_numpy() - 1


def infer_frequency(index: pd.DatetimeIndex) -> Frequency | None:
    """The regular step of sorted, unique timestamps (gaps allowed), or None when there is none."""
    if len(index) < 3:
        return None
    nanos = np.diff(_nanos(index))
    step = pd.Timedelta(int(_mode(nanos)))
    if step <= pd.Timedelta(0):
        return None
    if step < DAY:
        if DAY % step != pd.Timedelta(0) or np.any(nanos % step.value):
            return None
        per_day = int(DAY / step)
        hours = step / pd.Timedelta(hours=1)
        name = "hourly" if hours == 1 else (f"{int(hours)}-hourly" if hours == int(hours)
                                            else f"{int(step / pd.Timedelta(minutes=1))}min")
        return Frequency(name=name, season=per_day, cycles=("time_of_day", "day_of_week"), step=step)
    if step in (DAY, 7 * DAY):
        if np.any(nanos % DAY.value):  # not at one time of day
            return None
        if step == DAY and _is_business_daily(index):
            return Frequency(name="business-daily", season=5, cycles=("day_of_week", "day_of_year"), step=DAY)
        if step == DAY:
            return Frequency(name="daily", season=7, cycles=("day_of_week", "day_of_year"), step=DAY)
        if np.any(nanos % (7 * DAY).value):
            return None
        return Frequency(name="weekly", season=52, cycles=("day_of_year",), step=7 * DAY)
    month_steps = np.diff(_month_number(index))
    every = int(_mode(month_steps))
    for months, name, season, cycles, days in ((1, "monthly", 12, ("month_of_year",), (28, 31)),
                                               (3, "quarterly", 4, ("quarter_of_year",), (89, 92)),
                                               (12, "yearly", None, (), (365, 366))):
        if every == months and days[0] <= step / DAY <= days[1]:
            if np.any(month_steps <= 0) or np.any(month_steps % months):
                return None
            return Frequency(name=name, season=season, cycles=cycles, months=months)
    return None


def _is_business_daily(index: pd.DatetimeIndex) -> bool:
    """Only Monday-Friday, and Friday -> Monday steps of 3 days (holidays may be missing)."""
    weekdays = index.day_of_week.to_numpy()
    days = np.diff(_nanos(index)) / DAY.value
    return bool(weekdays.max() <= 4 and np.any(days == 3) and len(index) >= 10)


def regular_grid(index: pd.DatetimeIndex, frequency: Frequency) -> pd.DatetimeIndex:
    """Every timestamp a gapless series with this frequency would have, first to last."""
    first, last = index[0], index[-1]
    if frequency.name == "business-daily":
        offset = first - first.normalize()
        return pd.bdate_range(first.normalize(), last.normalize(), name=index.name) + offset
    if frequency.step is not None:
        return pd.date_range(first, last, freq=frequency.step, name=index.name)
    months = np.arange(_month_number(index)[0], _month_number(index)[-1] + 1, frequency.months)
    month_end = bool(index.is_month_end.all())
    day = first.day
    stamps = []
    for m in months:
        start = pd.Timestamp(year=int(m // 12), month=int(m % 12) + 1, day=1, tz=first.tz)
        if month_end:
            stamps.append(start + pd.offsets.MonthEnd(0))
        else:
            stamps.append(start.replace(day=min(day, start.days_in_month)) + (first - first.normalize()))
    grid = pd.DatetimeIndex(stamps, name=index.name)
    present = dict(zip(_month_number(index), index))  # keep the series' own stamps where it has them
    return pd.DatetimeIndex([present.get(m, g) for m, g in zip(months, grid)], name=index.name)


def missing_periods(index: pd.Index, frequency: Frequency | None) -> pd.Index:
    """Timestamps (or positions) absent from a regular index; empty when it has no frequency."""
    if isinstance(index, pd.DatetimeIndex):
        if frequency is None:
            return index[:0]
        return regular_grid(index, frequency).difference(index)
    if len(index) < 3 or not pd.api.types.is_integer_dtype(index):
        return index[:0]
    steps = np.diff(index.to_numpy())
    step = int(_mode(steps))
    if step <= 0 or np.any(steps % step):
        return index[:0]
    return pd.RangeIndex(index[0], index[-1] + 1, step).difference(index)


def describe_time_axis(index: pd.Index) -> TimeAxis:
    """The `TimeAxis` of an index as it is (a bundled dataset's, or a frame built in code)."""
    if isinstance(index, pd.DatetimeIndex):
        frequency = infer_frequency(index)
        gaps = missing_periods(index, frequency)
        notes = () if frequency else ("the timestamps have no regular step: no frequency, no calendar inputs",)
        return TimeAxis(kind="dates", frequency=frequency, missing=first_periods(gaps), missing_count=len(gaps),
                        notes=notes)
    return TimeAxis(kind="rows")


def first_periods(gaps: pd.Index, limit: int = 5) -> tuple[str, ...]:
    """The first `limit` entries of an index as text (dates without a midnight time)."""
    return tuple(_stamp(g) for g in gaps[:limit])


def _stamp(value: Any) -> str:
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return str(value.date())
    return str(value)


# ---- calendar inputs -----------------------------------------------------------------------

def calendar_columns(frequency: Frequency | None) -> tuple[str, ...]:
    """The calendar input columns for a frequency: (sin, cos) per cycle, in `_CYCLES` order."""
    if frequency is None:
        return ()
    return tuple(c for cycle in _CYCLES if cycle in frequency.cycles for c in _CYCLES[cycle])


def _phase(index: pd.DatetimeIndex, cycle: str) -> np.ndarray:
    """Position within each cycle as an angle in radians."""
    if cycle == "time_of_day":
        seconds = (index - index.normalize()) / pd.Timedelta(seconds=1)
        fraction = np.asarray(seconds, dtype=np.float64) / 86400.0
    elif cycle == "day_of_week":
        fraction = index.day_of_week.to_numpy() / 7.0
    elif cycle == "day_of_year":
        fraction = index.day_of_year.to_numpy() / 365.25  # (as rnnkit has always computed it)
    elif cycle == "month_of_year":
        fraction = (index.month.to_numpy() - 1) / 12.0
    else:
        fraction = (index.quarter.to_numpy() - 1) / 4.0
    return 2.0 * np.pi * fraction


def calendar_inputs(index: pd.DatetimeIndex, columns: tuple[str, ...]) -> pd.DataFrame:
    """The named calendar columns (any of `CALENDAR_COLUMNS`) for each timestamp."""
    out = {}
    for cycle, (sin_name, cos_name) in _CYCLES.items():
        if sin_name in columns or cos_name in columns:
            angle = _phase(index, cycle)
            out[sin_name], out[cos_name] = np.sin(angle), np.cos(angle)
    unknown = [c for c in columns if c not in out]
    if unknown:
        raise DataError(f"unknown calendar column {unknown[0]!r}; expected one of {', '.join(CALENDAR_COLUMNS)}")
    return pd.DataFrame({c: out[c] for c in columns}, index=index)
