"""The vanishing-gradient lab (issue 15): the model per problem kind, the scores by hand, a tiny run of each cell
with its gradient curves and run folder, `rnnkit lab` and its errors."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.data.long_range import make_long_range
from rnnkit.tasks._config import ConfigError
from rnnkit.tasks.lab import LabConfig, run_lab, save_lab_run
from rnnkit.tasks.lab.pipeline import build_lab_model, score

TINY = LabConfig(problem="adding", length=12, units=6, train_sequences=40, test_sequences=16, epochs=2,
                 batch_size=8, patience=0)


def test_scores_by_hand():
    adding = make_long_range("adding", n=3, length=10, seed=0)
    assert score(adding, adding.y[:, None]) == 0.0
    assert score(adding, adding.y[:, None] + 0.5) == pytest.approx(0.25)
    order = make_long_range("temporal_order_2", n=4, length=20, seed=0)
    right = np.eye(4)[order.y]
    assert score(order, right) == 1.0 and score(order, np.roll(right, 1, axis=1)) == 0.0
    copy = make_long_range("copy", n=2, length=5, seed=0)
    uniform = np.full((2, 25, 9), 1 / 9)
    assert score(copy, uniform) == pytest.approx(np.log(9))


@pytest.mark.parametrize("problem, kind, outputs", [("adding", "regression", (1,)), ("xor", "classification", (2,)),
                                                    ("copy", "sequence", (10 + 20, 9))])
def test_the_read_out_follows_the_problem_kind(problem, kind, outputs):
    task = make_long_range(problem, n=2, length=10, seed=0)
    assert task.kind == kind
    model = build_lab_model(dataclasses.replace(TINY, problem=problem, length=10), task)
    assert tuple(model.predict(task.x).shape[1:]) == outputs


@pytest.mark.parametrize("model", ["rnn", "irnn", "lstm", "gru"])
def test_each_cell_trains_and_measures_its_gradient_curve(model, tmp_path):
    from rnnkit.tasks.runs import open_run, start_run

    config = dataclasses.replace(TINY, model=model, chrono=model in ("lstm", "gru"))
    result = run_lab(config)
    test = result.metrics["test"]
    assert test["metric"] == "mse" and test["baseline"] == pytest.approx(1 / 6) and test["steps"] == 12
    assert test["solved"] is (test["score"] < 0.01)
    for when in ("initial", "trained"):
        (curve,) = result.gradient_norms[when].values()
        assert curve.shape == (12,) and np.isfinite(curve).all() and (curve > 0).all()
    folder = save_lab_run(result, folder=start_run(tmp_path, task="lab", config=config))
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["test"]["score"] == pytest.approx(test["score"])
    assert (folder / "gradient_norms.png").is_file()
    header = (folder / "gradient_norms.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "t" and len(header) == 3
    run = open_run(folder)
    assert run.task == "lab" and run.config == config


@pytest.mark.parametrize("problem", ["adding", "temporal_order_2"])
def test_hessian_free_trains_the_tanh_rnn_with_structural_damping(problem):
    config = dataclasses.replace(TINY, problem=problem, model="rnn", optimizer="hessian_free", train_sequences=80,
                                 batch_size=None, epochs=3)
    assert config.batch == 1000 and dataclasses.replace(config, optimizer="adam").batch == 32
    result = run_lab(config)
    optimizer = result.model.optimizer
    assert optimizer.name == "hessian_free" and optimizer.config.structural_damping == pytest.approx(1 / 30)
    assert optimizer.config.hidden_distance == "tanh_matching"
    assert optimizer.hf.steps == 3                                     # one update per epoch: 72 < 1000 sequences
    losses = result.history["loss"]
    assert np.isfinite(losses).all() and min(losses[1:]) < losses[0]
    assert np.isfinite(result.metrics["test"]["score"])


def test_the_tanh_rnns_gradient_vanishes_where_the_irnns_does_not():
    # both start with W_hh of spectral radius 1 (orthogonal; identity), but tanh'(a) < 1 shrinks every step of
    # the tanh RNN's backward pass, while the IRNN's ReLU passes active units' gradients through unchanged
    ratios = {}
    for model in ("rnn", "irnn"):
        result = run_lab(dataclasses.replace(TINY, model=model, length=40, epochs=1))
        ((radius,),) = [list(blocks.values()) for blocks in result.metrics["spectral_radius"].values()]
        assert radius == pytest.approx(1.0, abs=0.05)          # after one epoch at lr 1e-3, still about 1
        (ratios[model],) = result.metrics["gradient_ratio"]["initial"].values()
    assert ratios["rnn"] < 0.05 < 0.3 < ratios["irnn"]


@pytest.mark.parametrize("change, needle", [
    (dict(problem="sorting"), "problem must be one of adding"),
    (dict(units=0), "units must be >= 1"),
    (dict(chrono=True, model="rnn"), "chrono initialises the gate biases"),
    (dict(clipnorm=-1.0), "clipnorm must be >= 0"),
    (dict(structural_damping=-0.1), "structural_damping must be >= 0"),
    (dict(batch_size=0), "batch_size must be >= 1"),
    (dict(train_sequences=3, val_fraction=0.1), "leaves no validation"),
])
def test_config_errors_name_the_option(change, needle):
    with pytest.raises(ConfigError, match=needle):
        dataclasses.replace(TINY, **change).check()


def test_rnnkit_lab_lists_runs_and_evaluates(tmp_path, capsys):
    assert main(["lab", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "adding" in listing and "pixel_digits_permuted" in listing and "0.1667" in listing
    assert main(["lab", "xor", "-q", "--length", "10", "--units", "4", "--train-sequences", "20", "--test-sequences",
                 "8", "--epochs", "1", "--out", str(tmp_path), "--threads", "1"]) == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert json.loads((folder / "run.json").read_text())["task"] == "lab"
    assert 'problem = "xor"' in (folder / "config.toml").read_text()
    capsys.readouterr()
    assert main(["evaluate", str(folder)]) == 0
    assert "xor, T = 10, 8 test sequences: accuracy" in capsys.readouterr().out
