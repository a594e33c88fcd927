"""compile(optimizer="hessian_free"): the train step equals a hand-driven HessianFree step on the same batches,
per-example losses average to the compiled loss, fit / save / resume / errors around it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.callbacks import BackupAndRestore, ReduceLROnPlateau
from rnnkit.layers import Dense, SimpleRNN, LSTM
from rnnkit.losses import MeanSquaredError, SparseCategoricalCrossentropy
from rnnkit.models import Sequential
from rnnkit.optimizers import HessianFree as HessianFreeOptimizer
from rnnkit.training.hessian_free import HessianFree, record_hidden, reference_path
from rnnkit.training.hessian_free_step import curvature_rows
from tests.training.test_backup import Interrupt

B, T, I = 24, 7, 3


def _data(seed=0, n=B):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, T, I)).astype(np.float32)
    y = (x[:, 0, :1] - 0.5 * x[:, -1, 1:2]).astype(np.float32)      # depends on the first and the last step
    return x, y


def _model(optimizer, seed=1):
    rnnkit.set_seed(seed)
    model = Sequential([SimpleRNN(5), Dense(1)])
    model.build((T, I))
    model.compile(optimizer=optimizer, loss="mse")
    return model


def test_curvature_rows_rotate_through_the_batch():
    assert curvature_rows(10, 4, 0).tolist() == [0, 4, 8]
    assert curvature_rows(10, 4, 1).tolist() == [1, 5, 9]
    assert curvature_rows(10, 4, 6).tolist() == [2, 6]
    assert curvature_rows(3, 4, 3).tolist() == [0]            # stride capped at B: never an empty batch
    seen = torch.cat([curvature_rows(10, 4, s) for s in range(4)])
    assert sorted(seen.tolist()) == list(range(10))


def test_the_fit_step_is_a_hessian_free_step_on_the_reference_cells():
    """One fit epoch of one batch == HessianFree.step on the same gradient, curvature and preconditioner rows,
    with the whole model on its reference cells (so only the fused-kernel rounding differs)."""
    x, y = _data()
    options = dict(structural_damping=0.1, hidden_distance="tanh_matching")
    fitted = _model(HessianFreeOptimizer(curvature_fraction=0.25, **options))
    by_hand = _model("adam")
    by_hand.load_state_dict(fitted.state_dict())
    history = fitted.fit(x, y, epochs=1, batch_size=B, shuffle=False, verbose=0)

    hf = HessianFree(by_hand.parameters(), **options)
    X, Y = torch.tensor(x), torch.tensor(y)
    loss = MeanSquaredError()

    def forward(b):
        with reference_path(by_hand), record_hidden(by_hand) as hidden:
            z = by_hand(b[0])
        return z, hidden

    rows = curvature_rows(B, 4, 0)
    logs = hf.step(forward, lambda z, b: loss.per_example(b[1], z), (X, Y), (X[rows], Y[rows]), (X[rows], Y[rows]))
    assert history.history["loss"][0] == pytest.approx(logs["loss"], rel=1e-5)
    assert history.history["damping"][0] == pytest.approx(logs["damping"], rel=1e-6)
    assert logs["step_size"] > 0
    # float32 kernels vs reference cells agree to ~1e-6 relative in g; CG over ≤ P iterations amplifies that by
    # the condition number of the damped curvature (λ = 1 keeps it small): 1e-3 is far below the step itself
    for (name, a), b in zip(fitted.state_dict().items(), by_hand.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4, msg=name)
    moved = sum(float((a - b).abs().sum()) for a, b in zip(fitted.state_dict().values(), _model("adam").state_dict().values()))
    assert moved > 1e-2


def test_fit_with_hessian_free_lowers_the_loss_and_logs_damping():
    x, y = _data(n=96)
    model = _model("hessian_free")
    start = float(model.evaluate(x, y, verbose=0))
    history = model.fit(x, y, epochs=8, batch_size=72, verbose=0, validation_split=0.25)   # 8 updates
    assert history.history["loss"][-1] < 0.7 * start          # 0.61 of it on this CPU; a broken step stays near 1
    assert set(history.history) >= {"loss", "val_loss", "damping", "cg_iterations"}
    assert all(c >= 1 for c in history.history["cg_iterations"])


@pytest.mark.parametrize("mask", [False, True])
def test_per_example_losses_average_to_the_compiled_loss(mask):
    torch.manual_seed(0)
    y = torch.randint(0, 4, (5, 6))
    logits = torch.randn(5, 6, 4)
    weight = torch.rand(5)
    m = torch.rand(5, 6) > 0.3 if mask else None
    loss = SparseCategoricalCrossentropy(from_logits=True)
    per = loss.per_example(y, logits, mask=m, sample_weight=weight)
    assert per.shape == (5,)
    torch.testing.assert_close(per.mean(), loss(y, logits, mask=m, sample_weight=weight))


def test_hessian_free_state_survives_save_and_load(tmp_path):
    x, y = _data()
    model = _model("hessian_free")
    model.fit(x, y, epochs=2, batch_size=12, verbose=0)
    state = model.optimizer.state_dict()["state"][0]
    assert state["steps"] == 4 and state["previous"].shape == (sum(p.numel() for p in model.parameters()),)
    model.save(tmp_path / "m")
    loaded = rnnkit.load_model(tmp_path / "m")
    assert isinstance(loaded.optimizer, HessianFreeOptimizer)
    again = loaded.optimizer.state_dict()["state"][0]
    assert again["damping"] == state["damping"] and again["steps"] == 4
    torch.testing.assert_close(again["previous"], state["previous"], rtol=0, atol=0)


def test_an_interrupted_hessian_free_fit_resumes_to_the_same_weights(tmp_path):
    x, y = _data(n=48)
    straight = _model("hessian_free")
    expected = straight.fit(x, y, epochs=4, batch_size=16, seed=3, verbose=0,
                            callbacks=[Interrupt(None), BackupAndRestore(tmp_path / "straight")]).history
    interrupted = _model("hessian_free")
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(x, y, epochs=4, batch_size=16, seed=3, verbose=0,
                        callbacks=[Interrupt(1), BackupAndRestore(tmp_path)])
    resumed = _model("hessian_free")
    history = resumed.fit(x, y, epochs=4, batch_size=16, seed=3, verbose=0,
                          callbacks=[Interrupt(None), BackupAndRestore(tmp_path)])
    assert history.history == expected
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_errors_name_what_does_not_apply():
    x, y = _data()
    with pytest.raises(ValueError, match="do not apply to Hessian-free"):
        _model("hessian_free").compile(optimizer="hessian_free", loss="mse", learning_rate=0.1)
    with pytest.raises(ValueError, match="curvature_fraction must be in"):
        HessianFreeOptimizer(curvature_fraction=0.0)
    with pytest.raises(TypeError, match="unknown argument"):
        HessianFreeOptimizer(momentum=0.9)
    model = _model("hessian_free")
    with pytest.raises(TypeError, match="no learning rate"):
        model.fit(x, y, epochs=2, batch_size=12, verbose=0, validation_split=0.25,
                  callbacks=[ReduceLROnPlateau(patience=1)])
    custom = _model("adam")
    custom.compile(optimizer="hessian_free", loss=lambda t, p: ((t - p) ** 2).mean())
    with pytest.raises(TypeError, match="per-example losses are unknown"):
        custom.fit(x, y, epochs=1, batch_size=12, verbose=0)
    with pytest.raises(TypeError, match="the train step drives it"):
        _model("hessian_free").optimizer.step()


def test_a_gated_layer_and_padded_sequences_train_too():
    """Variable lengths reach the reference cells (padded steps masked), and an LSTM's hidden outputs carry the
    structural term with the squared distance."""
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(int(n), I)).astype(np.float32) for n in rng.integers(3, T + 1, size=32)]
    y = np.array([s[0, 0] for s in x], dtype=np.float32)[:, None]
    rnnkit.set_seed(0)
    model = Sequential([LSTM(4), Dense(1)])
    model.compile(optimizer=HessianFreeOptimizer(structural_damping=0.05), loss="mse")
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and history.history["loss"][-1] < history.history["loss"][0]
