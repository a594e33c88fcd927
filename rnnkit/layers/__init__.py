"""Keras-style layers: ``SimpleRNN``, ``LSTM``, ``GRU`` (around ``rnnkit.nn``), ``Bidirectional``,
``Dense``, ``Embedding``, ``Dropout``; and the registry that rebuilds them from saved JSON."""

from __future__ import annotations

from typing import Any

from rnnkit.layers._base import Layer
from rnnkit.layers.core import Dense, Dropout, Embedding
from rnnkit.layers.recurrent import GRU, LSTM, SimpleRNN
from rnnkit.layers.wrappers import Bidirectional

__all__ = ["Layer", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "Dense", "Embedding", "Dropout", "serialize", "deserialize"]

#: the only classes a saved model may name; loading never imports anything else
REGISTRY: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (SimpleRNN, LSTM, GRU, Bidirectional, Dense, Embedding, Dropout)
}


def serialize(layer: Layer) -> dict[str, Any]:
    name = type(layer).__name__
    if REGISTRY.get(name) is not type(layer):
        raise TypeError(f"cannot save layer {name}: only {sorted(REGISTRY)} can be saved.")
    return {"class_name": name, "config": layer.get_config()}


def deserialize(spec: Any) -> Layer:
    """Rebuild a layer from ``{"class_name": ..., "config": {...}}``; unknown names or keys are errors."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str) or not isinstance(spec.get("config"), dict):
        raise ValueError(f"layer spec must be {{'class_name': str, 'config': dict}}; got {str(spec)[:200]}.")
    cls = REGISTRY.get(spec["class_name"])
    if cls is None:
        raise ValueError(f"unknown layer class {spec['class_name']!r}; expected one of {sorted(REGISTRY)}.")
    config = dict(spec["config"])
    if isinstance(config.get("input_shape"), list):
        config["input_shape"] = tuple(config["input_shape"])
    try:
        return cls.from_config(config)
    except TypeError as error:
        raise ValueError(f"invalid config for layer {spec['class_name']}: {error}") from None
