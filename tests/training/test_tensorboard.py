"""The TensorBoard callback and `--tensorboard DIR`: what the event files hold, read back with tensorboard's own
reader, equals what fit logged and what the model held; bad arguments are clear errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import rnnkit
from rnnkit.callbacks import Callback, TensorBoard
from tests.cli.test_cli import run_cli
from rnnkit.layers import LSTM, Dense
from rnnkit.models import Sequential
from rnnkit.training.callback import ambient_callbacks, callbacks_for_every_fit

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def read_events(folder):
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    return events


def scalars(events, tag):
    return [(e.step, e.value) for e in events.Scalars(tag)]


def data(n=48, T=5, seed=0):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, T, 2)).astype(np.float32)
    return x, x.sum(axis=(1, 2))[:, None].astype(np.float32) / T


def small_model():
    rnnkit.set_seed(0)
    model = Sequential([LSTM(4, input_shape=(5, 2)), Dense(1)])
    model.compile(optimizer="adam", loss="mse", learning_rate=1e-2)
    return model


class LastGradients(Callback):
    """The gradients the last batch of each epoch left in p.grad, as TensorBoard reads them."""

    def on_epoch_end(self, epoch, logs=None):
        self.grads = {name: p.grad.detach().clone() for name, p in self.model.named_parameters()}


def test_scalars_histograms_and_gradient_norms(tmp_path):
    model, grads = small_model(), LastGradients()
    history = model.fit(*data(), epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[grads, TensorBoard(tmp_path / "logs")])
    events = read_events(tmp_path / "logs")
    for key in ("loss", "val_loss"):
        steps, values = zip(*scalars(events, key))
        assert steps == (0, 1, 2)
        assert values == pytest.approx(history.history[key], rel=1e-6)   # event files store float32
    names = [name for name, _ in model.named_parameters()]
    assert set(events.Tags()["histograms"]) == {f"{kind}/{n}" for n in names for kind in ("weights", "gradients")}
    for name, p in model.named_parameters():
        p = p.detach()
        (step, norm), = scalars(events, f"grad_norm/{name}")[-1:]
        assert step == 2 and norm == pytest.approx(float(grads.grads[name].double().norm()), rel=1e-6)
        last = events.Histograms(f"weights/{name}")[-1].histogram_value
        assert last.num == p.numel()
        assert (last.min, last.max) == pytest.approx((float(p.min()), float(p.max())), rel=1e-6)
        assert last.sum == pytest.approx(float(p.double().sum()), rel=1e-5, abs=1e-6)


def test_histogram_and_update_frequencies(tmp_path):
    model = small_model()
    model.fit(*data(), epochs=4, batch_size=16, verbose=0,
              callbacks=[TensorBoard(tmp_path, histogram_freq=2, update_freq=2)])
    events = read_events(tmp_path)
    assert [e.step for e in events.Histograms("weights/layers.1.linear.bias")] == [1, 3]
    assert [step for step, _ in scalars(events, "batch/loss")] == [2, 4, 6, 8, 10, 12]   # 3 batches x 4 epochs
    assert [step for step, _ in scalars(events, "loss")] == [0, 1, 2, 3]


def test_no_histograms_and_a_parameter_without_gradient(tmp_path):
    """histogram_freq=0 writes scalars only; a parameter whose p.grad is None has no gradient tags."""
    model = small_model()
    model.fit(*data(), epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path / "a", histogram_freq=0)])
    assert read_events(tmp_path / "a").Tags()["histograms"] == []
    frozen = model.layers[1].linear.bias
    frozen.requires_grad_(False)
    model.compile(optimizer="adam", loss="mse", learning_rate=1e-2)
    model.fit(*data(), epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path / "b")])
    tags = read_events(tmp_path / "b").Tags()
    assert "weights/layers.1.linear.bias" in tags["histograms"]
    assert "gradients/layers.1.linear.bias" not in tags["histograms"]
    assert "grad_norm/layers.1.linear.bias" not in tags["scalars"]


@pytest.mark.parametrize("kwargs, message", [
    ({"histogram_freq": -1}, "histogram_freq must be an int >= 0"),
    ({"histogram_freq": 1.5}, "histogram_freq must be an int >= 0"),
    ({"update_freq": 0}, "update_freq must be 'epoch' or an int >= 1"),
    ({"update_freq": "batch"}, "update_freq must be 'epoch' or an int >= 1"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        TensorBoard(tmp_path, **kwargs)


def test_log_dir_must_be_a_folder(tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(ValueError, match="is a file, expected a folder"):
        TensorBoard(file)
    with pytest.raises(TypeError, match="log_dir must be a folder path"):
        TensorBoard(3)


def test_missing_package_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)   # `import` of it raises ImportError
    with pytest.raises(ImportError, match="pip install tensorboard"):
        small_model().fit(*data(), epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path)])


def test_callbacks_for_every_fit_makes_one_per_fit():
    made = []

    class Count(Callback):
        def on_train_begin(self, logs=None):
            made.append(self)

    assert ambient_callbacks() == []
    with callbacks_for_every_fit(Count):
        model = small_model()
        model.fit(*data(), epochs=1, verbose=0)
        model.fit(*data(), epochs=1, verbose=0)
    model.fit(*data(), epochs=1, verbose=0)
    assert len(made) == 2 and made[0] is not made[1]
    assert ambient_callbacks() == []



def test_cli_writes_logs_per_run(capsys, tmp_path):
    logs = tmp_path / "tb"
    code, out, err = run_cli(capsys, "train", "-q", "--out", str(tmp_path / "runs"), "--lookback", "7", "--units", "8",
                             "--epochs", "2", "--batch-size", "64", "--patience", "0", "--tensorboard", str(logs))
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    assert [p.name for p in logs.iterdir()] == [run.name]
    events = read_events(logs / run.name)
    assert [step for step, _ in scalars(events, "loss")] == [0, 1]
    assert any(tag.startswith("grad_norm/") for tag in events.Tags()["scalars"])


def test_cli_tensorboard_path_is_a_file(capsys, tmp_path):
    file = tmp_path / "taken"
    file.write_text("x")
    code, out, err = run_cli(capsys, "train", "-q", "--out", str(tmp_path / "runs"), "--epochs", "1",
                             "--tensorboard", str(file))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "--tensorboard" in err and "expected a folder" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())

