"""The seed's program (examples/seed_example.py) reaches accuracy 1.0; histories plot to files."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import rnnkit
from rnnkit.layers import Dense
from rnnkit.models import Sequential
from rnnkit.training import History

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed_example.py"


def test_seed_example_reaches_accuracy_one(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("seed_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plot = tmp_path / "loss.png"
    assert module.main(str(plot)) == 1.0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "accuracy 1.00" in capsys.readouterr().out


def test_history_plot_writes_loss_and_metric_panels(tmp_path):
    rnnkit.set_seed(0)
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(2,))])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(10, 2))
    history = model.fit(x, (x[:, 0] > 0).astype(int), epochs=2, validation_split=0.2, verbose=0)
    path = history.plot(tmp_path / "history.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="not in the history"):
        history.plot(tmp_path / "x.png", keys=["auc"])
    with pytest.raises(ValueError, match="history is empty"):
        History().plot(tmp_path / "empty.png")
