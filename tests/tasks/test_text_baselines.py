"""The text baselines and metrics against direct scikit-learn computations on a tiny corpus."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from rnnkit.tasks.text.baselines import C_GRID, majority_class, tfidf_logistic
from rnnkit.tasks.text.metrics import roc_auc, text_report
from tests.tasks.test_text_corpus import reviews

CLASSES = ("bad", "good")


def split(count: int, seed: int):
    texts, labels = reviews(count, seed)
    return texts, np.array([CLASSES.index(y) for y in labels])


def test_tfidf_logistic_is_the_scikit_learn_pipeline_with_c_chosen_on_validation():
    train, train_y = split(60, 0)
    val, val_y = split(20, 1)
    test, test_y = split(30, 2)
    val_y[:4] = 1 - val_y[:4]                        # label noise, so that C matters on validation
    got = tfidf_logistic(train, train_y, val, val_y, test, num_classes=2, seed=0)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    x = vectorizer.fit_transform(train)
    fitted = {C: LogisticRegression(C=C, max_iter=2000, random_state=0).fit(x, train_y) for C in C_GRID}
    val_accuracy = {C: accuracy_score(val_y, m.predict(vectorizer.transform(val))) for C, m in fitted.items()}
    best = max(C_GRID, key=lambda C: (val_accuracy[C], -C))   # highest accuracy, then the smallest C
    assert got["C"] == best
    expected = fitted[best].predict_proba(vectorizer.transform(test))
    np.testing.assert_allclose(got["probabilities"], expected, rtol=1e-12)
    np.testing.assert_array_equal(got["predictions"], fitted[best].predict(vectorizer.transform(test)))
    assert got["features"] == len(vectorizer.vocabulary_) and "1-2-grams" in got["note"]


def test_tfidf_without_validation_uses_the_fixed_c_and_a_tiny_corpus_falls_back_to_min_df_1():
    got = tfidf_logistic(["good tea", "bad box"], np.array([1, 0]), [], np.array([], dtype=int),
                         ["good box"], num_classes=2)
    assert got["C"] == 10.0 and "fixed" in got["note"] and "min_df=1" in got["note"]
    assert got["probabilities"].shape == (1, 2)


def test_tfidf_probabilities_keep_the_class_order_when_a_class_is_missing_from_training():
    texts, labels = split(24, 0)
    got = tfidf_logistic(texts, np.where(labels == 1, 2, 0), [], np.array([], dtype=int), texts[:5], num_classes=3)
    assert got["probabilities"].shape == (5, 3) and (got["probabilities"][:, 1] == 0).all()
    assert set(got["predictions"]) <= {0, 2}


def test_majority_class():
    got = majority_class(np.array([0, 1, 1, 2, 1]), 4, 3)
    assert got["predictions"].tolist() == [1, 1, 1, 1]
    np.testing.assert_allclose(got["probabilities"], [[0.2, 0.6, 0.2]] * 4)


def test_report_matches_scikit_learn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.clip(labels * 0.3 + rng.normal(0.35, 0.25, 200), 0, 1).round(2)   # rounded: ties occur
    probabilities = np.stack([1 - scores, scores], axis=1)
    predicted = probabilities.argmax(axis=1)
    report = text_report(labels, predicted, probabilities, CLASSES)
    assert report["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
    assert report["macro_f1"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    assert report["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert roc_auc(np.zeros(3, dtype=int), np.arange(3.0)) is None
    three = text_report(np.array([0, 1, 2]), np.array([0, 1, 1]), None, ("a", "b", "c"))
    assert "roc_auc" not in three
    assert three["macro_f1"] == pytest.approx(f1_score([0, 1, 2], [0, 1, 1], average="macro", zero_division=0))
