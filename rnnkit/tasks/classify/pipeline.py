"""Sequence classification: variable-length multivariate sequences -> a class, lengths kept.

    >>> from rnnkit.tasks.classify.pipeline import train_classifier
    >>> result = train_classifier(ClassifyConfig(data="japanese_vowels"))
    >>> result.metrics["test"]["accuracy"]

Sequences are never truncated or resampled: the training API pads each batch at the end and
passes every sequence's length to the recurrence (`lengths=`), whose final state is taken at
each sequence's own last step. Channels are standardised with statistics of the training
sequences only.

Beside the model, the same test sequences are classified by 1-nearest-neighbour under DTW and
Euclidean distance (`nearest_neighbour.py`), so every run says whether the network earned its keep.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data import DataError, SequenceData, load_dataset
from rnnkit.data.sequence_table import join_train_test, read_sequence_file, split_sequences, stratified_holdout
from rnnkit.tasks import _model
from rnnkit.tasks.classify.config import ClassifyConfig
from rnnkit.tasks.classify.nearest_neighbour import nearest_neighbour_baselines
from rnnkit.tasks.scaling import Standardizer

__all__ = [
    "ClassifyResult",
    "classification_report",
    "fit_channel_scaler",
    "load_sequences",
    "predict_classes",
    "scale_sequences",
    "train_classifier",
]


@dataclass(kw_only=True)
class ClassifyResult:
    config: ClassifyConfig
    data: SequenceData
    scaler: Standardizer
    model: Any
    history: dict[str, list[float]]
    metrics: dict[str, Any]  # {"test": {"accuracy", "per_class", "confusion_matrix"}, ...}
    test_predictions: np.ndarray  # (N_test,) class indices


def _is_file(data: str) -> bool:
    return "." in data or "/" in data


def load_sequences(config: ClassifyConfig, *, class_names: tuple[str, ...] | None = None,
                   test_fraction: float | None = None, labels_required: bool = True) -> SequenceData:
    """The bundled dataset named by `config.data`, or the user's file: a `.ts` file or a long-format table.

    A file is split into train and test by `config.test_fraction` (stratified), unless
    `config.test_data` names a second file holding the test sequences. `test_fraction=0` puts every
    sequence of `config.data` in the test part (to evaluate a trained model on it).
    """
    if _is_file(config.data):
        if config.fill == "drop":
            raise DataError("--fill drop would cut time steps out of sequences; use --fill ffill or interpolate")
        read = functools.partial(read_sequence_file, id_column=config.id_column, label_column=config.label_column,
                                 fill=config.fill, labels_required=labels_required)
        train = read(config.data, features=config.features, class_names=class_names)
        if config.test_data is None or test_fraction == 0.0:
            fraction = config.test_fraction if test_fraction is None else test_fraction
            return split_sequences(train, test_fraction=fraction, seed=config.seed)
        from_table = Path(config.data).suffix.lower() != ".ts"  # a test table reads the training table's columns
        test = read(config.test_data, features=config.features or (train.channel_names if from_table else None))
        return join_train_test(train, test)
    if config.test_data is not None:
        raise DataError(f"--test-data needs --data to be a file of training sequences; the bundled dataset "
                        f"{config.data!r} has its own test split (drop --test-data, or pass its training file)")
    data = load_dataset(config.data)
    if not isinstance(data, SequenceData):
        raise DataError(f"dataset {config.data!r} is for forecasting; use --task forecast or a classification "
                        f"dataset (see `rnnkit datasets`)")
    return data


def fit_channel_scaler(sequences: list[np.ndarray]) -> Standardizer:
    return Standardizer.fit(np.concatenate(sequences, axis=0))  # (sum T_i, C)


def scale_sequences(scaler: Standardizer, sequences: list[np.ndarray]) -> list[np.ndarray]:
    return [scaler.transform(s).astype(np.float32) for s in sequences]


def classification_report(labels: np.ndarray, predicted: np.ndarray, class_names: tuple[str, ...]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows: true class)."""
    K = len(class_names)
    confusion = np.zeros((K, K), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = {}
    for k, name in enumerate(class_names):
        tp = confusion[k, k]
        predicted_k, actual_k = confusion[:, k].sum(), confusion[k, :].sum()
        precision = float(tp / predicted_k) if predicted_k else 0.0
        recall = float(tp / actual_k) if actual_k else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": int(actual_k)}
    return {"accuracy": float((labels == predicted).mean()) if len(labels) else 0.0,
            "samples": len(labels), "per_class": per_class, "confusion_matrix": confusion.tolist()}


def _split_validation(data: SequenceData, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) of the training sequences, stratified by class.

    Every class with at least 2 sequences puts at least one in each part (so a tiny training set
    still validates on every class); a class with one sequence trains on it.
    """
    if fraction <= 0:
        return np.arange(len(data.train_labels)), np.arange(0)
    held = stratified_holdout(data.train_labels, fraction, seed, keep_one=True)
    return np.flatnonzero(~held), np.flatnonzero(held)


def _check_classes(data: SequenceData) -> None:
    """Training needs two classes; a single one would give a model that always answers it."""
    present = np.unique(data.train_labels)
    if len(present) < 2:
        only = data.class_names[present[0]] if len(present) else "none"
        raise DataError(f"{data.name}: the training sequences hold {len(present)} class ({only!r}); a classifier "
                        f"needs at least 2. Check --label-column, or add sequences of the other classes")


def predict_classes(model: Any, sequences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(class indices (N,), probabilities (N, K)) for scaled sequences of any lengths."""
    probabilities = np.asarray(model.predict(sequences, batch_size=128), dtype=np.float64)
    return probabilities.argmax(axis=1), probabilities


def train_classifier(config: ClassifyConfig, *, data: SequenceData | None = None, verbose: int = 0,
                     backup_dir: str | Path | None = None) -> ClassifyResult:
    """Train on the training sequences (early stopping on a validation share when configured), score the test ones.

    backup_dir: back up the training state there after every epoch, and resume from the backup found
    there (see `rnnkit.callbacks.BackupAndRestore`); the resumed run ends with the same weights.
    """
    import rnnkit

    data = data if data is not None else load_sequences(config)
    if not data.train_sequences or not data.test_sequences:
        raise DataError(f"{data.name}: need training and test sequences; got {len(data.train_sequences)} "
                        f"and {len(data.test_sequences)}")
    _check_classes(data)
    rnnkit.set_seed(config.seed)
    train_index, val_index = _split_validation(data, config.val_fraction, config.seed)
    scaler = fit_channel_scaler([data.train_sequences[i] for i in train_index])
    train_x = scale_sequences(scaler, [data.train_sequences[i] for i in train_index])
    validation = None
    if val_index.size:
        validation = (scale_sequences(scaler, [data.train_sequences[i] for i in val_index]), data.train_labels[val_index])
    model = _model.build_model(kind=config.model, units=config.units, layers=config.layers, outputs=data.num_classes,
                               input_shape=(None, data.num_channels), dropout=config.dropout,
                               bidirectional=config.bidirectional, softmax=True)
    history = _model.train_model(model, train_x, data.train_labels[train_index], loss="sparse_categorical_crossentropy",
                                 learning_rate=config.learning_rate, epochs=config.epochs, batch_size=config.batch_size,
                                 patience=config.patience, seed=config.seed, validation=validation, verbose=verbose,
                                 metrics=["accuracy"], backup_dir=backup_dir)
    test_x = scale_sequences(scaler, data.test_sequences)
    predicted, _ = predict_classes(model, test_x)
    metrics = {"test": classification_report(data.test_labels, predicted, data.class_names),
               "train_sequences": len(train_index), "val_sequences": int(val_index.size),
               **_model.kept_epoch(history, config.patience),
               "test_lengths": {"min": int(min(len(s) for s in data.test_sequences)),
                                "max": int(max(len(s) for s in data.test_sequences))}}
    if config.baseline != "none":  # the classical baseline, on all training sequences scaled as the model's
        baselines = nearest_neighbour_baselines(scale_sequences(scaler, data.train_sequences), data.train_labels,
                                                test_x, data.test_labels, dtw=config.baseline == "dtw")
        metrics["test"]["baselines"] = {k: {f: v for f, v in entry.items() if f != "predictions"}
                                        for k, entry in baselines.items()}
    return ClassifyResult(config=config, data=data, scaler=scaler, model=model, history=history,
                          metrics=metrics, test_predictions=predicted)


