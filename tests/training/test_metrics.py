"""Every metric, fed batch by batch, against scikit-learn on the whole data."""

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from rnnkit import losses, metrics

rng = np.random.default_rng(0)


def feed(metric, y_true, y_pred, batch=7):
    metric.reset()
    for start in range(0, len(y_true), batch):
        metric.update(torch.as_tensor(y_true[start : start + batch]), torch.as_tensor(y_pred[start : start + batch]))
    return metric.result()


def test_regression_metrics_match_sklearn():
    y_true, y_pred = rng.normal(size=(50, 1)), rng.normal(size=(50, 1))
    assert feed(metrics.get("mae"), y_true, y_pred) == pytest.approx(skm.mean_absolute_error(y_true, y_pred), rel=1e-12)
    assert feed(metrics.get("mse"), y_true, y_pred) == pytest.approx(skm.mean_squared_error(y_true, y_pred), rel=1e-12)
    rmse = math.sqrt(skm.mean_squared_error(y_true, y_pred))
    assert feed(metrics.get("rmse"), y_true, y_pred) == pytest.approx(rmse, rel=1e-12)


def test_binary_accuracy_auc_precision_recall_match_sklearn():
    y_true = rng.integers(0, 2, size=60)
    scores = np.round(rng.random(size=(60, 1)), 1)  # rounded: ties must be averaged as sklearn does
    predicted = (scores[:, 0] > 0.5).astype(int)
    acc = metrics.get("accuracy", loss=losses.get("binary_crossentropy"))
    assert isinstance(acc, metrics.BinaryAccuracy)
    assert feed(acc, y_true, scores) == pytest.approx(skm.accuracy_score(y_true, predicted))
    assert feed(metrics.get("auc"), y_true, scores) == pytest.approx(skm.roc_auc_score(y_true, scores[:, 0]), rel=1e-12)
    assert feed(metrics.get("precision"), y_true, scores) == pytest.approx(skm.precision_score(y_true, predicted))
    assert feed(metrics.get("recall"), y_true, scores) == pytest.approx(skm.recall_score(y_true, predicted))


def test_categorical_accuracies_match_sklearn():
    labels = rng.integers(0, 4, size=45)
    p = rng.random(size=(45, 4))
    expected = skm.accuracy_score(labels, p.argmax(axis=1))
    sparse = metrics.get("accuracy", loss=losses.get("sparse_categorical_crossentropy"))
    categorical = metrics.get("accuracy", loss=losses.get("categorical_crossentropy"))
    assert isinstance(sparse, metrics.SparseCategoricalAccuracy)
    assert feed(sparse, labels, p) == pytest.approx(expected)
    assert feed(categorical, np.eye(4)[labels], p) == pytest.approx(expected)


def test_auc_of_one_class_is_nan_and_names_are_checked():
    assert math.isnan(feed(metrics.get("auc"), np.ones(5), rng.random((5, 1))))
    with pytest.raises(ValueError, match="unknown name 'f1'"):
        metrics.get("f1")


def test_masked_update_ignores_padding():
    metric = metrics.get("mae")
    y_true, y_pred = torch.zeros(2, 3, 1), torch.tensor([[[1.0], [1.0], [9.0]], [[2.0], [9.0], [9.0]]])
    metric.update(y_true, y_pred, mask=torch.tensor([[True, True, False], [True, False, False]]))
    assert metric.result() == pytest.approx(4 / 3)
