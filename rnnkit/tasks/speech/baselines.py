"""The simple strong baseline every isolated-digit run reports beside its model.

MFCC statistics + logistic regression: each clip becomes one vector, the mean and the standard deviation
over its frames of every coefficient of the run's own features before normalisation (13 MFCC + deltas +
delta-deltas: 78 numbers), standardised with the training clips' statistics, then scikit-learn's
`LogisticRegression(C=1, max_iter=2000)` on the same training clips the model learns from.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["mfcc_statistics", "mfcc_stats_logistic"]


def mfcc_statistics(raw_features: list[np.ndarray]) -> np.ndarray:
    """(N, 2 I): mean and std over the frames of each clip's un-normalised features (T_i, I)."""
    return np.stack([np.concatenate([x.mean(axis=0), x.std(axis=0)]) for x in raw_features])


def mfcc_stats_logistic(train_features: list[np.ndarray], train_labels: np.ndarray, test_features: list[np.ndarray],
                        *, seed: int = 0) -> dict[str, Any]:
    """Test predictions of logistic regression on standardised clip statistics, and the seconds it took."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    start = time.perf_counter()
    train = mfcc_statistics(train_features)
    scaler = StandardScaler().fit(train)
    model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(scaler.transform(train), train_labels)
    predictions = model.predict(scaler.transform(mfcc_statistics(test_features)))
    return {"method": "MFCC mean/std + logistic regression", "predictions": predictions,
            "seconds": time.perf_counter() - start}
