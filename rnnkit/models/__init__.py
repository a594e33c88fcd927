"""Models: ``Sequential``."""

from rnnkit.models.sequential import Sequential

__all__ = ["Sequential"]
