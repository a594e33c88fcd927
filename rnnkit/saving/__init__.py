"""Safe persistence: safetensors for tensors, JSON for everything else, atomic writes; no pickle."""

from rnnkit.saving._format import load_model, save_model

__all__ = ["save_model", "load_model"]
