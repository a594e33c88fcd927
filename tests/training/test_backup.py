"""BackupAndRestore: an interrupted fit, run again, ends with the weights of an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.callbacks import BackupAndRestore, Callback, EarlyStopping, ReduceLROnPlateau
from rnnkit.layers import LSTM, Dense
from rnnkit.models import Sequential


def data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 2)).astype(np.float32)
    return x, (x[:, :, 0].sum(axis=1) > 0).astype(np.float32)


def new_model():
    rnnkit.set_seed(3)
    model = Sequential([LSTM(5, dropout=0.0, recurrent_dropout=0.2, input_shape=(6, 2)), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def callbacks(folder, extra=()):
    return [*extra, EarlyStopping(patience=3, restore_best_weights=True),
            ReduceLROnPlateau(patience=1, factor=0.5), BackupAndRestore(folder)]


class Interrupt(Callback):
    """Raises KeyboardInterrupt at the end of epoch `at` (before the backup of that epoch is written);
    `at=None` never does (the resumed fit's stand-in: the callback lists must match)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def fit(model, folder, *, epochs=8, extra=()):
    x, y = data()
    return model.fit(x, y, epochs=epochs, batch_size=5, validation_split=0.25, seed=11, verbose=0,
                     callbacks=callbacks(folder, extra))


@pytest.mark.parametrize("stop_at", [0, 2, 5])
def test_an_interrupted_fit_resumes_to_the_same_weights(tmp_path, stop_at):
    straight = new_model()
    history = fit(straight, tmp_path / "straight", extra=[Interrupt(None)])

    interrupted = new_model()
    with pytest.raises(KeyboardInterrupt):
        fit(interrupted, tmp_path / "run", extra=[Interrupt(stop_at)])
    torch.manual_seed(999)  # the resumed process's global RNG is unrelated
    resumed = new_model()
    resumed_history = fit(resumed, tmp_path / "run", extra=[Interrupt(None)])

    assert resumed_history.history == history.history
    assert resumed.optimizer.learning_rate == straight.optimizer.learning_rate
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert not (tmp_path / "run" / "backup.safetensors").exists()  # deleted when training ended


def test_a_kept_final_backup_is_restored_without_training_again(tmp_path):
    model = new_model()
    x, y = data()
    cbs = [EarlyStopping(patience=2, restore_best_weights=True), BackupAndRestore(tmp_path, delete_checkpoint=False)]
    model.fit(x, y, epochs=4, batch_size=5, validation_split=0.25, seed=1, verbose=0, callbacks=cbs)
    assert (tmp_path / "backup.safetensors").is_file()

    again = new_model()
    cbs = [EarlyStopping(patience=2, restore_best_weights=True), BackupAndRestore(tmp_path, delete_checkpoint=False)]
    before = {k: v.clone() for k, v in again.state_dict().items()}
    again.fit(x, y, epochs=4, batch_size=5, validation_split=0.25, seed=1, verbose=0, callbacks=cbs)
    assert any(not torch.equal(before[k], v) for k, v in again.state_dict().items())
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert again.history.epoch == model.history.epoch
    assert again.optimizer.state_dict()["state"][0]["step"] == model.optimizer.state_dict()["state"][0]["step"]


def test_a_backup_from_other_callbacks_is_refused(tmp_path):
    model = new_model()
    with pytest.raises(KeyboardInterrupt):
        fit(model, tmp_path, extra=[Interrupt(1)])
    x, y = data()
    with pytest.raises(ValueError, match=r"callbacks \['Interrupt', 'EarlyStopping'.*this fit has \['EarlyStopping'"):
        new_model().fit(x, y, epochs=3, batch_size=5, validation_split=0.25, verbose=0,
                        callbacks=[EarlyStopping(patience=3), BackupAndRestore(tmp_path)])


def test_a_backup_of_another_architecture_is_refused(tmp_path):
    model = new_model()
    with pytest.raises(KeyboardInterrupt):
        fit(model, tmp_path, extra=[Interrupt(1)])
    rnnkit.set_seed(3)
    other = Sequential([LSTM(7, input_shape=(6, 2)), Dense(1, activation="sigmoid")])
    other.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    with pytest.raises(ValueError, match="do not fit this model's architecture"):
        fit(other, tmp_path, extra=[Interrupt(None)])


def test_a_damaged_backup_is_a_clear_error(tmp_path):
    (tmp_path / "backup.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a readable backup.*delete it"):
        fit(new_model(), tmp_path, extra=[Interrupt(None)])


def test_only_one_backup_per_fit(tmp_path):
    x, y = data()
    with pytest.raises(ValueError, match="at most one BackupAndRestore"):
        new_model().fit(x, y, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path), BackupAndRestore(tmp_path)])
