"""``save_model`` / ``load_model``: one safetensors file holding weights, optimizer tensors and, in
its JSON header metadata, the architecture, compile settings and training position.

Nothing in the file is executed: tensors are read by safetensors, everything else by ``json``, and
layers, losses, metrics and optimizers are looked up by name in fixed registries. ``torch.load``
and pickle are never used.

Tensor names: ``weights/<state_dict key>`` and ``optimizer/<param index>/<state key>``.
Metadata (all JSON strings): ``format``, ``format_version``, ``model``, ``compile``,
``optimizer_state``, ``training``.
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

FORMAT = "rnnkit.Sequential"
FORMAT_VERSION = "1"
WEIGHTS_PREFIX = "weights/"

_METRIC_CLASSES: dict[str, type[metrics.Metric]] = {
    cls.__name__: cls
    for cls in (metrics.BinaryAccuracy, metrics.CategoricalAccuracy, metrics.SparseCategoricalAccuracy,
                metrics.MeanSquaredError, metrics.MeanAbsoluteError, metrics.RootMeanSquaredError,
                metrics.AUC, metrics.Precision, metrics.Recall)
}


def save_model(model: Any, path: str | os.PathLike, *, include_optimizer: bool = True, epoch: int | None = None) -> Path:
    """Write ``model`` to ``path`` atomically. ``epoch``: epochs completed, recorded for resuming."""
    if not model.built:
        raise ValueError("save: the model is not built, so it has no weights yet; fit it, or give the first "
                         "layer input_shape=, before saving.")
    tensors = {WEIGHTS_PREFIX + k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    optimizer_plain = None
    if include_optimizer and model.optimizer is not None and model.optimizer.built:
        optimizer_tensors, optimizer_plain = split_state(model.optimizer.state_dict())
        tensors.update(optimizer_tensors)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": json.dumps(model.get_config()),
        "compile": json.dumps(_compile_config(model)),
        "optimizer_state": json.dumps(optimizer_plain),
        "training": json.dumps({"epoch": epoch, "fit_seed": model.fit_seed}),
    }
    return atomic_write(path, lambda temp: save_file(tensors, temp, metadata=metadata))


def load_model(path: str | os.PathLike, *, compile: bool = True, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a model saved by ``model.save`` / ``ModelCheckpoint``; predictions are bit-identical.

    ``custom_objects`` maps the name of a user-defined loss function to the function, for models
    compiled with one (only built-in losses are stored by name). A damaged or foreign file raises
    ``ValueError``.
    """
    from rnnkit.layers import deserialize
    from rnnkit.models import Sequential

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_model: no file at {str(path)!r}.")
    tensors, metadata = _read(path)
    try:
        if metadata.get("format") != FORMAT:
            raise ValueError(f"metadata 'format' is {metadata.get('format')!r}, expected {FORMAT!r}")
        if metadata.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format_version {metadata.get('format_version')!r} is not supported (expected {FORMAT_VERSION})")
        config = _json(metadata, "model")
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("the 'model' metadata must be an object with a 'layers' list")
        name = config.get("name")
        # Build on the meta device: no memory is allocated until the file's tensors are known to fit
        # the architecture, so a crafted config (units=10**12) cannot exhaust memory.
        with torch.device("meta"):
            model = Sequential([deserialize(spec) for spec in config["layers"]], name=name if isinstance(name, str) else None)
            if config.get("build_input_shape") is not None:
                model.build(tuple(config["build_input_shape"]))
        weights = {k[len(WEIGHTS_PREFIX):]: v for k, v in tensors.items() if k.startswith(WEIGHTS_PREFIX)}
        _check_weights(model, weights)
        model.to_empty(device="cpu")
        model.load_state_dict(weights, strict=True)  # every parameter comes from the file
        training = _json(metadata, "training") or {}
        model.fit_seed = training.get("fit_seed")
        model.saved_epoch = training.get("epoch")
        compile_config = _json(metadata, "compile")
        if compile and compile_config is not None:
            _compile(model, compile_config, custom_objects or {})
            optimizer_plain = _json(metadata, "optimizer_state")
            if optimizer_plain is not None and model.optimizer is not None:
                state = join_state({k: v for k, v in tensors.items() if k.startswith(OPTIMIZER_PREFIX)}, optimizer_plain)
                model.optimizer.build(model.parameters())
                model.optimizer.load_state_dict(state)
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"load_model: {str(path)!r} is not a valid rnnkit model file: {error}") from None
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
    if model.optimizer is None or model.loss is None:
        return None
    loss = losses.serialize(model.loss)
    return {
        "optimizer": {"class_name": model.optimizer.name, "config": model.optimizer.get_config()},
        "loss": loss if loss is not None else {"custom": model.loss.name},
        "metrics": [_metric_config(m, ident) for m, ident in zip(model.compiled_metrics, model.metric_identifiers)],
    }


def _metric_config(metric: metrics.Metric, identifier: Any) -> Any:
    if isinstance(identifier, str):
        return identifier
    config = {"name": metric.name}
    if hasattr(metric, "threshold"):
        config["threshold"] = metric.threshold
    return {"class_name": type(metric).__name__, "config": config}


def _compile(model: Any, config: dict[str, Any], custom_objects: dict[str, Any]) -> None:
    opt = config.get("optimizer") or {}
    optimizer = optimizers.by_name(opt.get("class_name")).from_config(dict(opt.get("config") or {}))
    loss_spec = config.get("loss") or {}
    if "custom" in loss_spec:
        name = loss_spec["custom"]
        if name not in custom_objects:
            raise ValueError(f"the model was compiled with the custom loss {name!r}; pass custom_objects={{{name!r}: fn}}")
        loss = custom_objects[name]
    else:
        loss = losses.get(loss_spec.get("name"), **(loss_spec.get("config") or {}))
    metric_list = []
    for spec in config.get("metrics") or []:
        if isinstance(spec, str):
            metric_list.append(spec)
        elif isinstance(spec, dict) and spec.get("class_name") in _METRIC_CLASSES:
            metric_list.append(_METRIC_CLASSES[spec["class_name"]](**(spec.get("config") or {})))
        else:
            raise ValueError(f"unknown metric {str(spec)[:100]!r}")
    model.compile(optimizer=optimizer, loss=loss, metrics=metric_list)
