"""Labelled texts for a run: the bundled fine-food reviews, or the user's table with a text and a label column.

    >>> data = load_texts(TextConfig(data="reviews.csv", text_column="review", label_column="score"))
    >>> data.train_texts[0], data.class_names[data.train_labels[0]]

Every bad input is a `DataError` naming the column (and rows) at fault: a column that is not in the
file, missing or empty texts, missing labels, a single class. A file without --test-data is split
into train and test, stratified by class, with `test_fraction` (0: every row is "test", for
evaluating or labelling it with a trained model).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.data import DataError, load_dataset, read_table
from rnnkit.data.bundled import TextData
from rnnkit.data.sequence_table import stratified_holdout
from rnnkit.tasks.text.config import TextConfig

__all__ = ["check_classes", "is_file", "load_texts", "read_text_table"]


def is_file(data: str) -> bool:
    return "." in data or "/" in data


def _rows(mask: np.ndarray, index: pd.Index, limit: int = 3) -> str:
    rows = [str(index[i]) for i in np.flatnonzero(mask)[:limit]]
    return ", ".join(rows) + (", ..." if mask.sum() > limit else "")


def _column(frame: pd.DataFrame, name: str | None, *, flag: str, what: str, source: str) -> str:
    columns = ", ".join(map(str, frame.columns))
    if name is None:
        raise DataError(f"{flag}: name the column of {source} holding {what} (e.g. {flag} {frame.columns[0]}); "
                        f"its columns are: {columns}")
    if name not in frame.columns:
        raise DataError(f"{flag}: column {name!r} is not in {source}; its columns are: {columns}")
    return name


def read_text_table(path: str | Path, *, text_column: str | None, label_column: str | None,
                    class_names: tuple[str, ...] | None = None,
                    labels_required: bool = True) -> tuple[tuple[str, ...], np.ndarray, tuple[str, ...], np.ndarray]:
    """(texts, labels (N,) -1 where unlabelled, class names, rows) of a .csv/.tsv/.parquet file.

    class_names: the classes a trained model knows (labels outside them are an error); None: the
    sorted labels found in the file.
    """
    frame = read_table(path)
    source = Path(path).name
    if len(frame) == 0:
        raise DataError(f"{source} has no rows (only a header with columns {', '.join(map(str, frame.columns))}); "
                        "give a file with one text per row")
    text_column = _column(frame, text_column, flag="--text-column", what="the texts", source=source)
    raw = frame[text_column]
    missing = raw.isna().to_numpy()
    if missing.any():
        raise DataError(f"--text-column {text_column!r}: {missing.sum()} missing text(s) in {source} (row index "
                        f"{_rows(missing, frame.index)}); drop those rows or fill them in")
    texts = tuple(str(t) for t in raw)
    empty = np.array([not t.strip() for t in texts])
    if empty.any():
        raise DataError(f"--text-column {text_column!r}: {empty.sum()} empty text(s) in {source} (row index "
                        f"{_rows(empty, frame.index)}); drop those rows or give them text")
    rows = np.arange(len(frame))
    if not labels_required and (label_column is None or label_column not in frame.columns):  # unlabelled texts
        return texts, np.full(len(texts), -1, dtype=np.int64), class_names or (), rows
    label_column = _column(frame, label_column, flag="--label-column", what="each text's class", source=source)
    raw_labels = frame[label_column]
    unlabelled = raw_labels.isna().to_numpy()
    if unlabelled.any() and labels_required:
        raise DataError(f"--label-column {label_column!r}: {unlabelled.sum()} missing label(s) in {source} (row "
                        f"index {_rows(unlabelled, frame.index)}); drop those rows or label them")
    labels_text = np.array(["" if u else _label_text(v) for v, u in zip(raw_labels, unlabelled)], dtype=object)
    if class_names is None:
        class_names = tuple(_label_text(v) for v in sorted(set(raw_labels[~unlabelled])))
    index = {name: k for k, name in enumerate(class_names)}
    unknown = np.array([not u and t not in index for t, u in zip(labels_text, unlabelled)])
    if unknown.any():
        first = labels_text[np.flatnonzero(unknown)[0]]
        raise DataError(f"--label-column {label_column!r}: label {first!r} in {source} (row index "
                        f"{_rows(unknown, frame.index)}) is not a class of this model, which knows {list(class_names)}")
    labels = np.array([-1 if u else index[t] for t, u in zip(labels_text, unlabelled)], dtype=np.int64)
    return texts, labels, class_names, rows


def _label_text(value: object) -> str:
    """A label as text: whole-number floats (pandas reads a label column with gaps as float) as integers."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_classes(data: TextData) -> None:
    """Training needs two classes; a single one would give a model that always answers it."""
    present = np.unique(data.train_labels[data.train_labels >= 0])
    if len(present) < 2:
        only = data.class_names[present[0]] if len(present) else "none"
        raise DataError(f"--label-column {data.label_column!r}: the training texts of {data.name} hold "
                        f"{len(present)} class ({only!r}); a classifier needs at least 2. Check --label-column, "
                        f"or add texts of the other classes")


