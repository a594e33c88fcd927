"""``save_model`` / ``load_model``: one safetensors file holding weights, optimizer tensors and, in
its JSON header metadata, the architecture, compile settings and training position.

Nothing in the file is executed: tensors are read by safetensors, everything else by ``json``, and the
model class, layers, losses, metrics and optimizers are looked up by name in registries
(:mod:`rnnkit.saving.registry`, the layer and loss tables). ``torch.load`` and pickle are never used,
and no name in a file can cause an import.

Tensor names: ``weights/<state_dict key>`` and ``optimizer/<param index>/<state key>``.
Metadata (all JSON strings): ``format``, ``format_version``, ``class_name`` (the registered model class),
``model`` (its ``get_config()``), ``input_spec`` (shapes/dtypes of its inputs, for models whose weights
are created on first use), ``compile``, ``optimizer_state``, ``training``. Files of format
``rnnkit.Sequential`` version 1 (before subclassed models existed) load as Sequential.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from rnnkit import losses, metrics, optimizers
from rnnkit.saving._atomic import atomic_write
from rnnkit.saving._optimizer_state import PREFIX as OPTIMIZER_PREFIX
from rnnkit.saving._optimizer_state import join_state, split_state

__all__ = ["save_model", "load_model", "FORMAT", "FORMAT_VERSION"]

FORMAT = "rnnkit.Model"
FORMAT_VERSION = "2"
LEGACY = ("rnnkit.Sequential", "1")
WEIGHTS_PREFIX = "weights/"

_METRIC_CLASSES: dict[str, type[metrics.Metric]] = {
    cls.__name__: cls
    for cls in (metrics.BinaryAccuracy, metrics.CategoricalAccuracy, metrics.SparseCategoricalAccuracy,
                metrics.MeanSquaredError, metrics.MeanAbsoluteError, metrics.RootMeanSquaredError,
                metrics.AUC, metrics.Precision, metrics.Recall)
}


def save_model(model: Any, path: str | os.PathLike, *, include_optimizer: bool = True, epoch: int | None = None) -> Path:
    """Write ``model`` to ``path`` atomically. ``epoch``: epochs completed, recorded for resuming."""
    from rnnkit.saving.registry import registered_name

    if not model.built:
        raise ValueError("save: the model is not built, so it has no weights yet; fit it, or give the first "
                         "layer input_shape=, before saving.")
    class_name = registered_name(type(model))
    if class_name is None:
        raise ValueError(f"save: {type(model).__name__} is not registered, so a file could not name it; decorate "
                         "the class with @rnnkit.saving.register_serializable() (loading looks the name up there).")
    try:
        config = model.get_config()
    except NotImplementedError as error:
        raise ValueError(f"save: {error}") from None
    try:
        config_json = json.dumps(config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"save: {type(model).__name__}.get_config() must return plain JSON values; {error}") from None
    tensors = {WEIGHTS_PREFIX + k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    optimizer_plain = None
    if include_optimizer and model.optimizer is not None and model.optimizer.built:
        optimizer_tensors, optimizer_plain = split_state(model.optimizer.state_dict())
        tensors.update(optimizer_tensors)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class_name": class_name,
        "model": config_json,
        "input_spec": json.dumps(getattr(model, "input_spec", None)),
        "compile": json.dumps(_compile_config(model)),
        "optimizer_state": json.dumps(optimizer_plain),
        "training": json.dumps({"epoch": epoch, "fit_seed": model.fit_seed}),
    }
    return atomic_write(path, lambda temp: save_file(tensors, temp, metadata=metadata))


def load_model(path: str | os.PathLike, *, compile: bool = True, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a model saved by ``model.save`` / ``ModelCheckpoint``; predictions are bit-identical.

    The model's class must be registered (``@rnnkit.saving.register_serializable()``; rnnkit's own are).
    ``custom_objects`` maps names to a user's loss function or model class, for what the registries lack.
    A damaged or foreign file raises ``ValueError``.
    """
    from rnnkit.saving.registry import lookup, unregistered_error

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_model: no file at {str(path)!r}.")
    tensors, metadata = _read(path)
    custom_objects = custom_objects or {}
    try:
        version = (metadata.get("format"), metadata.get("format_version"))
        if version == LEGACY:
            class_name, spec = "rnnkit>Sequential", None
        elif version == (FORMAT, FORMAT_VERSION):
            class_name, spec = metadata.get("class_name"), _json(metadata, "input_spec")
        elif metadata.get("format") in (FORMAT, LEGACY[0]):
            raise ValueError(f"format_version {metadata.get('format_version')!r} is not supported (expected {FORMAT_VERSION})")
        else:
            raise ValueError(f"metadata 'format' is {metadata.get('format')!r}, expected {FORMAT!r}")
        cls = lookup(class_name) or custom_objects.get(str(class_name).split(">")[-1])
        if not isinstance(cls, type):
            raise unregistered_error(class_name)
        config = _json(metadata, "model")
        if not isinstance(config, dict):
            raise ValueError("the 'model' metadata must be an object")
        model = _build(cls, config, spec)
        weights = {k[len(WEIGHTS_PREFIX):]: v for k, v in tensors.items() if k.startswith(WEIGHTS_PREFIX)}
        _check_weights(model, weights)
        if any(p.is_meta for p in model.parameters()):
            model.to_empty(device="cpu")
        model.load_state_dict(weights, strict=True)  # every parameter comes from the file
        training = _json(metadata, "training") or {}
        model.fit_seed = training.get("fit_seed")
        model.saved_epoch = training.get("epoch")
        compile_config = _json(metadata, "compile")
        if compile and compile_config is not None:
            _compile(model, compile_config, custom_objects)
            optimizer_plain = _json(metadata, "optimizer_state")
            if optimizer_plain is not None and model.optimizer is not None:
                state = join_state({k: v for k, v in tensors.items() if k.startswith(OPTIMIZER_PREFIX)}, optimizer_plain)
                model.optimizer.build(model.parameters())
                model.optimizer.load_state_dict(state)
    except (ValueError, TypeError, KeyError, NotImplementedError) as error:
        raise ValueError(f"load_model: {str(path)!r} is not a valid rnnkit model file: {error}") from None
    return model


