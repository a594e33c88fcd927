"""Scores of a text classifier: accuracy, macro-F1, ROC-AUC (two classes), per class and the confusion matrix."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.tasks.classify.pipeline import classification_report

__all__ = ["roc_auc", "text_report"]


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve of `scores` for class 1 against class 0 (None if one class is absent).

    The probability that a random text of class 1 scores higher than a random one of class 0, ties
    counting one half (Mann-Whitney U / (n1 n0)); the same as scikit-learn's `roc_auc_score`.
    """
    from scipy.stats import rankdata

    positive = labels == 1
    n1, n0 = int(positive.sum()), int((~positive).sum())
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(scores)                                  # mid-ranks: ties share their mean rank
    u = ranks[positive].sum() - n1 * (n1 + 1) / 2
    return float(u / (n1 * n0))


def text_report(labels: np.ndarray, predicted: np.ndarray, probabilities: np.ndarray | None,
                class_names: tuple[str, ...]) -> dict[str, Any]:
    """`classification_report` plus macro-F1 (the unweighted mean of the per-class F1) and, for two
    classes, the ROC-AUC of the probability of the second class."""
    report = classification_report(labels, predicted, class_names)
    report["macro_f1"] = float(np.mean([v["f1"] for v in report["per_class"].values()]))
    if len(class_names) == 2 and probabilities is not None:
        report["roc_auc"] = roc_auc(labels, np.asarray(probabilities)[:, 1])
    return report
