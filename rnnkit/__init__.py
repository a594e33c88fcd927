"""rnnkit: recurrent neural networks on PyTorch, with hand-derived backpropagation through time."""

from rnnkit import nn
from rnnkit import callbacks, layers, losses, metrics, models, optimizers
from rnnkit._seed import set_seed
from rnnkit.saving import load_model

__version__ = "0.1.0"

__all__ = [
    "nn",
    "__version__",
    "callbacks",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "set_seed",
    "load_model",
]
