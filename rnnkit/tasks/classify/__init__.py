"""Sequence classification: variable-length multivariate sequences -> a class; saved as a run folder.

    >>> from rnnkit.tasks.classify import ClassifyConfig, train_classifier, save_classify_run
    >>> result = train_classifier(ClassifyConfig(data="japanese_vowels"))
    >>> folder = save_classify_run(result, "runs")
"""

from rnnkit.tasks.classify.config import ClassifyConfig
from rnnkit.tasks.classify.pipeline import (
    ClassifyResult,
    classification_report,
    train_classifier,
)
from rnnkit.tasks.classify.run import (
    evaluate_classify_run,
    predict_classify_run,
    save_classify_run,
)

__all__ = [
    "ClassifyConfig",
    "ClassifyResult",
    "classification_report",
    "evaluate_classify_run",
    "predict_classify_run",
    "save_classify_run",
    "train_classifier",
]
