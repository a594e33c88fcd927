"""rnnkit: recurrent neural networks on PyTorch, with hand-derived backpropagation through time."""

from rnnkit import nn
from rnnkit import callbacks, layers, losses, metrics, models, optimizers, saving
from rnnkit._seed import set_seed
from rnnkit.models import Model, Sequential
from rnnkit.saving import load_model, register_serializable

__version__ = "0.1.0"

__all__ = [
    "Model",
    "Sequential",
    "nn",
    "__version__",
    "callbacks",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "register_serializable",
    "saving",
    "set_seed",
    "load_model",
]
