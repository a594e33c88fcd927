"""``fit``, ``evaluate`` and ``predict``: orchestration only — epochs, batches, callbacks, logging.

The arithmetic of a step is in :mod:`rnnkit.training.step`. Randomness of epoch ``e`` (shuffle
order, dropout masks) comes from a generator seeded with ``(seed, e)`` inside ``fork_rng``, so an
epoch is the same whether the run went straight through or resumed from a checkpoint with
``initial_epoch``, and the caller's global RNG is left as it was.
"""

from __future__ import annotations

import warnings
from typing import Any
from collections.abc import Sequence

import numpy as np
import torch

from rnnkit.training.backup import BackupAndRestore
from rnnkit.training.callback import Callback, CallbackList
from rnnkit.training.data import Dataset, split_validation, to_dataset
from rnnkit.training.history import History
from rnnkit.training.progress import Progress, resolve_verbose
from rnnkit.training.step import WeightSnapshot, test_step

__all__ = ["fit", "evaluate", "predict", "epoch_seed"]


def epoch_seed(seed: int, epoch: int) -> int:
    """A well-mixed 63-bit seed for epoch ``epoch`` of a run seeded with ``seed``."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def fit(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    batch_size: int = 32,
    epochs: int = 1,
    verbose: int | str = "auto",
    callbacks: Sequence[Callback] | None = None,
    validation_split: float = 0.0,
    validation_data: Any = None,
    shuffle: bool = True,
    initial_epoch: int = 0,
    seed: int | None = None,
) -> History:
    """Train ``model`` on ``(x, y)`` for epochs ``initial_epoch .. epochs - 1``; see ``Sequential.fit``.

    All inputs are checked before the first step. ``seed`` fixes shuffling and dropout; by default it
    is drawn from torch's global RNG (so ``rnnkit.set_seed`` fixes it), or, when resuming with
    ``initial_epoch > 0``, reused from the model (restored by ``load_model`` from a checkpoint).
    """
    model.require_compiled("fit")
    _check_int("fit", "batch_size", batch_size, minimum=1)
    _check_int("fit", "epochs", epochs, minimum=0)
    _check_int("fit", "initial_epoch", initial_epoch, minimum=0)
    if initial_epoch > epochs:
        raise ValueError(f"fit: initial_epoch must be <= epochs={epochs}; got {initial_epoch}. "
                         "epochs is the index of the last epoch, not a count of further epochs (as in Keras).")
    if validation_data is not None and validation_split:
        raise ValueError("fit: pass validation_data or validation_split, not both.")
    train, val = split_validation(to_dataset(x, y, model=model, where="fit"), validation_split)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            got = f"{type(validation_data).__name__} of length {len(validation_data)}" if isinstance(
                validation_data, (tuple, list)) else type(validation_data).__name__
            raise ValueError(f"fit: validation_data must be a tuple (x_val, y_val); got a {got}.")
        val = to_dataset(*validation_data, model=model, where="fit: validation_data")

    model.build_from_data(train.x)
    model.optimizer.build(model.parameters())
    model.fit_seed = _resolve_seed(model, seed, initial_epoch)
    history = History()
    model.history = history
    callbacks = list(callbacks or [])
    backups = [c for c in callbacks if isinstance(c, BackupAndRestore)]
    if len(backups) > 1:
        raise ValueError(f"fit: pass at most one BackupAndRestore callback; got {len(backups)}.")
    others = [c for c in callbacks if not isinstance(c, BackupAndRestore)]
    # History after the user's callbacks, as in Keras (it records what they logged); the backup last of
    # all, so that it saves the state every other callback has reached at the end of the epoch
    hooks = CallbackList([*others, history, *backups], model)
    steps = train.num_batches(batch_size)
    progress = Progress(verbose=resolve_verbose(verbose, _stdout()), epochs=epochs, steps=steps)
    model.stop_training = False

    hooks.on_train_begin()
    if backups:
        done, stopped = backups[0].restore([*others, history])
        if done:
            progress.message(f"Resuming after epoch {done} from {backups[0].path}")
        initial_epoch = epochs if stopped else max(initial_epoch, done)
    snapshot = WeightSnapshot(model)
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch)
        progress.epoch_begin(epoch)
        logs, diverged = _train_epoch(model, train, batch_size, shuffle, epoch, hooks, progress, snapshot)
        if diverged:
            snapshot.restore()
            history.stop_reason = f"epoch {epoch + 1}: {diverged}"
            message = (f"fit stopped at epoch {epoch + 1}: {diverged}. The model keeps the weights of the last "
                       "step with a finite loss. Try a lower learning_rate, or clipnorm=1.0 in the optimizer.")
            progress.message(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            break
        if val is not None:
            logs.update({f"val_{k}": v for k, v in evaluate_dataset(model, val, batch_size).items()})
        hooks.on_epoch_end(epoch, logs)
        progress.epoch_end(epoch, logs)
        if model.stop_training:
            if history.stop_reason is None:
                history.stop_reason = f"epoch {epoch + 1}: a callback set stop_training"
            break
    hooks.on_train_end()
    return history


def _train_epoch(model, data: Dataset, batch_size, shuffle, epoch, hooks, progress, snapshot):
    """Run one epoch; returns (logs, divergence reason or "")."""
    for metric in model.compiled_metrics:
        metric.reset()
    loss_sum, seen = 0.0, 0
    device = model.device
    on_cuda = device is not None and device.type == "cuda"
    with torch.random.fork_rng(devices=[device] if on_cuda else []):
        if on_cuda:
            torch.manual_seed(epoch_seed(model.fit_seed, epoch))
        else:  # the CPU generator alone: torch.manual_seed also queues seeds for every accelerator type
            torch.default_generator.manual_seed(epoch_seed(model.fit_seed, epoch))
        order = torch.randperm(len(data)) if shuffle else None
        for step, batch in enumerate(data.batches(batch_size, order, model.device)):
            hooks.on_train_batch_begin(step)
            result = model.train_step(batch, snapshot=snapshot)
            if result.diverged:
                return {}, f"{result.reason} at batch {step + 1}"
            n = batch.x.shape[0]
            loss_sum, seen = loss_sum + result.loss * n, seen + n
            logs = {"loss": loss_sum / seen, **{m.name: m.result() for m in model.compiled_metrics}}
            hooks.on_train_batch_end(step, logs)
            progress.update(step, logs)
            if model.stop_training:
                break
    return {"loss": loss_sum / max(seen, 1), **{m.name: m.result() for m in model.compiled_metrics}}, ""


def evaluate_dataset(model: Any, data: Dataset, batch_size: int) -> dict[str, float]:
    for metric in model.compiled_metrics:
        metric.reset()
    loss_sum = 0.0
    for batch in data.batches(batch_size, device=model.device):
        loss_sum += test_step(model, batch).loss * batch.x.shape[0]
    return {"loss": loss_sum / len(data), **{m.name: m.result() for m in model.compiled_metrics}}


def evaluate(
    model: Any, x: Any, y: Any = None, *, batch_size: int = 32, return_dict: bool = False, verbose: int | str = 0
) -> Any:
    """Loss (and metrics) on ``(x, y)``: a float, ``[loss, *metrics]``, or a dict with ``return_dict``.
    ``verbose`` is accepted for Keras compatibility; evaluation shows no progress."""
    model.require_compiled("evaluate")
    _check_int("evaluate", "batch_size", batch_size, minimum=1)
    data = to_dataset(x, y, model=model, where="evaluate")
    model.build_from_data(data.x)
    logs = evaluate_dataset(model, data, batch_size)
    if return_dict:
        return logs
    return logs["loss"] if len(logs) == 1 else list(logs.values())


@torch.no_grad()
def predict(model: Any, x: Any, *, batch_size: int = 32, verbose: int | str = 0) -> np.ndarray:
    """Model outputs for ``x`` as a NumPy array, in eval mode (padded sequences give padded outputs).
    ``verbose`` is accepted for Keras compatibility; prediction shows no progress."""
    _check_int("predict", "batch_size", batch_size, minimum=1)
    data = to_dataset(x, None, model=model, where="predict", require_y=False)
    model.build_from_data(data.x)
    model.eval()
    outputs = [model(batch.x, lengths=batch.lengths) for batch in data.batches(batch_size, device=model.device)]
    return torch.cat(outputs).cpu().numpy()


def _resolve_seed(model: Any, seed: int | None, initial_epoch: int) -> int:
    if seed is not None:
        _check_int("fit", "seed", seed, minimum=0)
        return int(seed)
    if initial_epoch > 0 and getattr(model, "fit_seed", None) is not None:
        return model.fit_seed  # resuming: the epochs to come must see the randomness they would have seen
    return int(torch.randint(0, 2**62, ()).item())  # from the global RNG, so rnnkit.set_seed fixes it


def _check_int(where: str, arg: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {arg} must be an int; got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{where}: {arg} must be >= {minimum}; got {value}.")


def _stdout():
    import sys

    return sys.stdout
