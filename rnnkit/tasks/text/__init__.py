"""Text classification: raw texts -> a class, beside the majority class and TF-IDF + logistic regression;
saved as a run folder whose model reads raw text.

    >>> from rnnkit.tasks.text import TextConfig, train_text_classifier, save_text_run, explain_text
    >>> result = train_text_classifier(TextConfig(data="fine_food_reviews"))
    >>> folder = save_text_run(result, "runs")
    >>> explain_text(result.model, "stale and bitter", class_names=result.data.class_names).weights
"""

from rnnkit.tasks.text.config import TextConfig
from rnnkit.tasks.text.explain import Explanation, explain_text, explanation_html, write_explanation
from rnnkit.tasks.text.pipeline import TextResult, train_text_classifier
from rnnkit.tasks.text.run import evaluate_text_run, predict_text_run, save_text_run
from rnnkit.tasks.text.wide import WideDeepTextClassifier  # registers the class for rnnkit.load_model

__all__ = [
    "Explanation",
    "TextConfig",
    "TextResult",
    "WideDeepTextClassifier",
    "evaluate_text_run",
    "explain_text",
    "explanation_html",
    "predict_text_run",
    "save_text_run",
    "train_text_classifier",
    "write_explanation",
]
