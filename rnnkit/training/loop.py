"""``fit``, ``evaluate`` and ``predict``: orchestration only — epochs, batches, callbacks, logging.

The arithmetic of a step is the model's ``train_step`` / ``test_step`` (:mod:`rnnkit.training.step` by
default). Randomness of epoch ``e`` (shuffle order, dropout masks, a DataLoader's sampler and workers) comes
from a generator seeded with ``(seed, e)`` inside ``fork_rng``, so an epoch is the same whether the run went
straight through or resumed from a checkpoint, and the caller's global RNG is left as it was.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.training.backup import BackupAndRestore
from rnnkit.training.callback import Callback, CallbackList, ambient_callbacks
from rnnkit.training.data import Dataset, split_validation, to_dataset
from rnnkit.training.distributed import reduce_means, sync_metrics
from rnnkit.training.distributed import setup as distributed_setup
from rnnkit.training.history import History
from rnnkit.training.progress import Progress, resolve_verbose
from rnnkit.training.sources import ArraySource, StreamSource, is_stream, stream_source
from rnnkit.training.step import Diverged, WeightSnapshot
from rnnkit.training.structure import is_structure, keys_of

__all__ = ["fit", "evaluate", "predict", "epoch_seed"]


@functools.lru_cache(maxsize=1024)  # SeedSequence takes tens of µs: a 4-sample epoch of the seed's program
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
    class_weight: dict | None = None,
    sample_weight: Any = None,
    initial_epoch: int = 0,
    steps_per_epoch: int | None = None,
    validation_steps: int | None = None,
    validation_freq: int | Sequence[int] = 1,
    seed: int | None = None,
    distributed: bool | None = None,
) -> History:
    """Train ``model`` for epochs ``initial_epoch .. epochs - 1``; see ``Model.fit``.

    ``distributed``: data-parallel over the processes of a ``torch.distributed`` group (see
    :mod:`rnnkit.training.distributed`); by default on when launched by ``torchrun`` with more than one process.

    All in-memory inputs are checked before the first step. ``seed`` fixes shuffling and dropout; by default
    it is drawn from torch's global RNG (so ``rnnkit.set_seed`` fixes it), or, when resuming with
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
    run_validation = _validation_epochs(validation_freq)
    stateful = bool(model.stateful_layers())
    if stateful and shuffle:
        raise ValueError("fit: the model has stateful=True layers, whose state carries sample b of one batch into sample "
                         "b of the next; shuffling breaks that. Pass shuffle=False.")
    train, val = _training_sources(model, x, y, batch_size=batch_size, shuffle=shuffle, class_weight=class_weight,
                                   sample_weight=sample_weight, steps=steps_per_epoch,
                                   validation_split=validation_split)
    if validation_data is not None:
        val = _validation_source(model, validation_data, batch_size=batch_size, steps=validation_steps)

    if stateful and isinstance(train, ArraySource) and len(train.data) % batch_size:
        raise ValueError(f"fit: a stateful model needs every batch of the same size, so batch_size must divide the "
                         f"{len(train.data)} training samples; got batch_size={batch_size}.")
    first = train.first_batch()
    model.build_from_data(first.x, first.lengths)
    model.reset_states()
    context = distributed_setup(model, distributed)
    model.optimizer.build(model.parameters())
    model.fit_seed = _resolve_seed(model, seed, initial_epoch)
    if context is not None:
        if batch_size % context.world:
            raise ValueError(f"fit: batch_size is the global batch of a distributed run and must be divisible by the "
                             f"{context.world} processes; got {batch_size}.")
        model.fit_seed = context.broadcast_int(model.fit_seed)  # every rank draws the same permutations
        train.shard(context.rank, context.world, seed=model.fit_seed)
        if val is not None:
            val.shard(context.rank, context.world, seed=model.fit_seed)
        model.__dict__["_ddp"] = context.ddp  # not a submodule: the wrapper holds the model
    history = History()
    model.history = history
    callbacks = [*(callbacks or []), *ambient_callbacks()]
    backups = [c for c in callbacks if isinstance(c, BackupAndRestore)]
    if len(backups) > 1:
        raise ValueError(f"fit: pass at most one BackupAndRestore callback; got {len(backups)}.")
    others = [c for c in callbacks if not isinstance(c, BackupAndRestore)]
    # History after the user's callbacks, as in Keras (it records what they logged); the backup last of
    # all, so that it saves the state every other callback has reached at the end of the epoch
    hooks = CallbackList([*others, history, *backups], model)
    shown = resolve_verbose(verbose, _stdout()) if context is None or context.rank == 0 else 0
    progress = Progress(verbose=shown, epochs=epochs, steps=train.steps)
    model.stop_training = False

    hooks.on_train_begin()
    if backups:
        done, stopped = backups[0].restore([*others, history])
        if done:
            progress.message(f"Resuming after epoch {done} from {backups[0].path}")
        initial_epoch = epochs if stopped else max(initial_epoch, done)
    snapshot = WeightSnapshot(model)
    model._snapshot = snapshot
    try:
        for epoch in range(initial_epoch, epochs):
            hooks.on_epoch_begin(epoch)
            progress.epoch_begin(epoch)
            model.reset_states()  # a stateful model reads the series from its start each epoch
            logs, diverged = _train_epoch(model, train, epoch, hooks, progress, context)
            if diverged:
                snapshot.restore()
                history.stop_reason = f"epoch {epoch + 1}: {diverged}"
                message = (f"fit stopped at epoch {epoch + 1}: {diverged}. The model keeps the weights of the last "
                           "step with a finite loss. Try a lower learning_rate, or clipnorm=1.0 in the optimizer.")
                progress.message(message)
                warnings.warn(message, RuntimeWarning, stacklevel=3)
                break
            if val is not None and run_validation(epoch):
                model.reset_states()
                logs.update({f"val_{k}": v for k, v in evaluate_source(model, val, context).items()})
            hooks.on_epoch_end(epoch, logs)
            progress.epoch_end(epoch, logs)
            if isinstance(train, StreamSource) and train.exhausted:
                history.stop_reason = (f"epoch {epoch + 1}: the data ran out before steps_per_epoch={train.steps} "
                                       "batches; give a generator that repeats, or a smaller steps_per_epoch")
                progress.message(f"fit stopped: {history.stop_reason}.")
                break
            if model.stop_training:
                if history.stop_reason is None:
                    history.stop_reason = f"epoch {epoch + 1}: a callback set stop_training"
                break
    finally:
        model._snapshot = None
        model.__dict__["_ddp"] = None
    hooks.on_train_end()
    return history


