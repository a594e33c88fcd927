"""Keras-style layers, by Keras' names, and the registry that rebuilds them from saved JSON.

Recurrent (around ``rnnkit.nn``): ``SimpleRNN``, ``LSTM``, ``GRU``, ``LayerNormLSTM``, ``LayerNormGRU``;
wrappers ``Bidirectional``, ``TimeDistributed``; core ``Dense``, ``Embedding``, ``Dropout``; ``Conv1D``;
pooling ``MaxPooling1D``, ``AveragePooling1D``, ``GlobalMaxPooling1D``, ``GlobalAveragePooling1D``,
``GlobalConcatPooling1D``; images (channels last; ``TimeDistributed`` runs them per video frame) ``Conv2D``,
``MaxPooling2D``, ``AveragePooling2D``, ``GlobalMaxPooling2D``, ``GlobalAveragePooling2D``; video recurrences
(around ``rnnkit.nn``'s) ``ConvLSTM2D``, ``ConvGRU2D``;
``Masking``, ``LayerNormalization``, ``Flatten``, ``Reshape``. Several inputs (for subclassed models,
not ``Sequential``): ``Concatenate``, ``Attention``, ``AdditiveAttention``, ``MultiHeadAttention``.
Text: ``TextVectorization`` (raw strings → ids or a bag of tokens, Keras' layer; or around an
``rnnkit.data.text`` tokenizer), whose config carries its vocabulary.

Padded batches travel as ``lengths`` (B,) between layers (``Layer.propagate``); a layer called directly
takes ``lengths=`` or a prefix ``mask=`` (B, T). See each module's docstring for its equations.
"""

from __future__ import annotations

from typing import Any

from rnnkit.layers._base import Layer
from rnnkit.layers._multi_input import MultiInputLayer
from rnnkit.layers.attention import AdditiveAttention, Attention
from rnnkit.layers.conv import Conv1D
from rnnkit.layers.conv2d import Conv2D
from rnnkit.layers.conv_recurrent import ConvGRU2D, ConvLSTM2D
from rnnkit.layers.core import Dense, Dropout, Embedding
from rnnkit.layers.masking import Masking
from rnnkit.layers.merging import Concatenate
from rnnkit.layers.multi_head_attention import MultiHeadAttention
from rnnkit.layers.normalization import LayerNormalization
from rnnkit.layers.pooling import (AveragePooling1D, GlobalAveragePooling1D, GlobalConcatPooling1D, GlobalMaxPooling1D,
                                   MaxPooling1D)
from rnnkit.layers.pooling2d import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D
from rnnkit.layers.recurrent import GRU, LSTM, LayerNormGRU, LayerNormLSTM, SimpleRNN
from rnnkit.layers.reshaping import Flatten, Reshape
from rnnkit.layers.text_vectorization import TextVectorization
from rnnkit.layers.time_distributed import TimeDistributed
from rnnkit.layers.wrappers import Bidirectional

_CLASSES = (
    SimpleRNN, LSTM, GRU, LayerNormLSTM, LayerNormGRU, Bidirectional, TimeDistributed,
    Dense, Embedding, Dropout, Conv1D, MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D,
    GlobalConcatPooling1D, Masking, LayerNormalization, Flatten, Reshape, Concatenate, Attention, AdditiveAttention,
    MultiHeadAttention, TextVectorization,
    Conv2D, MaxPooling2D, AveragePooling2D, GlobalMaxPooling2D, GlobalAveragePooling2D, ConvLSTM2D, ConvGRU2D,
)

__all__ = [
    "Layer", "MultiInputLayer",
    "SimpleRNN", "LSTM", "GRU", "LayerNormLSTM", "LayerNormGRU", "Bidirectional", "TimeDistributed",
    "Dense", "Embedding", "Dropout", "Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
    "GlobalAveragePooling1D", "GlobalConcatPooling1D", "Masking", "LayerNormalization", "Flatten", "Reshape",
    "Concatenate", "Attention", "AdditiveAttention", "MultiHeadAttention", "TextVectorization",
    "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D",
    "ConvLSTM2D", "ConvGRU2D",
    "serialize", "deserialize",
]

#: the only classes a saved model may name; loading never imports anything else
REGISTRY: dict[str, type[Layer]] = {cls.__name__: cls for cls in _CLASSES}


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
