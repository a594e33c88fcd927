"""Safe persistence: safetensors for tensors, JSON for everything else, atomic writes; no pickle.

Classes a file may name are registered with ``@register_serializable()``; loading never imports.
"""

from rnnkit.saving._format import load_model, save_model
from rnnkit.saving.registry import register_serializable

__all__ = ["load_model", "register_serializable", "save_model"]