def load_texts(config: TextConfig, *, class_names: tuple[str, ...] | None = None, test_fraction: float | None = None,
               labels_required: bool = True) -> TextData:
    """The bundled dataset named by `config.data`, or the user's table split into train and test."""
    if not is_file(config.data):
        return _bundled(config)
    read = dict(text_column=config.text_column, label_column=config.label_column, labels_required=labels_required)
    texts, labels, names, rows = read_text_table(config.data, class_names=class_names, **read)
    name = Path(config.data).stem
    if config.test_data is not None and test_fraction != 0.0:
        test_texts, test_labels, _, test_rows = read_text_table(config.test_data, class_names=names, **read)
        return TextData(name=name, train_texts=texts, train_labels=labels, test_texts=test_texts,
                        test_labels=test_labels, class_names=names, text_column=config.text_column,
                        label_column=config.label_column or "", source=f"{config.data} + {config.test_data}",
                        train_rows=rows, test_rows=test_rows)
    fraction = config.test_fraction if test_fraction is None else test_fraction
    if fraction == 0.0:
        test = np.ones(len(texts), dtype=bool)  # evaluation / prediction: every row is "test"
    else:
        test = stratified_holdout(labels, fraction, config.seed)
        if test.all() or not test.any():
            raise DataError(f"{Path(config.data).name}: {len(texts)} texts are too few to split with "
                            f"--test-fraction {fraction}; give more texts or a test file (--test-data)")
    pick = lambda mask: tuple(t for t, m in zip(texts, mask) if m)  # noqa: E731
    return TextData(name=name, train_texts=pick(~test), train_labels=labels[~test], test_texts=pick(test),
                    test_labels=labels[test], class_names=names, text_column=config.text_column,
                    label_column=config.label_column or "", source=str(config.data),
                    train_rows=rows[~test], test_rows=rows[test])


def _bundled(config: TextConfig) -> TextData:
    if config.test_data is not None:
        raise DataError(f"--test-data needs --data to be a file of training texts; the bundled dataset "
                        f"{config.data!r} has its own test split (drop --test-data, or pass its training file)")
    data = load_dataset(config.data)
    if not isinstance(data, TextData):
        raise DataError(f"dataset {config.data!r} is not a text dataset; use its own task (see `rnnkit datasets`) "
                        f"or a text dataset such as fine_food_reviews")
    for flag, given, own in (("--text-column", config.text_column, data.text_column),
                             ("--label-column", config.label_column, data.label_column)):
        if given is not None and given != own:
            raise DataError(f"{flag} {given!r}: the bundled dataset {data.name} has its column {own!r}; drop {flag} "
                            f"(it is for your own files)")
    return dataclasses.replace(data)
