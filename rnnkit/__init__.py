"""rnnkit: recurrent neural networks on PyTorch, with hand-derived backpropagation through time."""

from rnnkit._threads import prefer_passive_wait

prefer_passive_wait()  # before torch loads its OpenMP runtime (see rnnkit/_threads.py)

from rnnkit import nn  # noqa: E402
from rnnkit import callbacks, layers, losses, metrics, models, optimizers, saving  # noqa: E402
from rnnkit._seed import set_seed  # noqa: E402
from rnnkit.models import Model, Sequential  # noqa: E402
from rnnkit.saving import load_model, register_serializable  # noqa: E402
from rnnkit.export import load_keras  # noqa: E402

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
    "load_keras",
]
