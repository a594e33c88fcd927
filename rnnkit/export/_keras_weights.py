r"""Keras 3 weights (``model.weights.h5`` of a ``.keras`` file) → the parameters of rnnkit's layers.

Where Keras 3 keeps each layer's weights (``saving_lib``): the model's layers, in order and without the
``InputLayer``, are groups ``layers/<name>`` where ``<name>`` is the snake-case class name, ``_1``, ``_2``, ...
for repeats (``conv1d``, ``conv1d_1``; *not* the layer's configured name). Inside a layer group, its own
variables are ``vars/0, vars/1, ...``; a recurrent layer's are its cell's, ``cell/vars/...``;
``Bidirectional`` holds ``forward_layer/`` and ``backward_layer/``, ``TimeDistributed`` holds ``layer/``.

Layouts, Keras → rnnkit (torch), with I inputs, H units, O outputs, k kernel width:

    Dense      kernel (I, O), bias (O,)          →  linear.weight = kernel^T (O, I), linear.bias = bias
    Embedding  embeddings (V, E)                 →  embedding.weight (V, E) as is
    Conv1D     kernel (k, I/g, O), bias (O,)     →  weight = kernel.permute(2, 1, 0) (O, I/g, k), bias
    SimpleRNN  kernel (I, H), recurrent (H, H), bias (H,)
    LSTM       kernel (I, 4H), recurrent (H, 4H), bias (4H,); gate blocks i, f, c, o = torch's i, f, g, o
               →  weight_ih_l0 = kernel^T (G, I), weight_hh_l0 = recurrent^T (G, H), bias_ih_l0 = bias,
                  bias_hh_l0 = 0 (Keras has one bias; torch adds b_ih + b_hh, so the sum is Keras' bias)
    GRU (reset_after=True)  kernel (I, 3H), recurrent (H, 3H), bias (2, 3H); gate blocks z, r, h
    GRU (reset_after=False) the same, bias (3H,) on the input side
               →  blocks reordered to torch's r, z, n, then transposed; bias_ih_l0 = bias[0] (input),
                  bias_hh_l0 = bias[1] (recurrent, the one inside r ⊙ (W_hn h + b_hn))

Both gate conventions agree once reordered: Keras ``h_t = z h_{t-1} + (1 - z) h̃`` is torch's
``h_t = (1 - z) n + z h_{t-1}`` with n = h̃. A ``Bidirectional``'s backward layer fills the ``_reverse``
parameters of the same core. Every dataset under ``layers/`` must be used exactly once and match the shape
the config implies; anything else is a ValueError naming the layer, the path, expected and received.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["keras_group_names", "load_layer", "check_all_used"]

#: rnnkit's core gate blocks in Keras' GRU order (z, r, h): torch block j is Keras block _GRU_ORDER[j]
_GRU_ORDER = (1, 0, 2)  # torch r ← Keras r (1), torch z ← Keras z (0), torch n ← Keras h (2)


def keras_group_names(class_names: list[str]) -> list[str]:
    """Keras 3's h5 group of each layer: snake-case class name, with ``_1``, ``_2`` ... for repeats."""
    used: dict[str, int] = {}
    names = []
    for class_name in class_names:
        base = _snake_case(class_name)
        if base in used:
            used[base] += 1
            names.append(f"{base}_{used[base]}")
        else:
            used[base] = 0
            names.append(base)
    return names


def _snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case``: ``SimpleRNN`` → ``simple_rnn``, ``Conv1D`` → ``conv1d``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class WeightReader:
    """The datasets of one ``model.weights.h5``; records which were used (``check_all_used``)."""

    def __init__(self, h5: Any, source: str) -> None:
        self.h5 = h5
        self.source = source
        self.used: set[str] = set()

    def array(self, owner: str, path: str, expected: tuple[int, ...], what: str) -> np.ndarray:
        if path not in self.h5 or not hasattr(self.h5[path], "shape"):
            raise ValueError(
                f"{owner}: {self.source} has no weight {path!r} ({what}, expected shape {expected}). The config and "
                "model.weights.h5 disagree; re-save the model in Keras 3 with model.save('model.keras')."
            )
        dataset = self.h5[path]
        if dataset.dtype.kind not in "fiu":
            raise ValueError(f"{owner}: weight {path!r} in {self.source} must be numeric; got dtype {dataset.dtype}.")
        if tuple(dataset.shape) != tuple(expected):
            raise ValueError(
                f"{owner}: weight {path!r} ({what}) in {self.source} must have shape {tuple(expected)} for the layer's "
                f"config; got {tuple(dataset.shape)}. The config and model.weights.h5 disagree; re-save the model in "
                "Keras 3 with model.save('model.keras')."
            )
        self.used.add(path)
        return np.asarray(dataset[()], dtype=np.float32)


def check_all_used(reader: WeightReader) -> None:
    """Every dataset under ``layers/`` must have gone into a parameter (else the file holds weights we ignored)."""
    found: list[str] = []
    if "layers" in reader.h5:
        reader.h5["layers"].visititems(lambda name, obj: found.append(f"layers/{name}") if hasattr(obj, "shape") else None)
    unused = sorted(set(found) - reader.used)
    if unused:
        raise ValueError(
            f"{reader.source}: weights {unused[:5]} belong to no supported parameter of the config's layers (expected "
            "only the weights of Dense, Embedding, Conv1D and the recurrent cells). The file may use a Keras "
            "feature rnnkit does not import (e.g. LoRA or quantized weights); save it without that feature."
        )


