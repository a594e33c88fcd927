"""``load_keras(path)``: a Keras 3 ``.keras`` file → an ``rnnkit.models.Sequential`` with the same predictions.

A ``.keras`` file is a zip of ``config.json`` (the architecture, JSON) and ``model.weights.h5`` (the weights,
HDF5). Both are read with ``zipfile``, ``json`` and ``h5py`` only: neither Keras nor TensorFlow is imported,
and nothing in the file is executed (no pickle, no eval, no custom objects). Each Keras layer becomes the
rnnkit layer of the same name and arguments (``rnnkit.layers``); ``_keras_weights`` moves the weights into
torch's layouts (transposes, GRU gate order z, r, h → r, z, n).

Supported (Keras 3 ``Sequential`` only): ``InputLayer``, ``SimpleRNN``, ``LSTM``, ``GRU`` (reset_after True or False),
``Bidirectional`` (merge_mode concat, sum, mul, ave), ``Dense``, ``Embedding`` (mask_zero), ``Dropout``,
``TimeDistributed``, ``Conv1D``, ``MaxPooling1D``, ``AveragePooling1D``, ``GlobalAveragePooling1D``,
``GlobalMaxPooling1D``. Anything else — another layer class, a functional model, an option whose result
rnnkit cannot reproduce (``stateful``, ``unroll``, ``return_state``, a recurrent
activation other than sigmoid, a non-float32 dtype policy, an activation rnnkit lacks) — is a ValueError
naming the layer, what was expected and what was received. Initialisers, regularisers, constraints,
``trainable`` and seeds do not change predictions and are ignored.

Where predictions can differ from Keras' (on padded batches only, i.e. ``Embedding(mask_zero=True)``):
rnnkit's windowed pooling and ``GlobalMaxPooling1D`` leave padding out, Keras' include it; a
``go_backwards=True`` layer with ``return_sequences=True`` returns its outputs reversed within each length,
Keras' shifted by the padding (see ``rnnkit.layers.recurrent``). Final states agree in both cases.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

from rnnkit import layers as L
from rnnkit.export._keras_weights import WeightReader, check_all_used, keras_group_names, load_layer
from rnnkit.layers.activations import NAMES as ACTIVATIONS
from rnnkit.layers.recurrent import RecurrentLayer
from rnnkit.models import Sequential

__all__ = ["load_keras", "SUPPORTED_LAYERS"]

SUPPORTED_LAYERS = ("InputLayer", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "Dense", "Embedding", "Dropout",
                    "TimeDistributed", "Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D",
                    "GlobalMaxPooling1D")
_MAX_CONFIG_BYTES = 16 * 2**20  # a config.json larger than this is not a model config


def load_keras(path: str | os.PathLike[str]) -> Sequential:
    """Read the Keras 3 ``.keras`` file at ``path`` into an rnnkit ``Sequential`` (built, in eval mode)."""
    source = os.fspath(path)
    if not zipfile.is_zipfile(source):
        raise ValueError(
            f"load_keras: {source!r} is not a Keras 3 .keras file (a zip of config.json and model.weights.h5). A "
            "Keras 2 HDF5 (.h5) or SavedModel cannot be read: load it in Keras 3 and save with model.save('model.keras')."
        )
    with zipfile.ZipFile(source) as archive:
        names = set(archive.namelist())
        for member in ("config.json", "model.weights.h5"):
            if member not in names:
                raise ValueError(f"load_keras: {source!r} has no {member} (found {sorted(names)}); expected a file "
                                 "written by Keras 3's model.save('model.keras').")
        if archive.getinfo("config.json").file_size > _MAX_CONFIG_BYTES:
            raise ValueError(f"load_keras: {source!r}: config.json is over {_MAX_CONFIG_BYTES} bytes; not a model config.")
        try:
            config = json.loads(archive.read("config.json"))
        except ValueError as error:
            raise ValueError(f"load_keras: {source!r}: config.json is not valid JSON ({error}).") from None
        weights = archive.read("model.weights.h5")
    keras_layers, input_shape, model_name = _sequential_spec(config, source)
    model = Sequential([_layer(spec) for spec in keras_layers], name=model_name)
    model.build(input_shape)

    try:
        import h5py  # only needed here: an optional dependency of rnnkit
    except ImportError:
        raise ImportError("load_keras needs h5py to read model.weights.h5; install it with pip install h5py.") from None

    with h5py.File(io.BytesIO(weights), "r") as h5:
        reader = WeightReader(h5, f"{source}:model.weights.h5")
        groups = keras_group_names([spec["class_name"] for spec in keras_layers])
        for spec, group, layer in zip(keras_layers, groups, model.layers):
            load_layer(reader, spec["class_name"], f"layers/{group}", layer, _owner(spec))
        check_all_used(reader)
    model.eval()
    return model


def _sequential_spec(config: Any, source: str) -> tuple[list[dict[str, Any]], tuple, str | None]:
    """The non-input layer specs, the input shape without the batch axis, and the model's name."""
    class_name = config.get("class_name") if isinstance(config, dict) else None
    if class_name != "Sequential":
        raise ValueError(
            f"load_keras: {source!r} holds a Keras {class_name!r} model; only Sequential models can be imported. "
            "Rebuild it as keras.Sequential([...]) (or rebuild it in rnnkit and copy the weights)."
        )
    body = config.get("config")
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise ValueError(f"load_keras: {source!r}: config.json must hold config.layers, a list; got {str(body)[:200]}.")
    specs = body["layers"]
    for spec in specs:
        if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str) or \
                not isinstance(spec.get("config"), dict):
            raise ValueError(f"load_keras: {source!r}: each layer must be {{'class_name': str, 'config': dict}}; "
                             f"got {str(spec)[:200]}.")
    input_shape = None
    if specs and specs[0]["class_name"] == "InputLayer":
        batch_shape = specs[0]["config"].get("batch_shape")
        input_shape = batch_shape[1:] if isinstance(batch_shape, list) else None
        specs = specs[1:]
    if input_shape is None:
        build = config.get("build_config") or body.get("build_config") or {}
        shape = build.get("input_shape") if isinstance(build, dict) else None
        input_shape = shape[1:] if isinstance(shape, list) else None
    if input_shape is None:
        raise ValueError(f"load_keras: {source!r}: the model has no input shape (no InputLayer, no build_config); "
                         "build it in Keras (keras.Input((T, I)) first) and save it again.")
    if not specs:
        raise ValueError(f"load_keras: {source!r}: the Sequential model has no layers.")
    name = body.get("name")
    return specs, tuple(input_shape), name if isinstance(name, str) else None


