"""Model interchange: ``load_keras`` reads a Keras 3 ``.keras`` file into an rnnkit ``Sequential``."""

from rnnkit.export.keras_import import load_keras

__all__ = ["load_keras"]
