"""Models: ``Model`` (subclass it, or ``Model.wrap`` a torch module) and ``Sequential``."""

from rnnkit.models.model import Model
from rnnkit.models.sequential import Sequential
from rnnkit.models.wrapped import WrappedModel

__all__ = ["Model", "Sequential", "WrappedModel"]
