"""fit / evaluate / predict: inputs of every kind, histories, validation, determinism, and the
errors that must come before any training step."""

import numpy as np
import pandas as pd
import pytest
import torch

import rnnkit
from rnnkit.layers import GRU, LSTM, Dense, Embedding, SimpleRNN
from rnnkit.models import Sequential
from rnnkit.optimizers import SGD, Adam


def small_rnn(**layer_kwargs):
    model = Sequential([SimpleRNN(6, **layer_kwargs), Dense(1, activation="sigmoid")])
    model.compile(optimizer=Adam(learning_rate=0.01), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def seq_data(n=24, T=5):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, T, 2)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.int64)
    return x, y


def test_history_holds_loss_metrics_and_val_variants():
    rnnkit.set_seed(0)
    x, y = seq_data()
    model = small_rnn()
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    assert history is model.history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_two_seeded_runs_give_identical_histories():
    def run():
        rnnkit.set_seed(7)
        model = Sequential([GRU(5, dropout=0.2), Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model.fit(*seq_data(), epochs=3, batch_size=5, verbose=0).history

    assert run() == run()


def test_numpy_torch_and_pandas_inputs_train_the_same():
    def run(x, y):
        rnnkit.set_seed(1)
        model = Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        return model.fit(x, y, epochs=2, batch_size=4, verbose=0).history["loss"]

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3))
    y = x.sum(axis=1)
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    expected = run(x, y)
    assert run(torch.as_tensor(x), torch.as_tensor(y)) == expected
    assert run(frame, pd.Series(y)) == expected
    assert run(x.tolist(), y.tolist()) == expected


