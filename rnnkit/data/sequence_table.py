"""A user's file of labelled sequences as a `SequenceData`: a long-format CSV/Parquet, or a `.ts` file.

Long format: one row per time step; an id column says which sequence a row belongs to (rows keep
their file order within a sequence), a label column gives the class (constant within a sequence),
and the feature columns are the channels. A `.ts` file (UEA/UCR archive format) holds one case per
line. Sequences may have different lengths; none is truncated.

Every sequence keeps its id in the file: the id column's value, or for a `.ts` file the case's
index (0 for the first case after `@data`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data._errors import DataError
from rnnkit.data.table import FillMethod, _require_columns, check_numeric, read_table
from rnnkit.data.ts_format import read_ts_file
from rnnkit.data.types import SequenceData

__all__ = ["FileSequenceData", "SequenceFile", "join_train_test", "load_sequence_table", "read_sequence_file",
           "sequence_ids", "split_sequences", "stratified_holdout"]


@dataclass(frozen=True, kw_only=True)
class SequenceFile:
    """The sequences of one file, before any split.

    sequences: float32 arrays (T_i, C); labels: (N,) indices into class_names, -1 where unlabelled;
    ids: each sequence's id in the file (id column value, or case index for .ts).
    """

    name: str
    sequences: list[np.ndarray]
    labels: np.ndarray
    ids: list[Any]
    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    source: str


@dataclass(frozen=True, kw_only=True)
class FileSequenceData(SequenceData):
    """`SequenceData` read from a user's file(s), which also remembers each sequence's id there."""

    train_ids: tuple = ()
    test_ids: tuple = ()


def sequence_ids(data: SequenceData, part: str) -> list[Any]:
    """The ids of the `part` ("train" or "test") sequences: from the file, else their position (case index)."""
    count = len(data.train_sequences if part == "train" else data.test_sequences)
    ids = getattr(data, f"{part}_ids", ())
    return list(ids) if len(ids) == count and count else list(range(count))


def read_sequence_file(path: str | Path, *, id_column: str | None = None, label_column: str | None = None,
                       features: tuple[str, ...] | None = None, fill: FillMethod = "none",
                       class_names: tuple[str, ...] | None = None, labels_required: bool = True) -> SequenceFile:
    """Every sequence of a `.ts` file or a long-format `.csv`/`.tsv`/`.parquet` file.

    class_names: fix the class order (a trained model's); other labels are then an error.
    labels_required: False lets unlabelled sequences through (for prediction, with `class_names`
                     given); their labels are then -1.
    """
    path = Path(path)
    if fill == "drop":
        raise DataError("fill='drop' (--fill drop) would cut time steps out of sequences; use ffill or interpolate")
    if path.suffix.lower() == ".ts":
        sequences, raw_labels, declared = read_ts_file(path, fill=fill)
        channels = tuple(f"dim{c}" for c in range(sequences[0].shape[1]))
        ids: list[Any] = list(range(len(sequences)))
        if raw_labels is None and labels_required:
            raise DataError(f"{path.name} has no class labels (@classLabel false); training and evaluation need them")
    else:
        unlabelled_ok = not labels_required and bool(class_names)
        raw_labels, ids, sequences, channels = _read_long_format(path, id_column, label_column, features, fill,
                                                                 unlabelled_ok=unlabelled_ok)
        declared = ()
    names = tuple(class_names) if class_names else (declared or tuple(sorted(set(raw_labels or []))))
    if raw_labels is None:
        labels = np.full(len(sequences), -1, dtype=np.int64)
    else:
        unknown = sorted(set(raw_labels) - set(names))
        if unknown:
            raise DataError(f"{path.name}: label(s) {', '.join(unknown[:5])} are not classes of this model "
                            f"({', '.join(names)}); {'train with them, or ' if class_names else ''}remove those "
                            f"sequences")
        index = {name: k for k, name in enumerate(names)}
        labels = np.array([index[label] for label in raw_labels], dtype=np.int64)
    return SequenceFile(name=path.stem, sequences=sequences, labels=labels, ids=ids, class_names=names,
                        channel_names=tuple(channels), source=str(path))


def _read_long_format(path: Path, id_column: str | None, label_column: str | None,
                      features: tuple[str, ...] | None, fill: FillMethod, *, unlabelled_ok: bool):
    """(labels or None, ids, sequences, channel names) of a long-format table."""
    if id_column is None or label_column is None:
        raise DataError(f"--id-column and --label-column are required for a sequence table ({path.name}); "
                        f"each row is one time step of the sequence named in the id column")
    frame = read_table(path)
    source = path.name
    _require_columns(frame, [id_column], source=source, argument="id_column")
    unlabelled = unlabelled_ok and label_column not in frame.columns
    if not unlabelled:
        _require_columns(frame, [label_column], source=source, argument="label_column")
    channels = list(features) if features else [c for c in frame.columns if c not in (id_column, label_column)]
    _require_columns(frame, channels, source=source, argument="features")
    for role, column in (("label", label_column), ("id", id_column)):
        if column in channels:
            raise DataError(f"{source}: --features lists {column!r}, which is the {role} column (--{role}-column); "
                            f"the model must not read its own {'answer' if role == 'label' else 'sequence ids'}: "
                            f"drop {column!r} from --features")
    if not channels:
        raise DataError(f"{source}: no feature columns besides {id_column!r} and {label_column!r}")
    groups = frame.groupby(id_column, sort=False).groups
    if fill == "none":
        values = check_numeric(frame, channels, source=source, fill=fill)
    else:  # fill within each sequence: a value never leaks from one sequence into the next
        values = pd.concat([check_numeric(frame.loc[rows], channels, source=source, fill=fill)
                            for rows in groups.values()])
    sequences, labels, ids = [], [], []
    for sequence_id, rows in groups.items():
        if not unlabelled:
            row_labels = frame.loc[rows, label_column].astype(str).unique()
            if len(row_labels) != 1:
                raise DataError(f"{source}: sequence {sequence_id!r} has {len(row_labels)} different labels "
                                f"in {label_column!r} ({', '.join(row_labels[:3])}); expected one per sequence")
            labels.append(row_labels[0])
        sequences.append(values.loc[rows].to_numpy(dtype=np.float32))  # (T_i, C)
        ids.append(sequence_id.item() if hasattr(sequence_id, "item") else sequence_id)
    return (None if unlabelled else labels), ids, sequences, channels


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int, *, keep_one: bool = False) -> np.ndarray:
    """A boolean mask (N,) holding out `fraction` of each class, drawn with `seed`.

    keep_one: every class with at least 2 members keeps at least one member on each side (a class
              of one stays on the kept side).
    """
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = round(len(members) * fraction)
        if keep_one:
            count = min(max(count, 1), len(members) - 1)
        held[members[:count]] = True
    return held


def split_sequences(file: SequenceFile, *, test_fraction: float, seed: int) -> FileSequenceData:
    """Split one file into train and test, stratified by class; `test_fraction=0` makes every sequence "test"."""
    if not 0.0 <= test_fraction < 1.0:
        raise DataError(f"test_fraction must be in [0, 1); got {test_fraction}")
    if test_fraction == 0.0:
        test = np.ones(len(file.labels), dtype=bool)  # evaluation/prediction: every sequence is "test"
    else:
        test = stratified_holdout(file.labels, test_fraction, seed)
        if test.all() or not test.any():
            raise DataError(f"{file.name}: {len(test)} sequences are too few to split with "
                            f"test_fraction={test_fraction}; give more sequences or a test file (--test-data)")
    return _sequence_data(file, file, ~test, test)


def join_train_test(train: SequenceFile, test: SequenceFile) -> FileSequenceData:
    """Every sequence of `train` for training, every sequence of `test` for testing (a given split)."""
    if len(test.channel_names) != len(train.channel_names):
        raise DataError(f"test data {test.name} has {len(test.channel_names)} channel(s); the training data "
                        f"{train.name} has {len(train.channel_names)}. Both files need the same channels")
    if test.class_names != train.class_names:  # read without the training classes: map its labels onto them
        unknown = sorted(set(test.class_names[k] for k in test.labels if k >= 0) - set(train.class_names))
        if unknown:
            raise DataError(f"test data {test.name}: label(s) {', '.join(unknown[:5])} are not among the training "
                            f"classes ({', '.join(train.class_names)}); remove those sequences or add them to training")
        to_train = np.array([train.class_names.index(n) if n in train.class_names else -1 for n in test.class_names])
        test = dataclasses.replace(test, labels=np.where(test.labels >= 0, to_train[test.labels], -1),
                                   class_names=train.class_names)
    return _sequence_data(train, test, np.ones(len(train.labels), bool), np.ones(len(test.labels), bool))


def _sequence_data(train: SequenceFile, test: SequenceFile, train_mask: np.ndarray,
                   test_mask: np.ndarray) -> FileSequenceData:
    def pick(values: list, mask: np.ndarray) -> list:
        return [v for v, keep in zip(values, mask) if keep]

    source = train.source if train is test else f"{train.source} (train), {test.source} (test)"
    return FileSequenceData(
        name=train.name,
        train_sequences=pick(train.sequences, train_mask), train_labels=train.labels[train_mask],
        test_sequences=pick(test.sequences, test_mask), test_labels=test.labels[test_mask],
        class_names=train.class_names, channel_names=train.channel_names, source=source,
        train_ids=tuple(pick(train.ids, train_mask)), test_ids=tuple(pick(test.ids, test_mask)),
    )


def load_sequence_table(path: str | Path, *, id_column: str, label_column: str,
                        features: tuple[str, ...] | None = None, fill: FillMethod = "none",
                        test_fraction: float = 0.25, seed: int = 0,
                        class_names: tuple[str, ...] | None = None, labels_required: bool = True) -> SequenceData:
    """Group rows into sequences by `id_column` and split the sequences into train and test.

    features: channel columns (default: every column except the id and label).
    test_fraction: share of sequences held out, stratified by class, drawn with `seed`;
                   0 puts everything in `test_sequences` (for evaluating a trained model).
    class_names: fix the class order (a trained model's); unseen labels are then an error.
    labels_required: False lets a file without the label column through (for prediction, with
                     `class_names` given); its labels are then -1.
    """
    file = read_sequence_file(path, id_column=id_column, label_column=label_column, features=features, fill=fill,
                              class_names=class_names, labels_required=labels_required)
    return split_sequences(file, test_fraction=test_fraction, seed=seed)