def _copy(param: nn.Parameter, value: np.ndarray) -> None:
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(value)).to(param.dtype))


def _dense(reader: WeightReader, owner: str, group: str, layer: Any) -> None:
    O, I = layer.linear.weight.shape
    _copy(layer.linear.weight, reader.array(owner, f"{group}/vars/0", (I, O), "kernel (I, units)").T)
    if layer.use_bias:
        _copy(layer.linear.bias, reader.array(owner, f"{group}/vars/1", (O,), "bias (units,)"))


def _embedding(reader: WeightReader, owner: str, group: str, layer: Any) -> None:
    V, E = layer.embedding.weight.shape
    _copy(layer.embedding.weight, reader.array(owner, f"{group}/vars/0", (V, E), "embeddings (input_dim, output_dim)"))


def _conv1d(reader: WeightReader, owner: str, group: str, layer: Any) -> None:
    O, I_g, k = layer.weight.shape
    kernel = reader.array(owner, f"{group}/vars/0", (k, I_g, O), "kernel (kernel_size, channels / groups, filters)")
    _copy(layer.weight, kernel.transpose(2, 1, 0))                                 # (O, I/g, k)
    if layer.use_bias:
        _copy(layer.bias, reader.array(owner, f"{group}/vars/1", (O,), "bias (filters,)"))


def _recurrent(reader: WeightReader, owner: str, cell: str, core: nn.Module, suffix: str, gru: bool,
               use_bias: bool) -> None:
    """One direction of a SimpleRNN / LSTM / GRU cell group ``cell`` → the core's ``*_l0{suffix}``."""
    W_ih, W_hh = getattr(core, f"weight_ih_l0{suffix}"), getattr(core, f"weight_hh_l0{suffix}")
    G, I = W_ih.shape
    H = W_hh.shape[1]
    kernel = reader.array(owner, f"{cell}/vars/0", (I, G), f"kernel (I, {G // H}H)")            # (I, G)
    recurrent = reader.array(owner, f"{cell}/vars/1", (H, G), f"recurrent_kernel (H, {G // H}H)")  # (H, G)
    reorder = _gru_blocks if gru else (lambda a: a)
    _copy(W_ih, reorder(kernel).T)                                                               # (G, I)
    _copy(W_hh, reorder(recurrent).T)                                                            # (G, H)
    if not use_bias:
        return
    b_ih, b_hh = getattr(core, f"bias_ih_l0{suffix}"), getattr(core, f"bias_hh_l0{suffix}")
    if gru and type(core).__name__ == "GRUResetBefore":   # reset_after=False: one bias (3H,), all on the input side
        _copy(b_ih, reorder(reader.array(owner, f"{cell}/vars/2", (G,), "bias (3H,) of a reset_after=False GRU")))
        _copy(b_hh, np.zeros(G, dtype=np.float32))
    elif gru:  # reset_after=True: row 0 the input bias, row 1 the recurrent bias
        bias = reader.array(owner, f"{cell}/vars/2", (2, G), "bias (2, 3H): input bias, recurrent bias")
        _copy(b_ih, reorder(bias[0]))
        _copy(b_hh, reorder(bias[1]))
    else:    # one bias; torch's b_ih + b_hh equals it with b_hh = 0
        _copy(b_ih, reader.array(owner, f"{cell}/vars/2", (G,), f"bias ({G // H}H,)"))
        _copy(b_hh, np.zeros(G, dtype=np.float32))


def _gru_blocks(a: np.ndarray) -> np.ndarray:
    """Keras' gate blocks z, r, h on the last axis → torch's r, z, n."""
    blocks = np.split(a, 3, axis=-1)
    return np.concatenate([blocks[j] for j in _GRU_ORDER], axis=-1)


def load_layer(reader: WeightReader, class_name: str, group: str, layer: Any, owner: str) -> None:
    """Fill the built rnnkit ``layer`` (imported from Keras class ``class_name``) from h5 group ``group``."""
    if class_name == "Dense":
        _dense(reader, owner, group, layer)
    elif class_name == "Embedding":
        _embedding(reader, owner, group, layer)
    elif class_name == "Conv1D":
        _conv1d(reader, owner, group, layer)
    elif class_name in ("SimpleRNN", "LSTM", "GRU"):
        _recurrent(reader, owner, f"{group}/cell", layer.core, "", class_name == "GRU", layer.use_bias)
    elif class_name == "Bidirectional":
        inner = layer.layer
        gru = type(inner).__name__ == "GRU"
        _recurrent(reader, owner, f"{group}/forward_layer/cell", inner.core, "", gru, inner.use_bias)
        _recurrent(reader, owner, f"{group}/backward_layer/cell", inner.core, "_reverse", gru, inner.use_bias)
    elif class_name == "TimeDistributed":
        load_layer(reader, type(layer.layer).__name__, f"{group}/layer", layer.layer, owner)
    # Dropout and the pooling layers have no weights
