"""The one place the pipelines touch the training API (issue 3): build, train, save and load a model.

Forecaster:  x (B, T, I) -> [LSTM|GRU|SimpleRNN] x layers -> Dense(horizon)        -> (B, horizon)
Classifier:  x (B, T_i, C), lengths -> [recurrent] x layers -> Dense(K, softmax)   -> (B, K)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MODEL_FILE", "build_model", "kept_epoch", "load_model", "remove_backup", "save_model", "train_model"]

MODEL_FILE = "model.rnnkit"


def build_model(*, kind: str, units: int, layers: int, outputs: int, input_shape: tuple,
                dropout: float = 0.0, bidirectional: bool = False, softmax: bool = False) -> Any:
    """input_shape: (T, I) without the batch axis; T may be None for variable-length inputs."""
    from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, SimpleRNN
    from rnnkit.models import Sequential

    recurrent = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}[kind]
    stack = []
    for index in range(layers):
        last = index == layers - 1
        layer = recurrent(units, return_sequences=not last, dropout=dropout if index > 0 else 0.0)
        if bidirectional:
            layer = Bidirectional(layer)
        stack.append(layer)
    stack.append(Dense(outputs, activation="softmax") if softmax else Dense(outputs))
    model = Sequential(stack)
    model.build(input_shape)
    return model


def train_model(model: Any, x: Any, y: np.ndarray, *, loss: str, learning_rate: float, epochs: int,
                batch_size: int, patience: int, seed: int, validation: tuple[Any, np.ndarray] | None,
                verbose: int, metrics: list[str] | None = None,
                backup_dir: str | Path | None = None, reduce_lr_patience: int = 0) -> dict[str, list[float]]:
    """Compile and fit; early stopping on validation loss (best weights restored) when `patience` > 0;
    the learning rate times 0.3 after `reduce_lr_patience` epochs without a better validation loss (0: never).

    backup_dir: a `BackupAndRestore` there (kept at the end, marked finished): a run killed at any
    point and trained again with the same arguments continues from its last completed epoch.
    """
    from rnnkit.callbacks import BackupAndRestore, EarlyStopping, ReduceLROnPlateau

    model.compile(optimizer="adam", loss=loss, metrics=metrics, learning_rate=learning_rate, clipnorm=1.0)
    callbacks = []
    if validation is not None and patience > 0:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True))
    if validation is not None and reduce_lr_patience > 0:
        callbacks.append(ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=reduce_lr_patience))
    if backup_dir is not None:
        callbacks.append(BackupAndRestore(backup_dir, delete_checkpoint=False))
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, seed=seed,
                        validation_data=validation, callbacks=callbacks, verbose=verbose)
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def remove_backup(folder: Path) -> None:
    """Delete the training backup of a finished run (its model file holds the final weights)."""
    from rnnkit.training.backup import FILE_NAME

    (Path(folder) / FILE_NAME).unlink(missing_ok=True)


def save_model(model: Any, folder: Path) -> Path:
    path = folder / MODEL_FILE
    model.save(path, include_optimizer=False)
    return path


def load_model(folder: Path) -> Any:
    import rnnkit

    return rnnkit.load_model(folder / MODEL_FILE)


def kept_epoch(history: dict[str, list[float]], patience: int) -> dict[str, Any]:
    """Which epoch's weights the model kept: early stopping restores those of the best validation loss.

    ``{best_epoch (1-based), best_val_loss[, best_val_accuracy]}``; empty without validation or early stopping.
    """
    if not history.get("val_loss") or patience < 1:
        return {}
    best = int(np.nanargmin(history["val_loss"]))
    kept = {"best_epoch": best + 1, "best_val_loss": history["val_loss"][best]}
    if "val_accuracy" in history:
        kept["best_val_accuracy"] = history["val_accuracy"][best]
    return kept
