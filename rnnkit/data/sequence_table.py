"""A user's long-format CSV/Parquet of labelled sequences as a `SequenceData`.

One row per time step: an id column says which sequence a row belongs to (rows keep their file
order within a sequence), a label column gives the class (constant within a sequence), and the
feature columns are the channels. Sequences may have different lengths; none is truncated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data._errors import DataError
from rnnkit.data.table import FillMethod, _require_columns, check_numeric, read_table
from rnnkit.data.types import SequenceData

__all__ = ["load_sequence_table"]


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
    path = Path(path)
    frame = read_table(path)
    source = path.name
    _require_columns(frame, [id_column], source=source, argument="id_column")
    unlabelled = not labels_required and class_names is not None and label_column not in frame.columns
    if unlabelled:
        frame = frame.assign(**{label_column: class_names[0]})
    _require_columns(frame, [label_column], source=source, argument="label_column")
    channels = list(features) if features else [c for c in frame.columns if c not in (id_column, label_column)]
    _require_columns(frame, channels, source=source, argument="features")
    if not channels:
        raise DataError(f"{source}: no feature columns besides {id_column!r} and {label_column!r}")
    if fill == "drop":
        raise DataError("fill='drop' would cut time steps out of sequences; use ffill or interpolate")
    values = check_numeric(frame, channels, source=source, fill=fill)

    sequences: list[np.ndarray] = []
    labels: list[str] = []
    for sequence_id, rows in frame.groupby(id_column, sort=False).groups.items():
        row_labels = frame.loc[rows, label_column].astype(str).unique()
        if len(row_labels) != 1:
            raise DataError(f"{source}: sequence {sequence_id!r} has {len(row_labels)} different labels "
                            f"in {label_column!r} ({', '.join(row_labels[:3])}); expected one per sequence")
        sequences.append(values.loc[rows].to_numpy(dtype=np.float32))  # (T_i, C)
        labels.append(row_labels[0])
    names = class_names or tuple(sorted(set(labels)))
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise DataError(f"{source}: label(s) {', '.join(unknown)} in {label_column!r} are not classes of "
                        f"this model ({', '.join(names)})")
    y = np.array([-1 if unlabelled else names.index(label) for label in labels], dtype=np.int64)
    if not 0.0 <= test_fraction < 1.0:
        raise DataError(f"test_fraction must be in [0, 1); got {test_fraction}")
    test_mask = np.zeros(len(y), dtype=bool)
    if test_fraction == 0.0:
        test_mask[:] = True  # evaluation/prediction: every sequence is "test"
    else:
        rng = np.random.default_rng(seed)
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            test_mask[members[: round(len(members) * test_fraction)]] = True
        if test_mask.all() or not test_mask.any():
            raise DataError(f"{source}: {len(y)} sequences are too few to split with test_fraction={test_fraction}")
    return SequenceData(
        name=path.stem,
        train_sequences=[s for s, t in zip(sequences, test_mask) if not t], train_labels=y[~test_mask],
        test_sequences=[s for s, t in zip(sequences, test_mask) if t], test_labels=y[test_mask],
        class_names=tuple(names), channel_names=tuple(channels), source=str(path),
    )
