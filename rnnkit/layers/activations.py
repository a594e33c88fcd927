"""Activations by Keras name, for ``Dense(activation=...)``."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["get", "NAMES"]

_BY_NAME: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda x: x,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
    "softplus": F.softplus,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "silu": F.silu,
    "swish": F.silu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),  # Keras' default negative slope
}

NAMES = tuple(sorted(_BY_NAME))


def get(owner: str, name: str | None) -> Callable[[torch.Tensor], torch.Tensor]:
    if name is None:
        return _BY_NAME["linear"]
    if not isinstance(name, str) or name not in _BY_NAME:
        raise ValueError(f"{owner}: activation must be None or one of {list(NAMES)}; got {name!r}.")
    return _BY_NAME[name]
