"""``rnnkit.export.load_keras``: Keras 3 ``.keras`` files give Keras' own predictions; bad files give clear errors.

The fixtures (``fixtures/NAME.keras`` + ``NAME.npz`` holding ``x`` and Keras' ``model.predict(x)`` as ``y``) are
made by ``KERAS_BACKEND=torch python bench/make_keras_fixtures.py``; this test needs neither Keras nor TensorFlow.

The bound 1e-5 (absolute, float32): both sides compute the same float32 operations in different orders, each
rounding with unit roundoff u = 2^-24 ≈ 6e-8. The longest dependency chain in the fixtures is about a hundred
operations (up to four stacked recurrent layers × T = 6 steps × a dot product of ≤ 13 terms and a gate), with
|values| ≤ 5. Rounding errors of independent operations add like a random walk, ≈ √100 · u · 5 ≈ 3e-6, and
the gates damp them (|tanh'| ≤ 1, |σ'| ≤ 1/4), so 1e-5 holds with margin (measured: ≤ 2e-7); a wrong
transpose, gate order or bias is off by ≥ 1e-2.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from rnnkit.export import load_keras
from rnnkit.models import Sequential

torch.set_num_threads(1)

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.npz"))
TOLERANCE = 1e-5  # see the module docstring


def test_every_fixture_has_its_keras_file():
    assert len(NAMES) >= 8
    assert all((FIXTURES / f"{name}.keras").is_file() for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_predictions_equal_keras(name):
    data = np.load(FIXTURES / f"{name}.npz")
    model = load_keras(FIXTURES / f"{name}.keras")
    assert isinstance(model, Sequential)
    y = model.predict(data["x"])
    assert y.shape == data["y"].shape
    np.testing.assert_allclose(y, data["y"], rtol=0, atol=TOLERANCE)


def test_layer_names_and_padding_mask_are_imported():
    model = load_keras(FIXTURES / "embedding_masked_lstm.keras")
    assert [layer.name for layer in model.layers] == ["embedding", "lstm_1", "dense_3"]
    data = np.load(FIXTURES / "embedding_masked_lstm.npz")
    model.layers[0].mask_zero = False          # read the padding as tokens: the prediction must change
    assert np.abs(model.predict(data["x"]) - data["y"]).max() > 1e-3


def test_gru_reset_after_false_is_the_reset_before_cell():
    """Keras' reset_after=False imports as rnnkit.nn.GRUResetBefore (its predictions: test_predictions_equal_keras);
    read as the reset-after cell on the same weights, the predictions would differ."""
    import rnnkit.nn as rn

    model = load_keras(FIXTURES / "gru_reset_before.keras")
    core = model.layers[0].core
    assert type(core) is rn.GRUResetBefore and model.layers[0].get_config()["reset_after"] is False
    data = np.load(FIXTURES / "gru_reset_before.npz")
    after = rn.GRU(core.input_size, core.hidden_size, batch_first=True)
    after.load_state_dict(core.state_dict())
    model.layers[0].core = after
    assert np.abs(model.predict(data["x"]) - data["y"]).max() > 1e-3


# --- bad files: a fixture with its config.json edited ------------------------------------------------

def _edited(tmp_path, name, edit, *, drop=()):
    """A copy of fixture ``name`` whose config.json went through ``edit(config)``; members in ``drop`` left out."""
    source, target = FIXTURES / f"{name}.keras", tmp_path / f"{name}.keras"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for member in src.namelist():
            if member in drop:
                continue
            data = src.read(member)
            if member == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            dst.writestr(member, data)
    return target


def _layer(config, class_name):
    return next(spec for spec in config["config"]["layers"] if spec["class_name"] == class_name)["config"]


def test_not_a_zip(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"\x89HDF\r\n\x1a\n not a zip")
    with pytest.raises(ValueError, match=r"is not a Keras 3 \.keras file.*model\.save\('model\.keras'\)"):
        load_keras(path)


def test_missing_config(tmp_path):
    path = _edited(tmp_path, "lstm_dense", lambda c: None, drop=("config.json",))
    with pytest.raises(ValueError, match=r"has no config\.json"):
        load_keras(path)


def test_functional_model_is_refused(tmp_path):
    path = _edited(tmp_path, "lstm_dense", lambda c: c.update(class_name="Functional"))
    with pytest.raises(ValueError, match=r"'Functional' model; only Sequential.*keras\.Sequential"):
        load_keras(path)


def test_unsupported_layer_class(tmp_path):
    path = _edited(tmp_path, "lstm_dense", lambda c: c["config"]["layers"][2].update(class_name="Conv2D"))
    with pytest.raises(ValueError, match=r"Conv2D 'dense\w*'.*layer class 'Conv2D' is not supported; expected one of"):
        load_keras(path)


@pytest.mark.parametrize("key,value,message", [
    ("stateful", True, r"LSTM 'lstm': stateful must be one of \[False\].*got True"),
    ("unroll", True, r"LSTM 'lstm': unroll must be one of \[False\]"),
    ("recurrent_activation", "hard_sigmoid", r"recurrent_activation must be one of \['sigmoid'\].*'hard_sigmoid'"),
    ("activation", "relu", r"LSTM 'lstm': activation must be one of \['tanh'\].*got 'relu'"),
])
def test_unsupported_recurrent_options(tmp_path, key, value, message):
    path = _edited(tmp_path, "lstm_dense", lambda c: _layer(c, "LSTM").update({key: value}))
    with pytest.raises(ValueError, match=message):
        load_keras(path)


def test_activation_rnnkit_lacks(tmp_path):
    path = _edited(tmp_path, "lstm_dense", lambda c: _layer(c, "Dense").update(activation="hard_silu"))
    with pytest.raises(ValueError, match=r"Dense 'dense\w*': activation must be one of \[.*\].*got 'hard_silu'"):
        load_keras(path)


def test_input_layer_after_the_first_layer(tmp_path):
    path = _edited(tmp_path, "lstm_dense", lambda c: c["config"]["layers"].insert(2, c["config"]["layers"][0]))
    with pytest.raises(ValueError, match=r"InputLayer 'input_layer\w*'.*may only come first"):
        load_keras(path)


def test_missing_config_key(tmp_path):
    path = _edited(tmp_path, "lstm_dense", lambda c: _layer(c, "Dense").pop("units"))
    with pytest.raises(ValueError, match=r"Dense 'dense\w*': the layer's config has no 'units'"):
        load_keras(path)


def test_bidirectional_merge_mode_none(tmp_path):
    path = _edited(tmp_path, "bidirectional_merges", lambda c: _layer(c, "Bidirectional").update(merge_mode=None))
    with pytest.raises(ValueError, match=r"merge_mode must be one of \['concat', 'sum', 'mul', 'ave'\].*got None"):
        load_keras(path)


def test_weight_shape_mismatch(tmp_path):
    path = _edited(tmp_path, "lstm_dense", lambda c: _layer(c, "Dense").update(units=3))   # the file holds 2
    with pytest.raises(ValueError, match=r"Dense 'dense\w*': weight 'layers/dense/vars/0' \(kernel \(I, units\)\).* "
                                         r"must have shape \(4, 3\).*got \(4, 2\).*re-save"):
        load_keras(path)


def test_missing_weight(tmp_path):
    def add_second_gru(config):
        layers = config["config"]["layers"]
        layers.insert(2, json.loads(json.dumps(layers[1])))
        layers[2]["config"]["name"] = "gru_again"     # its weights would be layers/gru_1, absent from the file
    path = _edited(tmp_path, "gru_sequences_time_distributed", add_second_gru)
    with pytest.raises(ValueError, match=r"has no weight 'layers/gru_1/cell/vars/0'"):
        load_keras(path)


def test_load_keras_imports_neither_keras_nor_tensorflow():
    code = (
        "import sys, numpy as np, torch; torch.set_num_threads(1)\n"
        "from rnnkit.export import load_keras\n"
        f"model = load_keras({str(FIXTURES / 'bidirectional_merges.keras')!r})\n"
        f"model.predict(np.load({str(FIXTURES / 'bidirectional_merges.npz')!r})['x'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'tf_keras'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
