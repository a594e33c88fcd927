"""Save a text run to its folder; evaluate it again, or label new texts with it (from raw text alone).

The model file holds the vocabulary (inside its TextVectorization layer), so `model.rnnkit` alone
reads raw text: `rnnkit.load_model(RUN / "model.rnnkit").predict(np.array(["great tea"], dtype=object))`.
run.json adds the class names (the order of the model's outputs) and the columns it was trained on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data import DataError
from rnnkit.data.bundled import TextData
from rnnkit.tasks.classify.plots import plot_confusion_matrix
from rnnkit.tasks.plots import plot_history
from rnnkit.tasks.runs import RunFolder, finish_run, start_run
from rnnkit.tasks.text.config import TextConfig
from rnnkit.tasks.text.data import is_file, load_texts
from rnnkit.tasks.text.metrics import text_report
from rnnkit.tasks.text.model import predict_texts
from rnnkit.tasks.text.pipeline import TextResult, check_tokens

__all__ = ["evaluate_text_run", "predict_text_run", "save_text_run"]


def _predictions_frame(texts: Sequence[str], rows: np.ndarray | None, probabilities: np.ndarray,
                       class_names: tuple[str, ...], labels: np.ndarray | None) -> pd.DataFrame:
    """One row per text: its row in the source table, the predicted (and actual) class, each class's probability."""
    frame = pd.DataFrame({"row": rows if rows is not None else np.arange(len(texts)),
                          "predicted": [class_names[k] for k in probabilities.argmax(axis=1)]})
    if labels is not None:
        frame["actual"] = [class_names[k] for k in labels]
    for k, name in enumerate(class_names):
        frame[f"p_{name}"] = probabilities[:, k]
    frame["text"] = list(texts)
    return frame


def save_text_run(result: TextResult, out: str | Path | None = None, *, folder: Path | None = None) -> Path:
    """Write the run's results into `folder` (one `start_run` made before training), or a new run folder under `out`."""
    data = result.data
    if folder is None:
        if out is None:
            raise TypeError("save_text_run: pass out= (a folder for run folders) or folder= (a started run)")
        folder = start_run(out, task="text", config=result.config)
    state = {"data_source": data.source, "class_names": list(data.class_names), "text_column": data.text_column,
             "label_column": data.label_column, "vocabulary_size": result.metrics["vocabulary_size"]}
    metrics = {**result.metrics, "epochs_run": len(result.history.get("loss", []))}
    finish_run(folder, task="text", config=result.config, state=state, metrics=metrics, model=result.model)
    _predictions_frame(data.test_texts, data.test_rows, result.test_probabilities, data.class_names,
                       data.test_labels).to_csv(folder / "test_predictions.csv", index=False)
    test = result.metrics["test"]
    plot_confusion_matrix(folder / "confusion_matrix.png", confusion=np.asarray(test["confusion_matrix"]),
                          class_names=data.class_names,
                          title=f"{data.name}\ntest accuracy {test['accuracy']:.3f}, macro-F1 {test['macro_f1']:.3f} "
                                f"({test['samples']} texts)")
    if result.history.get("loss"):
        plot_history(folder / "loss.png", result.history)
    return folder


def _data_for_run(run: RunFolder, data: str | None, *, labels_required: bool) -> TextData:
    """The run's own test texts, or every row of the file `data` (read with the run's columns)."""
    config: TextConfig = run.config
    class_names = tuple(run.state["class_names"])
    if data is None:
        texts = load_texts(config)
    else:
        if not is_file(data):
            raise DataError(f"--data {data!r}: give a .csv/.tsv/.parquet file with a {run.state['text_column']!r} "
                            f"column (the text column this model was trained on)")
        config = dataclasses.replace(config, data=data, test_data=None, text_column=run.state["text_column"],
                                     label_column=run.state["label_column"] or None)
        texts = load_texts(config, class_names=class_names, test_fraction=0.0, labels_required=labels_required)
    if tuple(texts.class_names) != class_names and (labels_required or texts.class_names):
        raise DataError(f"{texts.name} has classes {list(texts.class_names)}; this model knows {list(class_names)}")
    return texts


def evaluate_text_run(run: RunFolder, *, data: str | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """Scores on the run's test texts (or every row of `data`, labelled) and the predictions frame."""
    texts = _data_for_run(run, data, labels_required=True)
    model = run.model()
    check_tokens(model.layers[0], texts.test_texts, texts.test_rows,
                 where=f"--text-column {texts.text_column!r} of {texts.name}")
    probabilities = predict_texts(model, texts.test_texts)
    class_names = tuple(run.state["class_names"])
    report = text_report(texts.test_labels, probabilities.argmax(axis=1), probabilities, class_names)
    frame = _predictions_frame(texts.test_texts, texts.test_rows, probabilities, class_names, texts.test_labels)
    return report, frame


def predict_text_run(run: RunFolder, *, data: str | None = None, texts: Sequence[str] | None = None) -> pd.DataFrame:
    """Label raw `texts`, or every row of the file `data` (labels optional there), or the run's test texts."""
    model = run.model()
    class_names = tuple(run.state["class_names"])
    if texts is not None:
        if data is not None:
            raise DataError("predict: give --text or --data, not both")
        texts = tuple(texts)
        empty = [i for i, t in enumerate(texts) if not t.strip()]
        if empty:
            raise DataError(f"--text: text {empty[0] + 1} is empty; give the text to classify")
        check_tokens(model.layers[0], texts, None, where="--text")
        return _predictions_frame(texts, None, predict_texts(model, texts), class_names, None)
    found = _data_for_run(run, data, labels_required=False)
    check_tokens(model.layers[0], found.test_texts, found.test_rows,
                 where=f"--text-column {found.text_column!r} of {found.name}")
    labels = None if (found.test_labels < 0).any() else found.test_labels
    return _predictions_frame(found.test_texts, found.test_rows, predict_texts(model, found.test_texts), class_names,
                              labels)
