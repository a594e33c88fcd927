"""Save / load: safetensors + JSON only, bit-identical predictions, optimizer state, atomic writes,
clear errors for damaged or crafted files, and resuming that matches an uninterrupted run."""

import json
import os

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import rnnkit
from rnnkit.callbacks import ModelCheckpoint
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, SimpleRNN
from rnnkit.models import Sequential
from rnnkit.optimizers import SGD, Adam


@pytest.fixture(autouse=True)
def no_pickle(monkeypatch):
    """Any use of torch.load or pickle while saving or loading fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("torch.load / pickle must not be used")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr("pickle.load", refuse)
    monkeypatch.setattr("pickle.loads", refuse)


def data(n=12, T=4, features=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, T, features)).astype(np.float32)
    return x, (x[:, 0, 0] > 0).astype(np.int64)


def trained_model():
    rnnkit.set_seed(0)
    model = Sequential([
        Bidirectional(LSTM(4, return_sequences=True), input_shape=(4, 3)),
        Dropout(0.1),
        GRU(3),
        Dense(2, activation="softmax"),
    ])
    model.compile(optimizer=Adam(learning_rate=0.01, clipnorm=1.0), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", "auc"])
    model.fit(*data(), epochs=2, batch_size=4, verbose=0)
    return model


def test_save_load_predicts_bit_identically_and_keeps_compile_settings(tmp_path):
    model = trained_model()
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = rnnkit.load_model(path)
    x, y = data()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_config() == model.get_config()
    assert type(loaded.optimizer) is Adam and loaded.optimizer.clipnorm == 1.0
    assert [m.name for m in loaded.compiled_metrics] == ["accuracy", "auc"]
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    original = model.optimizer.state_dict()["state"]
    restored = loaded.optimizer.state_dict()["state"]
    for index, values in original.items():
        for key, tensor in values.items():
            torch.testing.assert_close(restored[index][key], tensor, rtol=0, atol=0)


def test_embedding_and_simple_rnn_models_round_trip(tmp_path):
    rnnkit.set_seed(0)
    model = Sequential([Embedding(20, 4, mask_zero=True), SimpleRNN(5, activation="relu"), Dense(1)])
    ids = np.array([[3, 4, 0], [5, 6, 7]])
    model.predict(ids)  # builds on first call
    model.save(tmp_path / "m.safetensors", include_optimizer=False)
    loaded = rnnkit.load_model(tmp_path / "m.safetensors")
    assert loaded.optimizer is None  # never compiled
    np.testing.assert_array_equal(loaded.predict(ids), model.predict(ids))


def test_the_file_is_plain_safetensors_with_json_metadata(tmp_path):
    from safetensors import safe_open

    model = trained_model()
    model.save(tmp_path / "m.safetensors")
    with safe_open(str(tmp_path / "m.safetensors"), framework="pt") as f:
        meta = f.metadata()
        keys = list(f.keys())
    assert json.loads(meta["model"])["layers"][0]["class_name"] == "Bidirectional"
    assert json.loads(meta["compile"])["loss"] == {"name": "sparse_categorical_crossentropy", "config": {"from_logits": False}}
    assert any(k.startswith("weights/layers.0.layer.core.weight_ih_l0") for k in keys)
    assert any(k.startswith("optimizer/0/exp_avg") for k in keys)


def test_damaged_and_crafted_files_fail_clearly(tmp_path):
    model = trained_model()
    good = tmp_path / "good.safetensors"
    model.save(good)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        rnnkit.load_model(truncated)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x80\x04\x95" + os.urandom(64))  # starts like a pickle
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        rnnkit.load_model(garbage)

    def craft(name, **metadata):
        path = tmp_path / name
        base = {"format": "rnnkit.Sequential", "format_version": "1", "compile": "null", "optimizer_state": "null",
                "training": "{}"}
        save_file({"weights/x": torch.zeros(1)}, str(path), metadata={**base, **metadata})
        return path

    evil = json.dumps({"layers": [{"class_name": "os.system", "config": {"command": "echo hi"}}]})
    with pytest.raises(ValueError, match="unknown layer class 'os.system'"):
        rnnkit.load_model(craft("evil.safetensors", model=evil))
    bad_kwarg = json.dumps({"layers": [{"class_name": "Dense", "config": {"units": 2, "__class__": "x"}}]})
    with pytest.raises(ValueError, match="invalid config for layer Dense"):
        rnnkit.load_model(craft("kwarg.safetensors", model=bad_kwarg))
    mismatch = json.dumps({"layers": [{"class_name": "Dense", "config": {"units": 2}}], "build_input_shape": [3]})
    with pytest.raises(ValueError, match="weights do not match the architecture"):
        rnnkit.load_model(craft("mismatch.safetensors", model=mismatch))
    with pytest.raises(ValueError, match="'model' is not valid JSON"):
        rnnkit.load_model(craft("json.safetensors", model="{not json"))


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path, monkeypatch):
    model = trained_model()
    path = tmp_path / "ckpt.safetensors"
    model.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("rnnkit.saving._format.save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]


def test_resume_from_a_checkpoint_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    x, y = data(n=10)

    def new_model():
        model = Sequential([LSTM(4, dropout=0.2, input_shape=(4, 3)), Dropout(0.3), Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    rnnkit.set_seed(3)
    straight = new_model()
    checkpoint = ModelCheckpoint(tmp_path / "ckpt-{epoch}.safetensors")
    straight.fit(x, y, epochs=4, batch_size=3, callbacks=[checkpoint], verbose=0)

    torch.manual_seed(999)  # the resumed process's global RNG state is unrelated
    resumed = rnnkit.load_model(tmp_path / "ckpt-2.safetensors")
    assert resumed.saved_epoch == 2
    history = resumed.fit(x, y, epochs=4, batch_size=3, initial_epoch=resumed.saved_epoch, verbose=0)
    assert history.epoch == [2, 3]
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=name)


def test_a_crafted_huge_architecture_allocates_nothing(tmp_path):
    path = tmp_path / "huge.safetensors"
    huge = json.dumps({"layers": [{"class_name": "Embedding", "config": {"input_dim": 10**9, "output_dim": 10**6}}],
                       "build_input_shape": [None]})
    meta = {"format": "rnnkit.Sequential", "format_version": "1", "model": huge, "compile": "null",
            "optimizer_state": "null", "training": "{}"}
    save_file({"weights/layers.0.embedding.weight": torch.zeros(2, 2)}, str(path), metadata=meta)
    with pytest.raises(ValueError, match=r"has shape \(2, 2\)"):
        rnnkit.load_model(path)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "adagrad", "adamax"])
def test_every_optimizer_state_round_trips(tmp_path, optimizer):
    rnnkit.set_seed(0)
    model = Sequential([Dense(3, activation="tanh", input_shape=(2,)), Dense(1)])
    if optimizer == "sgd":
        model.compile(optimizer=SGD(learning_rate=0.05, momentum=0.9), loss="huber", metrics=["rmse"])  # a buffer
    else:
        model.compile(optimizer=optimizer, loss="huber", metrics=["rmse"], learning_rate=0.05)
    x = np.random.default_rng(0).normal(size=(8, 2))
    model.fit(x, x.sum(axis=1), epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = rnnkit.load_model(tmp_path / "m.safetensors")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    a, b = model.optimizer.state_dict(), loaded.optimizer.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys() and a["state"]
    for index in a["state"]:
        for key, value in a["state"][index].items():
            torch.testing.assert_close(b["state"][index][key], value, rtol=0, atol=0)