def _build(cls: type, config: dict[str, Any], spec: Any) -> Any:
    """The architecture without weights. A Sequential is built on the meta device: no memory is allocated
    until the file's tensors are known to fit, so a crafted config (units=10**12) cannot exhaust memory.
    A subclassed model runs once on zeros shaped like ``spec`` to create its lazily-built weights."""
    from rnnkit.models import Sequential

    if issubclass(cls, Sequential):
        with torch.device("meta"):
            return cls.from_config(config)
    model = cls.from_config(config)
    model.build_from_spec(spec)
    return model


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as error:  # safetensors raises its own error types for damaged headers and data
        raise ValueError(
            f"load_model: {str(path)!r} is not a readable safetensors file ({type(error).__name__}: {error}). "
            "The file may be truncated or not written by rnnkit."
        ) from None
    return tensors, metadata


def _json(metadata: dict[str, str], key: str) -> Any:
    if key not in metadata:
        raise ValueError(f"metadata {key!r} is missing")
    try:
        return json.loads(metadata[key])
    except json.JSONDecodeError as error:
        raise ValueError(f"metadata {key!r} is not valid JSON ({error})") from None


def _check_weights(model: Any, weights: dict[str, torch.Tensor]) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise ValueError(f"weights do not match the architecture: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for key, tensor in weights.items():
        if tensor.shape != expected[key].shape or tensor.dtype != expected[key].dtype:
            raise ValueError(
                f"weight {key!r} has shape {tuple(tensor.shape)} / {tensor.dtype}; the architecture needs "
                f"{tuple(expected[key].shape)} / {expected[key].dtype}"
            )


def _compile_config(model: Any) -> dict[str, Any] | None:
    compiled = getattr(model, "compiled_loss", None)
    if model.optimizer is None or compiled is None:
        return None
    optimizer = {"class_name": model.optimizer.name, "config": model.optimizer.get_config()}
    if compiled.keys is None:
        loss = losses.serialize(compiled.single)
        return {"optimizer": optimizer, "loss": loss if loss is not None else {"custom": compiled.single.name},
                "metrics": [_metric_config(m) for m in compiled.metrics[None]]}
    kind = "dict" if isinstance(compiled.keys[0], str) else "tuple"
    per_output = {}
    for key in compiled.keys:
        loss = losses.serialize(compiled.losses[key])
        per_output[str(key)] = {"loss": loss if loss is not None else {"custom": compiled.losses[key].name},
                                "weight": compiled.weights[key],
                                "metrics": [_metric_config(m) for m in compiled.metrics.get(key, [])]}
    return {"optimizer": optimizer, "outputs": {"kind": kind, "per_output": per_output}}


def _metric_config(metric: metrics.Metric) -> Any:
    identifier = getattr(metric, "identifier", None)
    if isinstance(identifier, str):
        return identifier
    config = {"name": getattr(metric, "base_name", metric.name)}
    if hasattr(metric, "threshold"):
        config["threshold"] = metric.threshold
    return {"class_name": type(metric).__name__, "config": config}


def _compile(model: Any, config: dict[str, Any], custom_objects: dict[str, Any]) -> None:
    opt = config.get("optimizer") or {}
    optimizer = optimizers.by_name(opt.get("class_name")).from_config(dict(opt.get("config") or {}))
    outputs = config.get("outputs")
    if outputs is None:
        model.compile(optimizer=optimizer, loss=_loss(config.get("loss") or {}, custom_objects),
                      metrics=[_metric(spec) for spec in config.get("metrics") or []])
        return
    if not isinstance(outputs, dict) or outputs.get("kind") not in ("dict", "tuple") or not isinstance(
            outputs.get("per_output"), dict):
        raise ValueError("the 'compile' metadata's outputs must be {'kind': 'dict'|'tuple', 'per_output': {...}}")
    entries = outputs["per_output"]
    keys = list(entries) if outputs["kind"] == "dict" else sorted(entries, key=int)
    loss = {k: _loss(entries[k].get("loss") or {}, custom_objects) for k in keys}
    metric_lists = {k: [_metric(spec) for spec in entries[k].get("metrics") or []] for k in keys}
    weights = {k: float(entries[k].get("weight", 1.0)) for k in keys}
    if outputs["kind"] == "tuple":
        model.compile(optimizer=optimizer, loss=[loss[k] for k in keys], metrics=[metric_lists[k] for k in keys],
                      loss_weights=[weights[k] for k in keys])
    else:
        model.compile(optimizer=optimizer, loss=loss, metrics=metric_lists, loss_weights=weights)


def _loss(spec: dict[str, Any], custom_objects: dict[str, Any]) -> Any:
    if "custom" in spec:
        name = spec["custom"]
        if name not in custom_objects:
            raise ValueError(f"the model was compiled with the custom loss {name!r}; pass custom_objects={{{name!r}: fn}}")
        return custom_objects[name]
    return losses.get(spec.get("name"), **(spec.get("config") or {}))


def _metric(spec: Any) -> Any:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and spec.get("class_name") in _METRIC_CLASSES:
        return _METRIC_CLASSES[spec["class_name"]](**(spec.get("config") or {}))
    raise ValueError(f"unknown metric {str(spec)[:100]!r}")