def _owner(spec: dict[str, Any]) -> str:
    return f"{spec['class_name']} {spec['config'].get('name')!r}"


def _require(spec: dict[str, Any], key: str, allowed: tuple, fix: str, default: Any = None) -> Any:
    """The option ``key``, which must be one of ``allowed`` (the values rnnkit reproduces)."""
    value = spec["config"].get(key, default)
    if value not in allowed:
        raise ValueError(f"load_keras: {_owner(spec)}: {key} must be one of {list(allowed)} to be imported; got "
                         f"{value!r}. {fix}")
    return value


def _activation(spec: dict[str, Any], key: str = "activation", allowed: tuple = ACTIVATIONS) -> str:
    return _require(spec, key, allowed, "Retrain with a supported activation, or use a Keras one rnnkit has.",
                    default="linear")


def _check_common(spec: dict[str, Any]) -> None:
    if spec["class_name"] not in SUPPORTED_LAYERS:
        raise ValueError(f"load_keras: {_owner(spec)}: layer class {spec['class_name']!r} is not supported; expected "
                         f"one of {list(SUPPORTED_LAYERS)}. Replace the layer in Keras, or build the model in rnnkit.")
    dtype = spec["config"].get("dtype")
    policy = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
    if policy not in (None, "float32"):
        raise ValueError(f"load_keras: {_owner(spec)}: the dtype policy must be 'float32'; got {policy!r}. Set "
                         "keras.config.set_dtype_policy('float32'), rebuild, copy the weights and save again.")
    for key in ("lora_rank", "quantization_config"):
        if spec["config"].get(key) is not None:
            raise ValueError(f"load_keras: {_owner(spec)}: {key} must be None (plain float weights); got "
                             f"{spec['config'][key]!r}. Merge or dequantize the weights in Keras and save again.")
    if "data_format" in spec["config"]:
        _require(spec, "data_format", ("channels_last",), "Transpose the input in Keras and use channels_last.")


def _layer(spec: dict[str, Any]) -> L.Layer:
    """The rnnkit layer for one Keras layer spec (unbuilt; the model builds it)."""
    try:
        return _make_layer(spec)
    except KeyError as error:
        raise ValueError(f"load_keras: {_owner(spec)}: the layer's config has no {error}; expected a config written by "
                         "Keras 3's model.save('model.keras').") from None
    except TypeError as error:  # a value of the wrong type, refused by the rnnkit layer
        raise ValueError(f"load_keras: {_owner(spec)}: {error}") from None