def test_list_of_variable_length_sequences_is_padded_and_lengths_reach_the_rnn():
    rnnkit.set_seed(0)
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(n, 2)).astype(np.float32) for n in (3, 7, 5, 2)]
    model = Sequential([LSTM(4), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(seqs, np.zeros(4), epochs=1, batch_size=2, verbose=0)
    predicted = model.predict(seqs)
    for seq, row in zip(seqs, predicted):
        alone = model.predict(seq[None])  # one unpadded sequence
        np.testing.assert_allclose(row, alone[0], rtol=1e-6, atol=1e-6)


def test_embedding_with_mask_zero_trains_on_padded_ids():
    rnnkit.set_seed(0)
    ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0], [6, 0, 0, 0], [7, 8, 9, 1]])
    model = Sequential([Embedding(10, 3, mask_zero=True), GRU(4), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, np.array([0, 1, 0, 1]), epochs=2, batch_size=2, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert model.predict(ids).shape == (4, 2)


def test_evaluate_predict_and_summary(capsys):
    rnnkit.set_seed(0)
    x, y = seq_data(8)
    model = small_rnn(input_shape=(5, 2))
    model.summary()
    text = capsys.readouterr().out
    assert "simple_rnn (SimpleRNN)" in text and "(None, 6)" in text and "Total params: 67" in text  # torch layout: b_ih and b_hh
    loss, accuracy = model.evaluate(x, y, batch_size=3)
    logs = model.evaluate(x, y, return_dict=True)
    assert logs == pytest.approx({"loss": loss, "accuracy": accuracy})
    p = model.predict(x)
    expected_loss = -np.mean(y * np.log(p[:, 0]) + (1 - y) * np.log(1 - p[:, 0]))
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert accuracy == pytest.approx(np.mean((p[:, 0] > 0.5) == y))


def test_validation_data_and_sequence_outputs():
    rnnkit.set_seed(0)
    x, _ = seq_data(10)
    model = Sequential([SimpleRNN(3, return_sequences=True), Dense(2)])
    model.compile(optimizer="rmsprop", loss="mae", metrics=["mse"])
    history = model.fit(x, x, epochs=2, batch_size=4, validation_data=(x[:4], x[:4]), verbose=0)
    assert set(history.history) == {"loss", "mse", "val_loss", "val_mse"}


def test_train_step_is_one_update():
    rnnkit.set_seed(0)
    from rnnkit.training.data import to_dataset

    x, y = seq_data(4)
    model = small_rnn(input_shape=(5, 2))
    model.optimizer.build(model.parameters())
    before = [p.detach().clone() for p in model.parameters()]
    batch = to_dataset(x, y, model=model, where="test").take(torch.arange(4))
    logs = model.train_step(batch)  # Keras 3 style: a dict of logs
    assert set(logs) == {"loss"} and float(logs["loss"]) > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_gradient_clipping_by_value_bounds_each_update():
    rnnkit.set_seed(0)
    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(optimizer=SGD(learning_rate=1.0, clipvalue=0.01), loss="mse")
    before = [p.detach().clone() for p in model.parameters()]
    model.fit(np.ones((1, 1)), np.full(1, 1000.0), epochs=1, batch_size=1, shuffle=False, verbose=0)
    for a, b in zip(before, model.parameters()):
        assert float((a - b.detach()).abs().max()) == pytest.approx(0.01)


def test_divergence_stops_and_keeps_the_last_finite_weights():
    rnnkit.set_seed(0)
    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(optimizer=SGD(learning_rate=5.0), loss="mse")
    x, y = np.ones((1, 1)) * 10, np.zeros(1)
    with pytest.warns(RuntimeWarning, match="fit stopped at epoch"):
        history = model.fit(x, y, epochs=200, batch_size=1, verbose=0)
    assert "became" in history.stop_reason
    assert len(history.history["loss"]) < 200
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert np.isfinite(model.evaluate(x, y))


def _untouched(model, call):
    before = [p.detach().clone() for p in model.parameters()]
    call()
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert not model.optimizer.built  # no training step was taken


@pytest.mark.parametrize(
    "x_fn,y_fn,kwargs,match",
    [
        (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x), lambda y: y, {}, "contains NaN"),
        (lambda x: x, lambda y: y[:-1], {}, "expected 4, got 3"),
        (lambda x: x[:, 0, 0], lambda y: y, {}, "1-D"),
        (lambda x: x[..., 0], lambda y: y, {}, r"x\[\.\.\., None\]"),
        (lambda x: x, lambda y: y, {"validation_split": 1.5}, r"validation_split must be in \[0, 1\); got 1.5"),
    ],
    ids=["nan", "label-count", "1d", "2d-for-rnn", "validation_split"],
)
def test_bad_inputs_fail_before_training(x_fn, y_fn, kwargs, match):
    x = np.array([[0, 1, 0], [1, 0, 1], [0, 0, 1], [1, 1, 0]], dtype=np.float32)[..., None]
    y = np.array([1, 0, 1, 0])
    model = small_rnn(input_shape=(3, 1))
    with pytest.raises(ValueError, match=match):
        _untouched(model, lambda: model.fit(x_fn(x), y_fn(y), epochs=1, verbose=0, **kwargs))


def test_the_seeds_two_dimensional_x_gets_the_fix_in_the_message():
    x = np.array([[0, 1, 0], [1, 0, 1], [0, 0, 1], [1, 1, 0]])  # the seed's x, as printed: (4, 3)
    model = Sequential([SimpleRNN(10), Dense(1, activation="sigmoid")])  # input shape left to inference
    model.compile(optimizer="adam", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"use x\[\.\.\., None\]") as info:
        model.fit(x, np.array([1, 0, 1, 0]), epochs=1, verbose=0)
    assert "(4, 3)" in str(info.value)


def test_uncompiled_and_argument_errors():
    model = Sequential([Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match="not compiled"):
        model.fit(np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="loss is required"):
        model.compile(optimizer="adam")
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        model.fit(np.zeros((2, 2)), np.zeros(2), batch_size=0)
    with pytest.raises(ValueError, match="apply to an optimizer given by name"):
        model.compile(optimizer=Adam(), loss="mse", clipnorm=1.0)


def test_verbose_progress_output(capsys):
    rnnkit.set_seed(0)
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(np.zeros((4, 2)), np.zeros(4), epochs=2, batch_size=2, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2") and "mae:" in lines[1]
    model.fit(np.zeros((4, 2)), np.zeros(4), epochs=2, batch_size=2)  # verbose="auto": not a TTY here
    lines = capsys.readouterr().out.strip().splitlines()  # as Keras: one line per epoch, no carriage returns
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"]
    model.fit(np.zeros((4, 2)), np.zeros(4), epochs=1, batch_size=2, verbose=0)
    assert capsys.readouterr().out == ""


def test_live_progress_bar_on_a_terminal(monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    rnnkit.set_seed(0)
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((6, 2)), np.zeros(6), epochs=2, batch_size=2)  # verbose="auto" on a TTY: the bar
    text = screen.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text
    assert "\r3/3 [========================]" in text and "loss: " in text


def test_recurrent_dropout_trains_reproducibly_through_the_core():
    import inspect

    if "recurrent_dropout" not in inspect.signature(rnnkit.nn.LSTM).parameters:
        pytest.skip("rnnkit.nn.LSTM has no recurrent_dropout yet (issue 4)")

    def run():
        rnnkit.set_seed(5)
        model = Sequential([LSTM(4, recurrent_dropout=0.3, dropout=0.1), Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        history = model.fit(*seq_data(12), epochs=2, batch_size=4, verbose=0).history
        return history, model.predict(seq_data(12)[0])

    (h1, p1), (h2, p2) = run(), run()
    assert h1 == h2
    np.testing.assert_array_equal(p1, p2)
    assert h1["loss"][0] > 0
