"""A user's CSV or Parquet file as a `TimeSeriesData` (and its `TimeAxis`), with one-line errors for every bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from rnnkit.data._errors import DataError
from rnnkit.data.time_index import (
    TimeAxis,
    find_duplicates,
    first_periods,
    infer_frequency,
    missing_periods,
    parse_time_column,
)
from rnnkit.data.types import TimeSeriesData

__all__ = ["FILL_METHODS", "FillMethod", "check_numeric", "load_series_and_axis", "load_series_table", "read_table"]

FillMethod = Literal["none", "ffill", "interpolate", "drop"]
FILL_METHODS: tuple[str, ...] = ("none", "ffill", "interpolate", "drop")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a .csv/.tsv/.parquet file; a missing or unreadable file is a `DataError`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist; give a path to a .csv or .parquet "
                        f"file, or a bundled dataset name (see `rnnkit datasets`)")
    if path.is_dir():
        raise DataError(f"data path {str(path)!r} is a folder; expected a .csv or .parquet file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".tsv", ".txt"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except ImportError as exc:
        raise DataError(f"reading {path.name} needs a parquet engine ({exc}); "
                        f"`pip install pyarrow`, or save the file as CSV") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {path.name}: {first_line}") from None
    raise DataError(f"data file {path.name!r} has suffix {suffix!r}; expected .csv, .tsv or .parquet")


def _require_columns(frame: pd.DataFrame, wanted: list[str], *, source: str, argument: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(f"{argument}: column {missing[0]!r} is not in {source}; "
                        f"its columns are: {', '.join(map(str, frame.columns))}")


def _where(mask: np.ndarray, index: pd.Index, limit: int = 3) -> str:
    rows = [str(index[i]) for i in np.flatnonzero(mask)[:limit]]
    more = "" if mask.sum() <= limit else ", ..."
    return ", ".join(rows) + more


def check_numeric(frame: pd.DataFrame, columns: list[str], *, source: str,
                  fill: FillMethod = "none") -> pd.DataFrame:
    """Coerce `columns` to float; report non-numeric or missing values, or fill them.

    Non-numeric text counts as missing. With `fill="none"` any missing value is an error that says
    how many there are and in which rows; otherwise they are forward-filled (then back-filled at
    the start), linearly interpolated, or their rows dropped.
    """
    if fill not in FILL_METHODS:
        raise DataError(f"fill must be one of {', '.join(FILL_METHODS)}; got {fill!r}")
    if len(frame) == 0:
        raise DataError(f"{source} has no rows (only a header with columns {', '.join(map(str, frame.columns))}); "
                        "give a file with data rows")
    out = pd.DataFrame(index=frame.index)
    problems = []
    for column in columns:
        original = frame[column]
        values = pd.to_numeric(original, errors="coerce").astype("float64")
        text = values.isna() & original.notna()  # present but not a number
        blank = original.isna()
        infinite = pd.Series(np.isinf(values.to_numpy()), index=values.index)
        if infinite.any():
            problems.append(f"{int(infinite.sum())} infinite value(s) (inf) in {column!r} "
                            f"(row index {_where(infinite.to_numpy(), frame.index)})")
        values[~np.isfinite(values.to_numpy())] = np.nan
        if text.any():
            sample = original[text].iloc[0]
            problems.append(f"{int(text.sum())} non-numeric value(s) in {column!r} "
                            f"(row index {_where(text.to_numpy(), frame.index)}, e.g. {sample!r})")
        if blank.any():
            problems.append(f"{int(blank.sum())} missing value(s) in {column!r} "
                            f"(row index {_where(blank.to_numpy(), frame.index)})")
        out[column] = values
    if problems and fill == "none":
        raise DataError(f"{source}: " + "; ".join(problems) +
                        "; clean the file or pass --fill ffill|interpolate|drop")
    if fill == "ffill":
        out = out.ffill().bfill()
    elif fill == "interpolate":
        out = out.interpolate(method="linear", limit_direction="both")
    elif fill == "drop":
        out = out.dropna()
    if out.empty or out.isna().any().any():
        raise DataError(f"{source}: no usable values left in {', '.join(columns)} after --fill {fill}")
    return out


def load_series_table(path: str | Path, *, target: str, features: tuple[str, ...] | None = None,
                      time_column: str | None = None, time_format: str | None = None, fill: FillMethod = "none",
                      season: int | None = None) -> TimeSeriesData:
    """Load a forecasting table; see `load_series_and_axis` (which also says what the time axis is)."""
    return load_series_and_axis(path, target=target, features=features, time_column=time_column,
                                time_format=time_format, fill=fill, season=season)[0]


def load_series_and_axis(path: str | Path, *, target: str, features: tuple[str, ...] | None = None,
                         time_column: str | None = None, time_format: str | None = None,
                         fill: FillMethod = "none", season: int | None = None) -> tuple[TimeSeriesData, TimeAxis]:
    """Load a forecasting table: rows are time steps in order (or sorted by `time_column`).

    target:      the column to forecast; features: input columns (default: just the target; the
                 target is always included as an input).
    time_column: dates (ISO 8601, or text in `time_format`), fractional years on whole months or
                 quarters, or integer positions (see `rnnkit.data.time_index`). Repeated times are an
                 error; missing periods of a regular series are inserted and filled when `fill` is
                 "ffill" or "interpolate", and reported (not filled) otherwise.
    season:      the seasonal period in steps; None: the frequency's default (`Frequency.season`),
                 unknown (None) without dates.
    """
    path = Path(path)
    frame = read_table(path)
    source = path.name
    _require_columns(frame, [target], source=source, argument="target")
    feature_list = list(dict.fromkeys([target, *(features or ())]))
    _require_columns(frame, feature_list, source=source, argument="features")
    if time_format is not None and time_column is None:
        raise DataError("--time-format needs --time-column: name the column it describes")
    notes: list[str] = []
    frequency = None
    kind = "rows"
    if time_column is not None:
        _require_columns(frame, [time_column], source=source, argument="time_column")
        index, note = parse_time_column(frame[time_column], column=time_column, source=source,
                                        time_format=time_format)
        notes += [note] if note else []
        find_duplicates(index, column=time_column, source=source)
        frame = frame.set_index(index)
        if not index.is_monotonic_increasing:
            frame = frame.sort_index()
            notes.append(f"rows sorted by {time_column!r} (the file is not in time order)")
        kind = "dates" if isinstance(index, pd.DatetimeIndex) else "positions"
        if kind == "dates":
            frequency = infer_frequency(frame.index)
            if frequency is None:
                notes.append(f"the times in {time_column!r} have no regular step: no frequency, no calendar "
                             f"inputs, no gap check")
    gaps = missing_periods(frame.index, frequency) if time_column is not None else pd.Index([])
    filled = 0
    if len(gaps) and fill in ("ffill", "interpolate"):
        frame = frame.reindex(frame.index.append(gaps).sort_values())  # the missing periods as missing values
        filled = len(gaps)
    values = check_numeric(frame, feature_list, source=source, fill=fill)
    if len(values) < 3:
        raise DataError(f"{source}: need at least 3 rows to forecast; got {len(values)}")
    missing = missing_periods(values.index, frequency) if time_column is not None else pd.Index([])
    if filled:
        notes.append(f"{filled} missing period(s) inserted and filled by --fill {fill}")
    if len(missing):
        notes.append(f"{len(missing)} missing period(s) in {time_column!r}, e.g. "
                     f"{', '.join(first_periods(missing, 3))}: not filled, so windows across them "
                     f"span more time; pass --fill ffill or --fill interpolate to insert them")
    if season is None and frequency is not None:
        season = frequency.season
    axis = TimeAxis(kind=kind, frequency=frequency, missing=first_periods(missing), missing_count=len(missing),
                    filled=filled, notes=tuple(notes))
    series = TimeSeriesData(name=path.stem, frame=values, target=target, features=tuple(feature_list),
                            season=season, source=str(path))  # type: ignore[arg-type]  # None: season unknown
    return series, axis