def _train_epoch(model: Any, source: Any, epoch: int, hooks: Any, progress: Progress,
                 context: Any = None) -> tuple[dict[str, float], str]:
    """Run one epoch; returns (logs, divergence reason or "")."""
    for metric in model.compiled_metrics:
        metric.reset()
    model.train()  # once per epoch (validation left it in eval mode), not once per step
    means = _RunningMeans()
    device = model.device
    on_cuda = device is not None and device.type == "cuda"
    with torch.random.fork_rng(devices=[device] if on_cuda else []):
        seed = epoch_seed(model.fit_seed, epoch)
        if on_cuda:
            torch.manual_seed(seed)
        else:  # the CPU generator alone: torch.manual_seed also queues seeds for every accelerator type
            torch.default_generator.manual_seed(seed)
        batches = source.epoch(device, epoch=epoch)  # an array source draws its permutation here
        if context is not None:  # then each rank its own dropout masks, from (seed, epoch, rank)
            torch.default_generator.manual_seed(epoch_seed(model.fit_seed, (epoch + 1) * 100_003 + context.rank))
        # the running logs are built only for whoever reads them each batch (a callback's
        # on_train_batch_end, the live bar): at small batches they are a tenth of the step
        batch_logs_read = bool(hooks.listeners("on_train_batch_end")) or progress.live
        with _joined(context):
            for step, batch in enumerate(batches):
                hooks.on_train_batch_begin(step)
                try:
                    returned = model.train_step(batch)
                except Diverged as reason:
                    return {}, f"{reason} at batch {step + 1}"
                means.add(_check_logs(returned, "train_step"), batch.size)
                if batch_logs_read:
                    logs = {**means.result(), **{m.name: m.result() for m in model.compiled_metrics}}
                    hooks.on_train_batch_end(step, logs)
                    progress.update(step, logs)
                if model.stop_training:
                    break
    means.reduce(context)
    sync_metrics(context, model.compiled_metrics)
    return {**means.result(), **{m.name: m.result() for m in model.compiled_metrics}}, ""


