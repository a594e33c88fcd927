"""Isolated spoken digits: FSDD clips -> a digit, beside MFCC statistics + logistic regression.

    >>> from rnnkit.tasks.speech import SpeechConfig, train_digit_classifier
    >>> result = train_digit_classifier(SpeechConfig())                       # the usual split
    >>> result.metrics["test"]["accuracy"], result.metrics["test"]["per_speaker"]

A stratified `val_fraction` of the training clips is held out for early stopping (the best epoch's
weights kept); the test clips are used for nothing but the scores (and, with normalization "speaker", the
unlabelled statistics of each test speaker's features: `load_digits`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import DataLoader

from rnnkit.data.sequence_table import stratified_holdout
from rnnkit.tasks import _model
from rnnkit.tasks.classify.pipeline import classification_report
from rnnkit.tasks.speech.baselines import mfcc_stats_logistic
from rnnkit.tasks.speech.config import SpeechConfig
from rnnkit.tasks.speech.data import (DIGITS, SPEEDS, DigitData, FeatureDataset, clip_features, load_digits,
                                      perturbed_features, speaker_normalised)
from rnnkit.tasks.speech.model import build_digit_model, predict_digits

__all__ = ["SpeechResult", "digit_report", "feature_loader", "train_digit_classifier"]


@dataclass(kw_only=True)
class SpeechResult:
    config: SpeechConfig
    data: DigitData
    model: Any                      # the Sequential over feature frames (what is saved)
    history: dict[str, list[float]]
    metrics: dict[str, Any]         # {"test": {accuracy, per_class, per_speaker, confusion_matrix, baselines}, ...}
    test_probabilities: np.ndarray  # (N_test, 10)


def feature_loader(features: list[np.ndarray], targets: list, *, batch_size: int, shuffle: bool,
                   augment: bool = False, collate: Any = None) -> DataLoader:
    """Batches of clips of similar length (padded at the end + lengths); a new order every epoch."""
    from rnnkit.data import BucketBatchSampler, pad_collate

    sampler = BucketBatchSampler([len(f) for f in features], batch_size=batch_size, shuffle=shuffle)
    return DataLoader(FeatureDataset(features, targets, augment=augment), batch_sampler=sampler,
                      collate_fn=collate or pad_collate)


def digit_report(labels: np.ndarray, predicted: np.ndarray, speakers: list[str]) -> dict[str, Any]:
    """`classification_report` over the 10 digits plus the accuracy of each speaker's clips."""
    report = classification_report(labels, predicted, DIGITS)
    speakers_array = np.array(speakers)
    report["per_speaker"] = {s: float((labels[speakers_array == s] == predicted[speakers_array == s]).mean())
                             for s in sorted(set(speakers))}
    return report


def train_digit_classifier(config: SpeechConfig, *, data: DigitData | None = None, verbose: int = 0,
                           backup_dir: str | Path | None = None, baseline: bool = True) -> SpeechResult:
    """Train on the training clips (early stopping on a validation share), score the test clips."""
    import rnnkit

    data = data if data is not None else load_digits(config)
    rnnkit.set_seed(config.seed)
    labels = data.train_labels
    held = stratified_holdout(labels, config.val_fraction, config.seed, keep_one=True) if config.val_fraction else \
        np.zeros(len(labels), dtype=bool)
    train_index, val_index = np.flatnonzero(~held), np.flatnonzero(held)
    model = build_digit_model(config, data.front_end.size)
    train_x, train_y = [data.train_features[i] for i in train_index], list(labels[train_index])
    if config.speed_perturb:
        for speed in SPEEDS:
            perturbed = [perturbed_features(data.train_clips[i].path, data.front_end, speed) for i in train_index]
            if config.normalization == "speaker":   # a speaker played faster is another voice: its own statistics
                perturbed = speaker_normalised(perturbed, [data.train_clips[i].speaker for i in train_index])
            train_x += perturbed
            train_y += list(labels[train_index])
    train = feature_loader(train_x, train_y, batch_size=config.batch_size, shuffle=True, augment=config.augment)
    validation = None
    if val_index.size:
        validation = feature_loader([data.train_features[i] for i in val_index], list(labels[val_index]),
                                    batch_size=128, shuffle=False)
    start = time.perf_counter()
    history = _model.train_model(model, train, None, loss="sparse_categorical_crossentropy",
                                 learning_rate=config.learning_rate, epochs=config.epochs,
                                 batch_size=config.batch_size, patience=config.patience, seed=config.seed,
                                 validation=validation, verbose=verbose, metrics=["accuracy"], backup_dir=backup_dir)
    seconds = time.perf_counter() - start
    probabilities = predict_digits(model, data.test_features)
    speakers = [c.speaker for c in data.test_clips]
    test = digit_report(data.test_labels, probabilities.argmax(axis=1), speakers)
    if baseline:
        raw = dataclasses.replace(data.front_end, normalize=False)
        entry = mfcc_stats_logistic([clip_features(data.train_clips[i].path, raw) for i in train_index],
                                    labels[train_index], [clip_features(c.path, raw) for c in data.test_clips],
                                    seed=config.seed)
        scored = digit_report(data.test_labels, entry["predictions"], speakers)
        test["baselines"] = {"mfcc_logistic": {"method": entry["method"], "accuracy": scored["accuracy"],
                                               "per_speaker": scored["per_speaker"],
                                               "seconds": round(entry["seconds"], 1)}}
    metrics: dict[str, Any] = {"test": test, "train_clips": int(train_index.size), "val_clips": int(val_index.size),
                               "train_examples": len(train_x),
                               "train_seconds": round(seconds, 1)}
    metrics.update(_model.kept_epoch(history, config.patience))
    return SpeechResult(config=config, data=data, model=model, history=history, metrics=metrics,
                        test_probabilities=probabilities)
