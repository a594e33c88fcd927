"""rnnkit: recurrent neural networks on PyTorch, with hand-derived backpropagation through time."""

from rnnkit import nn

__version__ = "0.1.0"

__all__ = ["nn", "__version__"]
