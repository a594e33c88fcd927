"""Real datasets bundled in installed packages, and users' CSV/Parquet files.

    >>> from rnnkit.data import load_dataset, list_datasets
    >>> weather = load_dataset("seattle_weather")      # TimeSeriesData
    >>> vowels = load_dataset("japanese_vowels")       # SequenceData (needs `pip install aeon`)
"""

from rnnkit.data._errors import DataError, MissingProviderError
from rnnkit.data.bundled import DatasetInfo, dataset_names, list_datasets, load_dataset
from rnnkit.data.sequence_table import load_sequence_table
from rnnkit.data.table import (
    FILL_METHODS,
    FillMethod,
    check_numeric,
    load_series_table,
    read_table,
)
from rnnkit.data.ts_format import read_ts_file
from rnnkit.data.types import SequenceData, TimeSeriesData
from rnnkit.training.sequences import BucketBatchSampler, pad_collate, pad_sequences

__all__ = [
    "BucketBatchSampler",
    "FILL_METHODS",
    "DataError",
    "DatasetInfo",
    "FillMethod",
    "MissingProviderError",
    "SequenceData",
    "TimeSeriesData",
    "check_numeric",
    "dataset_names",
    "list_datasets",
    "load_dataset",
    "load_sequence_table",
    "load_series_table",
    "pad_collate",
    "pad_sequences",
    "read_table",
    "read_ts_file",
]
