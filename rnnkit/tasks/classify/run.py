"""Save a classification run to its folder; evaluate it again or label new sequences with it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data import DataError, SequenceData
from rnnkit.data.sequence_table import sequence_ids
from rnnkit.tasks.classify.pipeline import (
    ClassifyResult,
    classification_report,
    load_sequences,
    predict_classes,
    scale_sequences,
)
from rnnkit.tasks.classify.config import ClassifyConfig
from rnnkit.tasks.classify.plots import plot_confusion_matrix
from rnnkit.tasks.plots import plot_history
from rnnkit.tasks.runs import RunFolder, finish_run, start_run
from rnnkit.tasks.scaling import Standardizer

__all__ = ["evaluate_classify_run", "explain_inputs", "predict_classify_run", "save_classify_run"]


def _predictions_frame(data: SequenceData, predicted: np.ndarray, probabilities: np.ndarray | None,
                       labels: np.ndarray | None) -> pd.DataFrame:
    """One row per test sequence; `sequence` is its id in the user's file (the id column's value, or
    for a .ts file or a bundled dataset the case index in the test file, counting from 0)."""
    frame = pd.DataFrame({"sequence": sequence_ids(data, "test"),
                          "length": [len(s) for s in data.test_sequences],
                          "predicted": [data.class_names[k] for k in predicted]})
    if labels is not None:
        frame["actual"] = [data.class_names[k] for k in labels]
    if probabilities is not None:
        for k, name in enumerate(data.class_names):
            frame[f"p_{name}"] = probabilities[:, k]
    return frame


def save_classify_run(result: ClassifyResult, out: str | Path | None = None, *, folder: Path | None = None,
                      extra_state: dict[str, Any] | None = None) -> Path:
    """Write the run's results into `folder` (one `start_run` made before training), or into a new
    run folder under `out`; returns the folder. `extra_state`: more keys for run.json (e.g. where a
    compressed run came from)."""
    data = result.data
    if folder is None:
        if out is None:
            raise TypeError("save_classify_run: pass out= (a folder for run folders) or folder= (a started run)")
        folder = start_run(out, task="classify", config=result.config)
    state = {"data_source": data.source, "class_names": list(data.class_names),
             "channel_names": list(data.channel_names), "scaler": result.scaler.to_dict(), **(extra_state or {})}
    metrics = {**result.metrics, "epochs_run": len(result.history.get("loss", []))}
    finish_run(folder, task="classify", config=result.config, state=state, metrics=metrics, model=result.model)
    _predictions_frame(data, result.test_predictions, None, data.test_labels).to_csv(
        folder / "test_predictions.csv", index=False)
    test = result.metrics["test"]
    plot_confusion_matrix(folder / "confusion_matrix.png", confusion=np.asarray(test["confusion_matrix"]),
                          class_names=data.class_names,
                          title=f"{data.name}\ntest accuracy {test['accuracy']:.3f} ({test['samples']} sequences)")
    if result.history.get("loss"):
        plot_history(folder / "loss.png", result.history)
    return folder


def _data_for_run(run: RunFolder, data: str | None, *, labels_required: bool = True) -> SequenceData:
    config: ClassifyConfig = run.config
    class_names = tuple(run.state["class_names"])
    if data is not None:
        config = dataclasses.replace(config, data=data, test_data=None)
    # a new file is all "test"; the run's own data keeps its own split
    sequences = load_sequences(config, class_names=class_names, test_fraction=0.0 if data is not None else None,
                               labels_required=labels_required)
    if sequences.num_channels != len(run.state["channel_names"]):
        raise DataError(f"{sequences.name} has {sequences.num_channels} channels "
                        f"({', '.join(sequences.channel_names)}); this model reads {len(run.state['channel_names'])} "
                        f"({', '.join(run.state['channel_names'])})")
    if tuple(sequences.class_names) != class_names:
        raise DataError(f"{sequences.name} has classes {list(sequences.class_names)}; this model knows {list(class_names)}")
    return sequences


def evaluate_classify_run(run: RunFolder, *, data: str | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    sequences = _data_for_run(run, data)
    scaler = Standardizer.from_dict(run.state["scaler"])
    predicted, probabilities = predict_classes(run.model(), scale_sequences(scaler, sequences.test_sequences))
    report = classification_report(sequences.test_labels, predicted, sequences.class_names)
    return report, _predictions_frame(sequences, predicted, probabilities, sequences.test_labels)


def explain_inputs(run: RunFolder, *, data: str | None = None, count: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` test sequences of the run's data (or of `data`), scaled as the model reads them and
    zero-padded: x (B, T, C) float32 and lengths (B,) int64, for `rnnkit explain`."""
    sequences = _data_for_run(run, data, labels_required=False)
    scaler = Standardizer.from_dict(run.state["scaler"])
    chosen = scale_sequences(scaler, sequences.test_sequences[:count])
    lengths = np.array([len(s) for s in chosen], dtype=np.int64)
    x = np.zeros((len(chosen), int(lengths.max()), chosen[0].shape[1]), dtype=np.float32)
    for b, s in enumerate(chosen):
        x[b, :len(s)] = s
    return x, lengths


def predict_classify_run(run: RunFolder, *, data: str | None = None) -> pd.DataFrame:
    """Label every test sequence of the run's data, or every sequence of `data` (labels optional there)."""
    sequences = _data_for_run(run, data, labels_required=False)
    scaler = Standardizer.from_dict(run.state["scaler"])
    predicted, probabilities = predict_classes(run.model(), scale_sequences(scaler, sequences.test_sequences))
    labels = None if (sequences.test_labels < 0).any() else sequences.test_labels
    return _predictions_frame(sequences, predicted, probabilities, labels)