def _make_layer(spec: dict[str, Any]) -> L.Layer:
    _check_common(spec)
    kind, c = spec["class_name"], spec["config"]
    name = c.get("name") if isinstance(c.get("name"), str) and c.get("name") else None
    if kind in ("SimpleRNN", "LSTM", "GRU"):
        return _recurrent(spec, name)
    if kind == "Bidirectional":
        return _bidirectional(spec, name)
    if kind == "TimeDistributed":
        inner = c.get("layer")
        if not isinstance(inner, dict) or not isinstance(inner.get("config"), dict):
            raise ValueError(f"load_keras: {_owner(spec)}: config.layer must be a layer spec; got {str(inner)[:200]}.")
        return L.TimeDistributed(_layer(inner), name=name)
    if kind == "Dense":
        return L.Dense(c["units"], _activation(spec), use_bias=c.get("use_bias", True), name=name)
    if kind == "Embedding":
        return L.Embedding(c["input_dim"], c["output_dim"], mask_zero=c.get("mask_zero", False), name=name)
    if kind == "Dropout":
        return L.Dropout(c["rate"], name=name)
    if kind == "Conv1D":
        return L.Conv1D(c["filters"], c["kernel_size"], c.get("strides", 1), c.get("padding", "valid"),
                        dilation_rate=c.get("dilation_rate", 1), groups=c.get("groups", 1),
                        activation=_activation(spec), use_bias=c.get("use_bias", True), name=name)
    if kind in ("MaxPooling1D", "AveragePooling1D"):
        cls = L.MaxPooling1D if kind == "MaxPooling1D" else L.AveragePooling1D
        return cls(c.get("pool_size", 2), c.get("strides"), c.get("padding", "valid"), name=name)
    if kind in ("GlobalMaxPooling1D", "GlobalAveragePooling1D"):
        cls = L.GlobalMaxPooling1D if kind == "GlobalMaxPooling1D" else L.GlobalAveragePooling1D
        return cls(keepdims=c.get("keepdims", False), name=name)
    raise ValueError(f"load_keras: {_owner(spec)}: an InputLayer (or a layer of this kind) may only come first in a "
                     "Sequential model; rebuild the model with one keras.Input at the start.")


def _recurrent(spec: dict[str, Any], name: str | None) -> RecurrentLayer:
    kind, c = spec["class_name"], spec["config"]
    _require(spec, "stateful", (False,), "Save a stateless copy (stateful=False) with the same weights.", False)
    _require(spec, "unroll", (False,), "Save with unroll=False (the same weights; rnnkit never unrolls).", False)
    _require(spec, "return_state", (False,), "A Sequential passes one tensor on; save with return_state=False.",
             False)
    if kind == "GRU":
        _require(spec, "reset_after", (True, False), "Save the model with reset_after=True or False.", True)
    if kind == "SimpleRNN":
        activation = _activation(spec, allowed=("tanh", "relu"))
    else:
        activation = _activation(spec, allowed=("tanh",))
        _require(spec, "recurrent_activation", ("sigmoid",), "rnnkit's LSTM and GRU gates are sigmoids; retrain with "
                 "recurrent_activation='sigmoid'.", "sigmoid")
    cls = {"SimpleRNN": L.SimpleRNN, "LSTM": L.LSTM, "GRU": L.GRU}[kind]
    options: dict[str, Any] = {
        "use_bias": c.get("use_bias", True), "return_sequences": c.get("return_sequences", False),
        "go_backwards": c.get("go_backwards", False), "dropout": c.get("dropout", 0.0),
        "recurrent_dropout": c.get("recurrent_dropout", 0.0), "name": name,
    }
    if kind == "GRU":
        options["reset_after"] = c.get("reset_after", True)
    try:
        return cls(c["units"], activation, **options)
    except (TypeError, ValueError) as error:
        raise ValueError(f"load_keras: {_owner(spec)}: {error}") from None


def _bidirectional(spec: dict[str, Any], name: str | None) -> L.Bidirectional:
    c = spec["config"]
    merge_mode = _require(spec, "merge_mode", ("concat", "sum", "mul", "ave"),
                          "A Sequential passes one tensor on; use merge_mode='concat' (or sum, mul, ave).", "concat")
    forward, backward = c.get("layer"), c.get("backward_layer")
    if not isinstance(forward, dict) or not isinstance(forward.get("config"), dict):
        raise ValueError(f"load_keras: {_owner(spec)}: config.layer must be a layer spec; got {str(forward)[:200]}.")
    if forward["class_name"] not in ("SimpleRNN", "LSTM", "GRU"):
        raise ValueError(f"load_keras: {_owner(spec)}: the wrapped layer must be SimpleRNN, LSTM or GRU; got "
                         f"{forward['class_name']!r}.")
    _check_common(forward)
    if forward["config"].get("go_backwards", False):
        raise ValueError(f"load_keras: {_owner(spec)}: the wrapped layer must have go_backwards=False; got True.")
    if isinstance(backward, dict):
        ignored = {"name", "go_backwards", "seed", "dtype"}  # dtype: checked above; ids differ
        differ = sorted(k for k in set(forward["config"]) | set(backward.get("config", {}))
                        if k not in ignored and "initializer" not in k
                        and forward["config"].get(k) != backward.get("config", {}).get(k))
        if backward.get("class_name") != forward["class_name"] or differ:
            raise ValueError(
                f"load_keras: {_owner(spec)}: backward_layer must be the forward layer's twin (same class and options, "
                f"go_backwards=True); it differs in {differ or ['class_name']}. rnnkit's Bidirectional runs one layer "
                "both ways; use Bidirectional(layer) without a custom backward_layer."
            )
    return L.Bidirectional(_recurrent(forward, forward["config"].get("name")), merge_mode=merge_mode, name=name)
