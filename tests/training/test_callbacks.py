"""Callbacks: early stopping with best weights, checkpoints, learning-rate plateaus, CSV logs, NaN stops."""

import csv

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.callbacks import Callback, CSVLogger, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN
from rnnkit.layers import Dense
from rnnkit.models import Sequential


class ScriptedLoss(Callback):
    """Overwrites the logged val_loss with a script, so the callbacks under test see known values."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


class WeightsPerEpoch(Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append({k: v.clone() for k, v in self.model.state_dict().items()})


def linear_model(lr=0.05):
    rnnkit.set_seed(0)
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse", learning_rate=lr)
    return model


DATA = (np.random.default_rng(0).normal(size=(8, 2)), np.arange(8.0))


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model = linear_model()
    script = ScriptedLoss([5.0, 3.0, 4.0, 3.5, 6.0, 1.0])
    seen = WeightsPerEpoch()
    stopper = EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit(*DATA, epochs=6, batch_size=4, callbacks=[script, seen, stopper], verbose=0)
    assert history.epoch == [0, 1, 2, 3]  # best at epoch 1, then two epochs without improvement
    assert stopper.stopped_epoch == 3 and stopper.best == 3.0
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, seen.weights[1][key], rtol=0, atol=0)


def test_monitoring_a_missing_quantity_is_an_error():
    model = linear_model()
    with pytest.raises(ValueError, match="monitor='val_loss' is not among the logged quantities"):
        model.fit(*DATA, epochs=1, callbacks=[EarlyStopping()], verbose=0)


def test_reduce_lr_on_plateau_multiplies_the_learning_rate():
    model = linear_model(lr=0.05)
    script = ScriptedLoss([1.0, 2.0, 2.0, 2.0, 2.0])
    history = model.fit(*DATA, epochs=5, callbacks=[script, ReduceLROnPlateau(factor=0.5, patience=2)], verbose=0)
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.05, 0.05, 0.025, 0.025])
    assert model.optimizer.torch_optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    model = linear_model()
    path = tmp_path / "log.csv"
    history = model.fit(*DATA, epochs=3, validation_split=0.25, callbacks=[CSVLogger(path)], verbose=0)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(history.history["val_loss"])


def test_model_checkpoint_every_epoch_and_best_only(tmp_path):
    model = linear_model()
    script = ScriptedLoss([3.0, 1.0, 2.0])
    every = ModelCheckpoint(tmp_path / "e{epoch:02d}.safetensors")
    best = ModelCheckpoint(tmp_path / "best.safetensors", save_best_only=True)
    model.fit(*DATA, epochs=3, callbacks=[script, every, best], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.safetensors", "e01.safetensors", "e02.safetensors", "e03.safetensors"]
    assert rnnkit.load_model(tmp_path / "best.safetensors").saved_epoch == 2
    assert rnnkit.load_model(tmp_path / "e03.safetensors").saved_epoch == 3


def test_terminate_on_nan_stops_on_a_non_finite_val_loss():
    model = linear_model()
    script = ScriptedLoss([1.0, float("nan"), 1.0, 1.0])
    history = model.fit(*DATA, epochs=4, callbacks=[script, TerminateOnNaN()], verbose=0)
    assert history.epoch == [0, 1]


class BatchLogs(Callback):
    def on_train_begin(self, logs=None):
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append((batch, dict(logs)))


def test_batch_hooks_get_running_logs_and_fit_skips_them_when_nobody_listens():
    model = linear_model()
    recorder = BatchLogs()
    history = model.fit(*DATA, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=[recorder])
    assert [b for b, _ in recorder.seen] == [0, 1, 0, 1]
    assert recorder.seen[-1][1]["loss"] == pytest.approx(history.history["loss"][-1])  # the epoch mean at its end
    # a hook set on the instance (not the class) is called too
    calls = []
    plain = Callback()
    plain.on_train_batch_end = lambda batch, logs=None: calls.append(batch)
    linear_model().fit(*DATA, batch_size=4, epochs=1, verbose=0, callbacks=[plain])
    assert calls == [0, 1]
    # without listeners the hook list is empty: fit builds no per-batch logs
    hooks = rnnkit.training.CallbackList([Callback()], model)
    assert hooks.listeners("on_train_batch_end") == []


def test_a_callback_evaluating_mid_epoch_leaves_training_mode_on_for_the_next_step():
    modes = []

    class EvaluateEachBatch(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            modes.append(self.model.training)

        def on_train_batch_end(self, batch, logs=None):
            self.model.evaluate(*DATA, verbose=0)  # puts the model in eval mode

    linear_model().fit(*DATA, batch_size=4, epochs=2, verbose=0, callbacks=[EvaluateEachBatch()],
                       validation_data=DATA)
    assert len(modes) == 4
    # the step itself puts the model back in training mode (the hook runs before it, after an evaluate)
    trained = []
    model = linear_model()
    original = model.train_step

    def spy(batch):
        result = original(batch)
        trained.append(model.training)
        return result

    model.train_step = spy
    model.fit(*DATA, batch_size=4, epochs=2, verbose=0, callbacks=[EvaluateEachBatch()], validation_data=DATA)
    assert trained == [True] * 4
