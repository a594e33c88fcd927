"""The baselines every text run reports beside its model, trained on the same training texts.

- majority class: always the most frequent training class (probabilities: the training class shares).
- TF-IDF + logistic regression (scikit-learn): word 1-2-grams, sublinear tf, words in >= 2 texts
  (`TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)`); `C` chosen from `C_GRID` by
  accuracy on the validation texts the model stops on (ties: the smaller C), or `C_DEFAULT` without them.
  Its tokens are scikit-learn's (runs of 2+ word characters, lowercased), not the model's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["C_DEFAULT", "C_GRID", "TFIDF_OPTIONS", "majority_class", "tfidf_logistic"]

C_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)
C_DEFAULT = 10.0
TFIDF_OPTIONS = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2}


def majority_class(train_labels: np.ndarray, count: int, num_classes: int) -> dict[str, Any]:
    """Predictions and probabilities of always answering the most frequent training class."""
    shares = np.bincount(train_labels, minlength=num_classes) / len(train_labels)
    top = int(np.argmax(shares))                                    # ties: the first class
    return {"method": "majority class", "predictions": np.full(count, top, dtype=np.int64),
            "probabilities": np.tile(shares, (count, 1))}


def _fit_tfidf(texts: Sequence[str]) -> tuple[Any, Any, str]:
    """The fitted vectorizer, the training matrix and a note (min_df=2 leaves no word in a tiny corpus: then 1)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        vectorizer = TfidfVectorizer(**TFIDF_OPTIONS)
        return vectorizer, vectorizer.fit_transform(texts), ""
    except ValueError:  # "After pruning, no terms remain"
        vectorizer = TfidfVectorizer(**{**TFIDF_OPTIONS, "min_df": 1})
        return vectorizer, vectorizer.fit_transform(texts), "min_df=1: no word is in 2 training texts"


def tfidf_logistic(train_texts: Sequence[str], train_labels: np.ndarray, val_texts: Sequence[str],
                   val_labels: np.ndarray, test_texts: Sequence[str], *, num_classes: int,
                   seed: int = 0) -> dict[str, Any]:
    """TF-IDF + logistic regression: test predictions and probabilities, the C chosen and the time taken."""
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    vectorizer, train_x, note = _fit_tfidf(train_texts)

    def fit(C: float) -> Any:
        return LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(train_x, train_labels)

    if len(val_texts):
        val_x = vectorizer.transform(val_texts)
        fitted = [(C, fit(C)) for C in C_GRID]
        scores = [float((model.predict(val_x) == val_labels).mean()) for _, model in fitted]
        C, model = fitted[int(np.argmax(scores))]                    # argmax: the first (smallest C) of ties
        how = f"C={C:g} of {', '.join(f'{c:g}' for c in C_GRID)} by validation accuracy"
    else:
        C, model = C_DEFAULT, fit(C_DEFAULT)
        how = f"C={C_DEFAULT:g} (fixed: no validation texts)"
    probabilities = model.predict_proba(vectorizer.transform(test_texts))   # (N, K) in class order 0..K-1
    full = np.zeros((len(test_texts), num_classes))
    full[:, model.classes_] = probabilities
    return {"method": "TF-IDF + logistic regression", "predictions": model.classes_[probabilities.argmax(axis=1)],
            "probabilities": full, "C": C, "features": len(vectorizer.vocabulary_),
            "note": "; ".join(x for x in (how, f"{len(vectorizer.vocabulary_)} 1-2-grams", note) if x),
            "seconds": time.perf_counter() - start}
