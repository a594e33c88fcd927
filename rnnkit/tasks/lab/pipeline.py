r"""The vanishing-gradient lab: one recurrent layer on a long-range problem, scored beside the problem's trivial
baseline, with the gradient that reaches every step before and after training.

    >>> from rnnkit.tasks.lab import LabConfig, run_lab
    >>> result = run_lab(LabConfig(problem="adding", length=100, model="irnn", learning_rate=1e-4))
    >>> result.metrics["test"]["score"], result.metrics["test"]["baseline"], result.metrics["test"]["solved"]

The model, over x (B, T, I) (legend: B sequences, T steps, I inputs, H = `units`, K classes):

    regression (adding, multiplication):      recurrent(H) -> its last h_T -> Dense(1)                  MSE
    classification (temporal order, xor,
                    pixel digits):            recurrent(H) -> h_T -> Dense(K) logits                    cross-entropy
    sequence (copy):                          recurrent(H), every h_t -> Dense(K) logits per step        cross-entropy

Classifiers output logits and train on cross-entropy from logits (softmax inside the loss: the matching loss
whose Gauss–Newton matrix Hessian-free optimization wants, and stabler than log of a clipped softmax);
`probabilities` turns predictions into class probabilities for scoring. `optimizer="hessian_free"` trains
with `rnnkit.optimizers.HessianFree`: one update per batch of 1000, a quarter of it for the
curvature, structural damping μ = `structural_damping` on the recurrent layer's outputs (D the tanh matching
loss for the tanh RNN, as in Martens & Sutskever 2011; squared distance for the others).

The gradient curves are ‖∂L/∂h_t‖ for t = 1..T (`rnnkit.diagnostics.hidden_gradient_norms`, rnnkit's own
backward through time) on the first 256 test sequences, at initialisation and with the kept weights: a
tanh RNN's curve falls by orders of magnitude from t = T back to t = 1 (the gradient vanishes), an LSTM's
stays within a few.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.tasks import _model
from rnnkit.tasks._config import ConfigError
from rnnkit.tasks.lab.config import LabConfig

__all__ = ["LabResult", "TEST_SEED", "build_lab_model", "load_problem", "probabilities", "run_lab", "save_lab_run",
           "score"]

TASK = "lab"
#: the test sequences of every run come from this seed (the training ones from the run's seed), so runs of
#: different seeds are scored on the same sequences; pixel digits use the generator's test split instead
TEST_SEED = 1_000_003
PROBE = 256  # test sequences the gradient curves are measured on


@dataclass(kw_only=True)
class LabResult:
    config: LabConfig
    model: Any
    history: dict[str, list[float]]
    metrics: dict[str, Any]               # {"test": {score, metric, baseline, threshold, solved, ...}, ...}
    gradient_norms: dict[str, dict[str, np.ndarray]]   # {"initial" | "trained": {layer key: (T,) norms}}


def load_problem(config: LabConfig) -> tuple[Any, Any]:
    """(train, test) `LongRangeTask`s of the config."""
    from rnnkit.data.long_range import make_long_range

    pixel = config.problem.startswith("pixel_digits")
    try:
        if pixel:   # one permutation per seed, the same for its train and test images
            train = make_long_range(config.problem, n=config.train_sequences, length=64, seed=config.seed,
                                    split="train")
            test = make_long_range(config.problem, n=config.test_sequences, length=64, seed=config.seed, split="test")
        else:
            train = make_long_range(config.problem, n=config.train_sequences, length=config.length, seed=config.seed)
            test = make_long_range(config.problem, n=config.test_sequences, length=config.length, seed=TEST_SEED)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config.problem}: {error}") from None
    return train, test


def _recurrent(config: LabConfig, *, return_sequences: bool) -> Any:
    from rnnkit.layers import GRU, LSTM, SimpleRNN

    chrono = config.length if config.chrono else None
    if config.model == "rnn":
        return SimpleRNN(config.units, return_sequences=return_sequences)
    if config.model == "irnn":
        return SimpleRNN(config.units, activation="relu", recurrent_initializer="identity",
                         return_sequences=return_sequences)
    if config.model == "lstm":
        return LSTM(config.units, chrono_max=chrono, return_sequences=return_sequences)
    return GRU(config.units, chrono_max=chrono, return_sequences=return_sequences)


def build_lab_model(config: LabConfig, task: Any) -> Any:
    """The recurrent layer and its read-out for `task` (a LongRangeTask), built for its (T, I)."""
    from rnnkit.layers import Dense, TimeDistributed
    from rnnkit.models import Sequential

    if task.kind == "sequence":
        layers = [_recurrent(config, return_sequences=True), TimeDistributed(Dense(task.n_classes))]
    elif task.kind == "classification":
        layers = [_recurrent(config, return_sequences=False), Dense(task.n_classes)]
    else:
        layers = [_recurrent(config, return_sequences=False), Dense(1)]
    model = Sequential(layers, name=f"{config.model}_{config.problem}")
    model.build(task.x.shape[1:])
    return model


def _targets(task: Any) -> np.ndarray:
    return task.y[:, None].astype(np.float32) if task.kind == "regression" else task.y


def probabilities(task: Any, outputs: np.ndarray) -> np.ndarray:
    """What `score` takes: regression outputs as they are, logits (N, K) or (N, T, K) through a softmax."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if task.kind == "regression":
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def score(task: Any, predictions: np.ndarray) -> float:
    """The task's metric of `predictions` (regression (N, 1); classes (N, K) or (N, T, K) probabilities)."""
    predictions = np.asarray(predictions, dtype=np.float64)
    if task.metric == "mse":
        return float(np.mean((predictions[:, 0] - task.y) ** 2))
    if task.metric == "accuracy":
        return float(np.mean(predictions.argmax(axis=-1) == task.y))
    # cross_entropy: the mean over sequences and steps of -ln p(target)
    picked = np.take_along_axis(predictions, task.y[..., None], axis=-1)[..., 0]
    return float(np.mean(-np.log(np.clip(picked, 1e-12, None))))


