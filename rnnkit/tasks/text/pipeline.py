"""Text classification: raw texts -> a class, with the majority class and TF-IDF + logistic regression beside it.

    >>> from rnnkit.tasks.text import TextConfig, train_text_classifier
    >>> result = train_text_classifier(TextConfig(data="fine_food_reviews"))
    >>> result.metrics["test"]["accuracy"], result.metrics["test"]["baselines"]["tfidf_logistic"]["accuracy"]

A stratified `val_fraction` of the training texts is held out: the model stops on its loss (the best
epoch's weights kept) and the TF-IDF baseline chooses its C on it; both learn from the same
remaining training texts. The test texts are used for nothing but the scores.

With `init_from` (a language-model run), the classifier is the LM's tokenizer, embedding and LSTM stack,
fine-tuned with gradual unfreezing and discriminative learning rates (`rnnkit.tasks.text.transfer`).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data import DataError
from rnnkit.data.bundled import TextData
from rnnkit.data.sequence_table import stratified_holdout
from rnnkit.tasks import _model
from rnnkit.tasks.text.baselines import C_DEFAULT, majority_class, tfidf_logistic
from rnnkit.tasks.text.config import TextConfig
from rnnkit.tasks.text.data import check_classes, load_texts
from rnnkit.tasks.text.metrics import text_report
from rnnkit.tasks.text.model import build_text_model, build_vectorizer, id_loader, predict_texts, token_counts

__all__ = ["TextResult", "check_tokens", "train_text_classifier"]


@dataclass(kw_only=True)
class TextResult:
    config: TextConfig
    data: TextData
    model: Any                      # the Sequential that reads raw text (what is saved)
    history: dict[str, list[float]]
    metrics: dict[str, Any]         # {"test": {accuracy, macro_f1, roc_auc, per_class, confusion_matrix,
                                    #           baselines: {majority, tfidf_logistic}}, ...}
    test_probabilities: np.ndarray  # (N_test, K)


def check_tokens(vectorizer: Any, texts: tuple[str, ...], rows: np.ndarray | None, *, where: str) -> None:
    """Every text needs at least one token as the model reads it (lowercased, punctuation stripped).

    where: what the texts are, for the message (`--text-column 'review' of reviews.csv`, `--text`).
    """
    counts = token_counts(vectorizer, texts)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        named = [str(rows[i] if rows is not None else i + 1) for i in empty[:3]] + (["..."] if empty.size > 3 else [])
        position = "row index" if rows is not None else "text"
        raise DataError(f"{where}: {empty.size} text(s) have no words once lowercased and stripped of punctuation "
                        f"({position} {', '.join(named)}, e.g. {texts[empty[0]]!r:.40}); drop them or give them words")


def _split_validation(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) of the training texts, stratified, >= 1 of each class (of 2+) on both sides."""
    if fraction <= 0:
        return np.arange(len(labels)), np.arange(0)
    held = stratified_holdout(labels, fraction, seed, keep_one=True)
    return np.flatnonzero(~held), np.flatnonzero(held)




def _baselines(data: TextData, train_index: np.ndarray, val_index: np.ndarray, seed: int) -> dict[str, Any]:
    pick = lambda index: [data.train_texts[i] for i in index]  # noqa: E731
    entries = {
        "majority": majority_class(data.train_labels[train_index], len(data.test_texts), data.num_classes),
        "tfidf_logistic": tfidf_logistic(pick(train_index), data.train_labels[train_index], pick(val_index),
                                         data.train_labels[val_index], data.test_texts, num_classes=data.num_classes,
                                         seed=seed),
    }
    scored = {}
    for key, entry in entries.items():
        report = text_report(data.test_labels, entry["predictions"], entry["probabilities"], data.class_names)
        scored[key] = {"method": entry["method"], **{k: report[k] for k in ("accuracy", "macro_f1", "roc_auc")
                                                      if k in report},
                       **{k: entry[k] for k in ("C", "features", "note", "seconds") if k in entry}}
    return scored