def _joined(context: Any):
    """Uneven shards: a rank that runs out of batches shadows the others' all-reduces (Join)."""
    if context is None:
        import contextlib

        return contextlib.nullcontext()
    from torch.distributed.algorithms.join import Join

    return Join([context.ddp])


class _RunningMeans:
    """Sample-weighted means of the values a step returns, over an epoch (as Keras averages the loss)."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, logs: dict[str, float], n: int) -> None:
        for key, value in logs.items():
            self.sums[key] = self.sums.get(key, 0.0) + value * n
        self.count += n

    def result(self) -> dict[str, float]:
        return {k: v / max(self.count, 1) for k, v in self.sums.items()}

    def reduce(self, context: Any) -> None:
        self.sums, self.count = reduce_means(context, self.sums, self.count)


def _check_logs(logs: Any, where: str) -> dict[str, float]:
    if not isinstance(logs, dict) or "loss" not in logs:
        raise TypeError(f"{where} must return a dict of logs with a 'loss' entry, e.g. {{'loss': loss}}; got "
                        f"{type(logs).__name__}{'' if not isinstance(logs, dict) else ' with keys ' + str(list(logs))}.")
    out = {}
    for key, value in logs.items():
        if isinstance(value, Tensor):
            if value.numel() != 1:
                raise TypeError(f"{where}: log {key!r} must be a number or a one-element tensor; got shape "
                                f"{tuple(value.shape)}.")
            value = float(value.detach())
        out[str(key)] = float(value)
    return out


def evaluate_source(model: Any, source: Any, context: Any = None) -> dict[str, float]:
    for metric in model.compiled_metrics:
        metric.reset()
    means = _RunningMeans()
    for batch in source.epoch(model.device):
        means.add(_check_logs(model.test_step(batch), "test_step"), batch.size)
    means.reduce(context)
    sync_metrics(context, model.compiled_metrics)
    if means.count == 0:
        raise ValueError("evaluate: the data yielded no batch; check that it is not empty.")
    return {**means.result(), **{m.name: m.result() for m in model.compiled_metrics}}


def evaluate_dataset(model: Any, data: Dataset, batch_size: int) -> dict[str, float]:
    return evaluate_source(model, ArraySource(data, batch_size=batch_size, shuffle=False))


def evaluate(model: Any, x: Any, y: Any = None, *, batch_size: int = 32, sample_weight: Any = None,
             steps: int | None = None, return_dict: bool = False, verbose: int | str = 0) -> Any:
    """Loss (and metrics) on ``(x, y)``: a float, ``[loss, *metrics]``, or a dict with ``return_dict``.
    ``verbose`` is accepted for Keras compatibility; evaluation shows no progress."""
    model.require_compiled("evaluate")
    _check_int("evaluate", "batch_size", batch_size, minimum=1)
    if is_stream(x):
        _no_arrays_with_stream("evaluate", y, sample_weight)
        source: Any = stream_source(x, batch_size=batch_size, shuffle=False, steps=steps, where="evaluate",
                                    require_y=True)
    else:
        data = to_dataset(x, y, model=model, where="evaluate", sample_weight=sample_weight)
        source = ArraySource(data, batch_size=batch_size, shuffle=False)
    first = source.first_batch()
    model.build_from_data(first.x, first.lengths)
    model.reset_states()
    logs = evaluate_source(model, source)
    if return_dict:
        return logs
    return logs["loss"] if len(logs) == 1 else list(logs.values())


@torch.no_grad()
def predict(model: Any, x: Any, *, batch_size: int = 32, steps: int | None = None, verbose: int | str = 0) -> Any:
    """Model outputs for ``x`` as NumPy arrays (a tuple/dict of them for several outputs), in eval mode
    (padded sequences give padded outputs). ``verbose`` is accepted for Keras compatibility."""
    _check_int("predict", "batch_size", batch_size, minimum=1)
    if is_stream(x):
        source: Any = stream_source(x, batch_size=batch_size, shuffle=False, steps=steps, where="predict",
                                    require_y=False)
    else:
        source = ArraySource(to_dataset(x, None, model=model, where="predict", require_y=False),
                             batch_size=batch_size, shuffle=False)
    first = source.first_batch()
    model.build_from_data(first.x, first.lengths)
    model.reset_states()
    model.eval()
    outputs = [model(batch.x, lengths=batch.lengths) for batch in source.epoch(model.device)]
    if not outputs:
        raise ValueError("predict: the data yielded no batch; check that it is not empty.")
    return _concatenate(outputs)


def _concatenate(outputs: list[Any]) -> Any:
    first = outputs[0]
    if is_structure(first):
        keys = keys_of(first)
        joined = {k: _cat([o[k] for o in outputs]) for k in keys}
        return tuple(joined[k] for k in keys) if isinstance(first, tuple) else joined
    return _cat(outputs)


def _cat(parts: list[Tensor]) -> np.ndarray:
    if len({p.shape[1:] for p in parts}) > 1:  # padded sequence outputs of batches of different lengths
        T = max(p.shape[1] for p in parts)
        parts = [torch.nn.functional.pad(p, (0, 0) * (p.dim() - 2) + (0, T - p.shape[1])) for p in parts]
    return torch.cat(parts).cpu().numpy()


def _training_sources(model: Any, x: Any, y: Any, *, batch_size: int, shuffle: bool, class_weight: Any,
                      sample_weight: Any, steps: int | None, validation_split: float) -> tuple[Any, Any]:
    if is_stream(x):
        _no_arrays_with_stream("fit", y, sample_weight)
        if validation_split:
            raise ValueError("fit: validation_split needs arrays (it holds out their last samples); with a Dataset, "
                             "DataLoader or generator pass validation_data= instead.")
        return stream_source(x, batch_size=batch_size, shuffle=shuffle, steps=steps, where="fit", require_y=True,
                             class_weight=class_weight), None
    if steps is not None:
        raise ValueError("fit: steps_per_epoch is for generators and datasets; with arrays every epoch is "
                         "ceil(N / batch_size) steps. Drop steps_per_epoch or pass a generator.")
    data = to_dataset(x, y, model=model, where="fit", sample_weight=sample_weight, class_weight=class_weight)
    train, val = split_validation(data, validation_split)
    return (ArraySource(train, batch_size=batch_size, shuffle=shuffle),
            None if val is None else ArraySource(val, batch_size=batch_size, shuffle=False))


def _validation_source(model: Any, validation_data: Any, *, batch_size: int, steps: int | None) -> Any:
    if is_stream(validation_data):
        return stream_source(validation_data, batch_size=batch_size, shuffle=False, steps=steps,
                             where="fit: validation_data", require_y=True)
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        got = f"{type(validation_data).__name__} of length {len(validation_data)}" if isinstance(
            validation_data, (tuple, list)) else type(validation_data).__name__
        raise ValueError(f"fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight), or "
                         f"a Dataset/DataLoader/generator; got a {got}.")
    x_val, y_val, w_val = (*validation_data, None) if len(validation_data) == 2 else validation_data
    data = to_dataset(x_val, y_val, model=model, where="fit: validation_data", sample_weight=w_val)
    return ArraySource(data, batch_size=batch_size, shuffle=False)


def _no_arrays_with_stream(where: str, y: Any, sample_weight: Any) -> None:
    if y is not None or sample_weight is not None:
        raise ValueError(f"{where}: with a Dataset, DataLoader or generator, y and sample_weight come from its "
                         "items ((x, y) or (x, y, sample_weight)); do not pass them separately.")


def _validation_epochs(validation_freq: Any):
    """Keras' validation_freq: an int n validates every n-th epoch; a list names the epochs (from 1)."""
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError(f"fit: validation_freq must be >= 1; got {validation_freq}.")
        return lambda epoch: (epoch + 1) % validation_freq == 0
    if isinstance(validation_freq, (list, tuple, set)) and all(isinstance(e, int) and e >= 1 for e in validation_freq):
        chosen = set(validation_freq)
        return lambda epoch: epoch + 1 in chosen
    raise TypeError(f"fit: validation_freq must be an int >= 1 or a list of epoch numbers (from 1); "
                    f"got {validation_freq!r}.")


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