def _gradient_norms(model: Any, task: Any) -> dict[str, np.ndarray]:
    from rnnkit.diagnostics import hidden_gradient_norms

    x, y = task.x[:PROBE], _targets(task)[:PROBE]
    return {key: np.asarray(value) for key, value in hidden_gradient_norms(model, x, y).items()}


def _loss(task: Any) -> Any:
    from rnnkit.losses import SparseCategoricalCrossentropy

    return "mse" if task.kind == "regression" else SparseCategoricalCrossentropy(from_logits=True)


def _optimizer(config: LabConfig) -> dict[str, Any]:
    """compile's optimizer arguments."""
    if config.optimizer != "hessian_free":
        return {"optimizer": config.optimizer, "learning_rate": config.learning_rate,
                "clipnorm": config.clipnorm or None}
    from rnnkit.optimizers import HessianFree

    distance = "tanh_matching" if config.model == "rnn" else "squared"
    return {"optimizer": HessianFree(structural_damping=config.structural_damping,
                                              hidden_distance=distance)}


def run_lab(config: LabConfig, *, verbose: int = 0, backup_dir: str | Path | None = None) -> LabResult:
    """Train on the config's problem (early stopping on a `val_fraction` of the training sequences), score the test
    sequences against the problem's baseline, and measure the gradient curves before and after."""
    import rnnkit
    from rnnkit.callbacks import BackupAndRestore, EarlyStopping
    from rnnkit.diagnostics import spectral_radius

    config.check()
    train, test = load_problem(config)
    rnnkit.set_seed(config.seed)
    model = build_lab_model(config, train)
    model.compile(loss=_loss(train), **_optimizer(config))
    initial = _gradient_norms(model, test)
    n_val = round(config.val_fraction * len(train.x))
    x, y = train.x, _targets(train)
    validation = (x[len(x) - n_val:], y[len(x) - n_val:]) if n_val else None
    callbacks: list[Any] = []
    if validation is not None and config.patience:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True))
    if backup_dir is not None:
        callbacks.append(BackupAndRestore(backup_dir, delete_checkpoint=False))
    start = time.perf_counter()
    history = model.fit(x[:len(x) - n_val], y[:len(x) - n_val], epochs=config.epoch_count, batch_size=config.batch,
                        shuffle=True, seed=config.seed, validation_data=validation, callbacks=callbacks,
                        verbose=verbose).history
    seconds = time.perf_counter() - start
    history = {k: [float(v) for v in values] for k, values in history.items()}
    value = score(test, probabilities(test, model.predict(test.x, batch_size=256)))
    trained = _gradient_norms(model, test)
    test_report = {"score": value, "metric": test.metric, "baseline": float(test.baseline),
                   "baseline_method": test.baseline_method, "threshold": float(test.threshold),
                   "solved": bool(test.solved(value)), "sequences": int(len(test.x)), "steps": int(test.x.shape[1])}
    metrics: dict[str, Any] = {"test": test_report, "train_sequences": int(len(x) - n_val), "val_sequences": int(n_val),
                               "parameters": int(model.count_params()), "train_seconds": round(seconds, 1),
                               "gradient_ratio": {"initial": _ratios(initial), "trained": _ratios(trained)},
                               "spectral_radius": spectral_radius(model)}
    metrics.update(_model.kept_epoch(history, config.patience))
    return LabResult(config=config, model=model, history=history, metrics=metrics,
                     gradient_norms={"initial": initial, "trained": trained})


def _ratios(norms: dict[str, np.ndarray]) -> dict[str, float | None]:
    """‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ per layer: how much of the gradient at the last step reaches the first."""
    out: dict[str, float | None] = {}
    for key, curve in norms.items():
        first, last = float(curve[0]), float(curve[-1])
        out[key] = first / last if last > 0 and np.isfinite(first) else None
    return out


def save_lab_run(result: LabResult, *, folder: Path) -> Path:
    """Write the model, metrics.json, gradient_norms.csv and .png (initial beside trained) and loss.png."""
    import pandas as pd

    from rnnkit.diagnostics import plot_gradient_norms
    from rnnkit.tasks.plots import plot_history
    from rnnkit.tasks.runs import finish_run

    config = result.config
    finish_run(folder, task=TASK, config=config, state={"steps": result.metrics["test"]["steps"]},
               metrics=result.metrics, model=result.model)
    columns: dict[str, Any] = {}
    for when, norms in result.gradient_norms.items():
        for key, curve in norms.items():
            columns[f"{when}:{key}"] = curve
    frame = pd.DataFrame(columns)
    frame.insert(0, "t", np.arange(1, len(frame) + 1))
    frame.to_csv(folder / "gradient_norms.csv", index=False)
    plot_gradient_norms(folder / "gradient_norms.png", {f"{config.model}, {when}": norms
                                                        for when, norms in result.gradient_norms.items()},
                        title=f"{config.problem}, T = {result.metrics['test']['steps']}: ‖∂L/∂h_t‖")
    if result.history.get("loss"):
        plot_history(folder / "loss.png", result.history)
    return folder