def train_text_classifier(config: TextConfig, *, data: TextData | None = None, verbose: int = 0,
                          backup_dir: str | Path | None = None) -> TextResult:
    """Train on the training texts (early stopping on a validation share), score the test texts beside the baselines.

    backup_dir: back up the training state there after every epoch and resume from a backup found
    there (`rnnkit.callbacks.BackupAndRestore`); a resumed run ends with the same weights.
    """
    import rnnkit

    data = data if data is not None else load_texts(config)
    if not data.train_texts or not data.test_texts:
        raise DataError(f"{data.name}: need training and test texts; got {len(data.train_texts)} and "
                        f"{len(data.test_texts)}")
    check_classes(data)
    rnnkit.set_seed(config.seed)
    train_index, val_index = _split_validation(data.train_labels, config.val_fraction, config.seed)
    train_texts = [data.train_texts[i] for i in train_index]
    lm = None
    if config.init_from is not None:
        from rnnkit.tasks.text import transfer

        lm = transfer.load_language_model(config.init_from)
        config = transfer.transfer_config(config, lm)
        vectorizer = transfer.transfer_vectorizer(lm)
    else:
        vectorizer = build_vectorizer(config, train_texts)
    column = f"--text-column {data.text_column!r}"
    check_tokens(vectorizer, data.train_texts, data.train_rows, where=f"{column} of the training texts")
    check_tokens(vectorizer, data.test_texts, data.test_rows, where=f"{column} of the test texts")
    baselines = _baselines(data, train_index, val_index, config.seed)
    extra: dict[str, Any] = {}
    loader = id_loader
    if lm is not None:
        text_model = transfer.build_transfer_model(vectorizer, lm, config, data.num_classes)
    elif config.wide_ngrams:
        from rnnkit.tasks.text import wide

        C = baselines.get("tfidf_logistic", {}).get("C", C_DEFAULT)       # chosen on the validation texts
        wide_vectorizer = wide.build_wide_vectorizer(train_texts, ngrams=config.wide_ngrams,
                                                     max_tokens=config.wide_vocab_size)
        l2 = wide.l2_strength(C, len(train_texts))
        text_model = build_text_model(vectorizer, config, data.num_classes, wide_vectorizer=wide_vectorizer,
                                      wide_l2=l2)
        loader = functools.partial(wide.wide_loader, wide_vectorizer=wide_vectorizer)
        extra["wide"] = {"ngrams": config.wide_ngrams, "features": wide_vectorizer.vocabulary_size(), "C": C,
                         "l2": l2}
        if config.wide_warm_start:
            extra["wide"]["warm_start_objective"] = wide.warm_start(
                text_model.core.wide, wide_vectorizer, train_texts, data.train_labels[train_index], l2=l2)
    else:
        text_model = build_text_model(vectorizer, config, data.num_classes)
    train = loader(vectorizer, texts=train_texts, labels=data.train_labels[train_index],
                   batch_size=config.batch_size, shuffle=True)
    validation = None
    if val_index.size:
        validation = loader(vectorizer, texts=[data.train_texts[i] for i in val_index],
                            labels=data.train_labels[val_index], batch_size=128, shuffle=False)
    start = time.perf_counter()
    if lm is not None:
        history, extra["fine_tuning"] = transfer.fine_tune(text_model, train, validation, config, verbose=verbose,
                                                           backup_dir=backup_dir)
    else:
        history = _model.train_model(text_model.core, train, None, loss="sparse_categorical_crossentropy",
                                     learning_rate=config.learning_rate, epochs=config.epochs,
                                     batch_size=config.batch_size, patience=config.patience, seed=config.seed,
                                     validation=validation, verbose=verbose, metrics=["accuracy"],
                                     backup_dir=backup_dir)
    seconds = time.perf_counter() - start
    probabilities = predict_texts(text_model.model, data.test_texts)
    test = text_report(data.test_labels, probabilities.argmax(axis=1), probabilities, data.class_names)
    test["baselines"] = baselines
    metrics = {"test": test, "train_texts": int(train_index.size), "val_texts": int(val_index.size),
               "vocabulary_size": vectorizer.vocabulary_size(), "train_seconds": round(seconds, 1),
               **_model.kept_epoch(history, config.patience), **extra}
    return TextResult(config=config, data=data, model=text_model.model, history=history, metrics=metrics,
                      test_probabilities=probabilities)
