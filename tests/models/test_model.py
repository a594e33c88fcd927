"""rnnkit.Model: subclassed models, several inputs and outputs, custom steps, wrapped torch modules, saving."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import rnnkit
from rnnkit.callbacks import BackupAndRestore, EarlyStopping
from rnnkit.layers import LSTM, Dense, Embedding
from rnnkit.models import Model, Sequential
from rnnkit.saving import register_serializable


@register_serializable(package="tests")
class Regressor(Model):
    def __init__(self, *, units: int = 6, outputs: int = 1):
        super().__init__()
        self.lstm = LSTM(units)
        self.head = Dense(outputs)

    def call(self, inputs, training=False, lengths=None):
        return self.head(self.lstm(inputs, lengths=lengths))


@register_serializable(package="tests")
class TwoHeads(Model):
    """Inputs {"series": (B, T, 2), "static": (B, 3)} -> (value (B, 1), label probabilities (B, 2))."""

    def __init__(self, *, units: int = 5):
        super().__init__()
        self.lstm = LSTM(units)
        self.mix = Dense(8, activation="tanh")
        self.value = Dense(1)
        self.label = Dense(2, activation="softmax")

    def call(self, inputs, training=False):
        h = self.lstm(inputs["series"])
        z = self.mix(torch.cat([h, inputs["static"]], dim=-1))
        return self.value(z), self.label(z)


def series(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 7, 2)).astype(np.float32)
    return x, x[:, :, 0].sum(axis=1, keepdims=True).astype(np.float32)


def test_a_subclassed_model_trains_evaluates_predicts():
    rnnkit.set_seed(0)
    model = Regressor(units=8)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], learning_rate=0.02)
    x, y = series(64)
    history = model.fit(x, y, epochs=12, batch_size=16, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert set(history.history) == {"loss", "mae"}
    loss, mae = model.evaluate(x, y)
    assert loss == pytest.approx(np.mean((model.predict(x) - y) ** 2), rel=1e-4)
    assert model.predict(x).shape == (64, 1)
    text = []
    model.summary(print_fn=text.append)
    assert "lstm (LSTM)" in text[0] and "head (Dense)" in text[0]


def test_variable_length_sequences_reach_call_as_lengths():
    rnnkit.set_seed(1)
    model = Regressor()
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(t, 2)).astype(np.float32) for t in (3, 7, 5, 2)]
    y = np.array([[s[:, 0].sum()] for s in xs], dtype=np.float32)
    model.fit(xs, y, epochs=1, batch_size=2, verbose=0)
    # each sequence alone gives the same prediction as inside the padded batch
    together = model.predict(xs)
    alone = np.concatenate([model.predict(s[None]) for s in xs])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


def test_call_without_lengths_refuses_padded_batches():
    class NoLengths(Model):
        def __init__(self):
            super().__init__()
            self.lstm = LSTM(3)

        def call(self, inputs, training=False):
            return self.lstm(inputs)

    model = NoLengths()
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="call\\(\\) has no lengths parameter"):
        model.fit([np.zeros((2, 1)), np.zeros((3, 1))], np.zeros((2, 3)), verbose=0)


def two_head_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = {"series": rng.normal(size=(n, 6, 2)).astype(np.float32), "static": rng.normal(size=(n, 3)).astype(np.float32)}
    value = x["series"][:, :, 1].mean(axis=1, keepdims=True)
    label = (x["static"][:, 0] > 0).astype(np.int64)
    return x, value, label


def test_several_inputs_and_outputs_with_per_output_losses_and_weights():
    rnnkit.set_seed(2)
    model = TwoHeads()
    model.compile(optimizer="adam", loss=["mse", "sparse_categorical_crossentropy"],
                  metrics=[["mae"], ["accuracy"]], loss_weights=[2.0, 0.5])
    x, value, label = two_head_data()
    history = model.fit(x, (value, label), epochs=3, batch_size=8, verbose=0, seed=0)
    assert set(history.history) == {"loss", "output_0_loss", "output_1_loss", "output_0_mae", "output_1_accuracy"}
    logs = model.evaluate(x, (value, label), return_dict=True, batch_size=40)
    v_pred, p_pred = model.predict(x, batch_size=40)
    mse = float(np.mean((v_pred - value) ** 2))
    ce = float(np.mean(-np.log(np.clip(p_pred[np.arange(40), label], 1e-7, 1))))
    assert logs["output_0_loss"] == pytest.approx(mse, rel=1e-4)
    assert logs["output_1_loss"] == pytest.approx(ce, rel=1e-4)
    assert logs["loss"] == pytest.approx(2.0 * mse + 0.5 * ce, rel=1e-4)


def test_output_structure_mismatch_is_a_clear_error():
    model = TwoHeads()
    model.compile(optimizer="adam", loss="mse")
    x, value, label = two_head_data(8)
    with pytest.raises(ValueError, match="returns 2 outputs .* one loss per output"):
        model.fit(x, value, verbose=0)
    model.compile(optimizer="adam", loss=["mse", "mse"])
    with pytest.raises(ValueError, match="targets y must be given per output"):
        model.fit(x, value, verbose=0)


@register_serializable(package="tests")
class TeacherForced(Model):
    """A tiny encoder-decoder: the decoder reads the target shifted right (teacher forcing) in train_step."""

    def __init__(self, *, vocab: int = 6, units: int = 8):
        super().__init__()
        self.embed = Embedding(vocab, 4)
        self.encoder = LSTM(units, return_state=True)
        self.decoder = rnnkit.nn.LSTM(4, units, batch_first=True)  # the core layer takes an initial state
        self.out = Dense(vocab)

    def call(self, inputs, training=False):
        source, target_in = inputs
        _, h, c = self.encoder(self.embed(source))
        states, _ = self.decoder(self.embed(target_in), (h[None], c[None]))
        return self.out(states)

    def train_step(self, batch):
        source, target = batch.x, batch.y
        bos = torch.zeros_like(target[:, :1])
        logits = self((source, torch.cat([bos, target[:, :-1]], dim=1)), training=True)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        self.optimize(loss)
        return {"loss": loss.detach(), "token_accuracy": (logits.argmax(-1) == target).float().mean()}

    def test_step(self, batch):
        with torch.no_grad():
            bos = torch.zeros_like(batch.y[:, :1])
            logits = self((batch.x, torch.cat([bos, batch.y[:, :-1]], dim=1)))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.y.reshape(-1))
        return {"loss": loss}


def reverse_task(n=48, T=5, seed=0):
    rng = np.random.default_rng(seed)
    source = rng.integers(1, 6, size=(n, T))
    return source, source[:, ::-1].copy()


def test_custom_train_step_keeps_callbacks_and_checkpoints(tmp_path):
    source, target = reverse_task()

    def run(folder, stop_after=None):
        rnnkit.set_seed(4)
        model = TeacherForced()
        model((torch.as_tensor(source[:2]), torch.as_tensor(target[:2])))  # call() takes (source, target_in), not x
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", learning_rate=0.02)
        cbs = [EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True), BackupAndRestore(folder)]
        if stop_after is not None:
            class Stop(rnnkit.callbacks.Callback):
                def on_epoch_end(self, epoch, logs=None):
                    if epoch == stop_after:
                        raise KeyboardInterrupt
            cbs.insert(0, Stop())
        else:
            class Stop(rnnkit.callbacks.Callback):
                pass
            cbs.insert(0, Stop())
        history = model.fit(source, target, epochs=8, batch_size=12, validation_split=0.25, verbose=0, seed=3,
                            callbacks=cbs)
        return model, history

    straight, history = run(tmp_path / "a")
    assert {"loss", "token_accuracy", "val_loss"} <= set(history.history)
    assert history.history["token_accuracy"][-1] > history.history["token_accuracy"][0]
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", stop_after=3)
    resumed, resumed_history = run(tmp_path / "b")
    assert resumed_history.history == history.history
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_custom_step_that_diverges_stops_cleanly():
    class Exploding(Regressor):
        def train_step(self, batch):
            loss = self.compute_loss(batch.y, self(batch.x, training=True)) * float("inf")
            self.optimize(loss)
            return {"loss": loss}

    rnnkit.set_seed(0)
    model = Exploding()
    model.compile(optimizer="adam", loss="mse")
    x, y = series(8)
    model.build_from_data(torch.as_tensor(x))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.warns(RuntimeWarning, match="fit stopped at epoch 1: the loss became inf"):
        history = model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    assert history.stop_reason.startswith("epoch 1")
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


def test_train_step_must_return_a_dict_with_loss():
    class Bad(Regressor):
        def train_step(self, batch):
            return 1.0

    model = Bad()
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(TypeError, match="train_step must return a dict of logs with a 'loss' entry"):
        model.fit(*series(4), verbose=0)


def test_wrap_gives_a_torch_module_fit_and_checkpoints(tmp_path):
    x, y = series(32)
    x = x.reshape(32, -1)

    def run(folder, interrupt=False):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(14, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
        model = Model.wrap(net)
        model.compile(optimizer="adam", loss="mse", learning_rate=0.01)

        class Maybe(rnnkit.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if interrupt and epoch == 2:
                    raise KeyboardInterrupt

        return model, model.fit(x, y, epochs=6, batch_size=8, verbose=0, seed=1,
                                callbacks=[Maybe(), BackupAndRestore(folder)])

    straight, history = run(tmp_path / "a")
    assert history.history["loss"][-1] < history.history["loss"][0]
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", interrupt=True)
    resumed, _ = run(tmp_path / "b")
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(ValueError, match="register the module's class"):
        straight.save(tmp_path / "net.rnnkit")


@register_serializable(package="tests")
class RegisteredNet(torch.nn.Module):
    def __init__(self, width: int = 4):
        super().__init__()
        self.width = width
        self.linear = torch.nn.Linear(3, width)

    def forward(self, x):
        return self.linear(x).sum(dim=-1, keepdim=True)

    def get_config(self):
        return {"width": self.width}


def test_a_wrapped_registered_module_saves_and_loads(tmp_path):
    torch.manual_seed(0)
    model = Model.wrap(RegisteredNet(width=5))
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    model.fit(x, x.sum(axis=1, keepdims=True), epochs=2, verbose=0)
    model.save(tmp_path / "m.rnnkit")
    loaded = rnnkit.load_model(tmp_path / "m.rnnkit")
    assert loaded.module.width == 5
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_subclassed_models_save_and_load_without_pickle(tmp_path):
    rnnkit.set_seed(5)
    model = TwoHeads(units=4)
    model.compile(optimizer="adam", loss=["mse", "sparse_categorical_crossentropy"],
                  metrics=[["mae"], ["accuracy"]], loss_weights=[1.0, 3.0])
    x, value, label = two_head_data(16)
    model.fit(x, (value, label), epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "two.rnnkit")
    loaded = rnnkit.load_model(tmp_path / "two.rnnkit")
    assert type(loaded) is TwoHeads
    for a, b in zip(model.predict(x), loaded.predict(x)):
        np.testing.assert_array_equal(a, b)
    assert loaded.compiled_loss.weights == {0: 1.0, 1: 3.0}
    assert [m.name for m in loaded.compiled_metrics] == ["output_0_mae", "output_1_accuracy"]
    # training continues from the saved optimizer state
    loaded.fit(x, (value, label), epochs=1, batch_size=4, verbose=0)


def test_an_unregistered_class_in_a_file_is_refused_and_never_imported(tmp_path):
    rnnkit.set_seed(0)
    model = Regressor()
    model.compile(optimizer="adam", loss="mse")
    model.fit(*series(4), verbose=0)
    path = tmp_path / "m.rnnkit"
    model.save(path)
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = dict(f.metadata())
    metadata["class_name"] = "os>system"
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match=r"'os>system', which is not registered here.*register_serializable"):
        rnnkit.load_model(path)


def test_an_unregistered_model_cannot_be_saved(tmp_path):
    class Local(Regressor):
        pass

    model = Local()
    model.compile(optimizer="adam", loss="mse")
    model.fit(*series(4), verbose=0)
    with pytest.raises(ValueError, match="Local is not registered.*register_serializable"):
        model.save(tmp_path / "m.rnnkit")


def test_init_arguments_that_are_not_json_need_get_config(tmp_path):
    @register_serializable(package="tests")
    class Holder(Model):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def call(self, inputs, training=False):
            return self.layer(inputs)

    model = Holder(Dense(1))
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32), verbose=0)
    with pytest.raises(ValueError, match="Define get_config"):
        model.save(tmp_path / "m.rnnkit")


def test_sequential_files_of_the_first_format_still_load(tmp_path):
    rnnkit.set_seed(0)
    model = Sequential([LSTM(3, input_shape=(4, 2)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    path = tmp_path / "old.rnnkit"
    model.save(path)
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = dict(f.metadata())
    metadata.update(format="rnnkit.Sequential", format_version="1")
    metadata.pop("class_name"), metadata.pop("input_spec")
    save_file(tensors, str(path), metadata=metadata)
    loaded = rnnkit.load_model(path)
    x = np.ones((2, 4, 2), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert json.loads(metadata["model"])["layers"][0]["class_name"] == "LSTM"


def test_a_model_whose_call_does_not_take_x_says_how_to_build_it():
    source, target = reverse_task(8)
    model = TeacherForced()
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=r"build the model first by calling it once on example inputs"):
        model.fit(source, target, verbose=0)


def test_sequential_refuses_layers_with_several_inputs_or_outputs():
    from rnnkit.layers import Attention, Bidirectional

    with pytest.raises(TypeError, match="takes several inputs.*subclass rnnkit.Model"):
        Sequential([Attention()])
    with pytest.raises(ValueError, match=r"merge_mode=None\) returns two tensors"):
        Sequential([Bidirectional(LSTM(3), merge_mode=None)])


def test_stateful_models_reset_each_epoch_and_refuse_shuffling():
    rnnkit.set_seed(0)
    model = Sequential([LSTM(4, stateful=True, input_shape=(5, 2)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = series(8)
    x = x[:, :5]
    with pytest.raises(ValueError, match="Pass shuffle=False"):
        model.fit(x, y, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="batch_size must divide the 8 training samples"):
        model.fit(x, y, batch_size=3, shuffle=False, verbose=0)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert model.stateful_layers() and model.layers[0].states is not None  # carried after the last batch
    first = model.predict(x, batch_size=4)
    again = model.predict(x, batch_size=4)   # predict resets: the same series gives the same outputs
    np.testing.assert_array_equal(first, again)
    model.reset_states()
    assert model.layers[0].states is None
