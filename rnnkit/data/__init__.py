"""Real datasets bundled in installed packages, datasets fetched from their sources, and users' CSV/Parquet files.

    >>> from rnnkit.data import load_dataset, list_datasets
    >>> weather = load_dataset("seattle_weather")      # TimeSeriesData
    >>> vowels = load_dataset("japanese_vowels")       # SequenceData (needs `pip install aeon`)
    >>> tok = WordTokenizer().fit(texts)               # a tokenizer (rnnkit.data.text)
    >>> text = load_text("tiny_shakespeare")           # fetched into $RNNKIT_DATA_DIR (or from $RNNKIT_DATA_MIRROR)
"""

from rnnkit.data._errors import DataError, MissingProviderError
from rnnkit.data.bundled import DatasetInfo, dataset_names, list_datasets, load_dataset
from rnnkit.data.fetch import CacheStatus, FetchError, cache_status, data_dir, data_mirror, fetch
from rnnkit.data.remote import (
    RemoteDataset,
    RemoteFile,
    register_remote_dataset,
    remote_dataset,
    remote_dataset_names,
    remote_datasets,
    unregister_remote_dataset,
)
from rnnkit.data.long_range import LONG_RANGE_TASKS, LongRangeTask, logistic_regression_baseline, make_long_range
from rnnkit.data.remote_loaders import SpokenDigit, fsdd_files, load_parallel, load_text
from rnnkit.data.sequence_table import load_sequence_table
from rnnkit.data.table import (
    FILL_METHODS,
    FillMethod,
    check_numeric,
    load_series_table,
    read_table,
)
from rnnkit.data.text import BPETokenizer, CharTokenizer, SpecialTokens, Tokenizer, WordTokenizer
from rnnkit.data.ts_format import read_ts_file
from rnnkit.data.types import SequenceData, TimeSeriesData
from rnnkit.training.sequences import BucketBatchSampler, pad_collate, pad_sequences

__all__ = [
    "BPETokenizer",
    "BucketBatchSampler",
    "CharTokenizer",
    "CacheStatus",
    "FILL_METHODS",
    "DataError",
    "DatasetInfo",
    "FetchError",
    "FillMethod",
    "LONG_RANGE_TASKS",
    "LongRangeTask",
    "MissingProviderError",
    "RemoteDataset",
    "RemoteFile",
    "SequenceData",
    "SpecialTokens",
    "SpokenDigit",
    "TimeSeriesData",
    "Tokenizer",
    "WordTokenizer",
    "cache_status",
    "check_numeric",
    "data_dir",
    "data_mirror",
    "dataset_names",
    "fetch",
    "fsdd_files",
    "list_datasets",
    "load_dataset",
    "logistic_regression_baseline",
    "load_parallel",
    "load_sequence_table",
    "load_series_table",
    "load_text",
    "make_long_range",
    "pad_collate",
    "pad_sequences",
    "read_table",
    "read_ts_file",
    "register_remote_dataset",
    "remote_dataset",
    "remote_dataset_names",
    "remote_datasets",
    "unregister_remote_dataset",
]
