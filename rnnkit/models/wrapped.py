"""``Model.wrap(module)``: a plain ``torch.nn.Module`` with rnnkit's ``compile`` / ``fit`` / callbacks / checkpoints.

    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    >>> model = rnnkit.Model.wrap(net)
    >>> model.compile(optimizer="adam", loss="mse")
    >>> model.fit(x, y, epochs=5, callbacks=[BackupAndRestore("ckpt")])

The module is called as ``module(x)``, ``module(*x)`` for a tuple of inputs, ``module(**x)`` for a dict, and
``module(x, lengths=lengths)`` when its ``forward`` has a ``lengths`` parameter and the batch is padded.
Checkpoints (``BackupAndRestore``, ``ModelCheckpoint`` weights) work for any module. ``save`` / ``load_model``
also need the module's class registered with ``@rnnkit.saving.register_serializable()`` and rebuildable
from its ``get_config()`` (or from no arguments when it has none).
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import Tensor, nn

from rnnkit.models.model import Model
from rnnkit.saving.registry import lookup, register_serializable, registered_name, unregistered_error

__all__ = ["WrappedModel"]


@register_serializable(package="rnnkit")
class WrappedModel(Model):
    def __init__(self, module: nn.Module, *, name: str | None = None) -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"Model.wrap: module must be a torch.nn.Module; got {type(module).__name__}.")
        if isinstance(module, Model):
            raise TypeError(f"Model.wrap: {type(module).__name__} is already an rnnkit.Model; use it directly.")
        super().__init__(name=name or f"wrapped_{type(module).__name__.lower()}")
        self.module = module
        self._takes_lengths = "lengths" in inspect.signature(module.forward).parameters

    def call(self, inputs: Any, training: bool = False, lengths: Tensor | None = None) -> Any:
        kwargs = {"lengths": lengths} if self._takes_lengths and lengths is not None else {}
        if lengths is not None and not self._takes_lengths:
            raise ValueError(f"Model.wrap({type(self.module).__name__}): the batch holds variable-length sequences "
                             "(padded, with lengths) but the module's forward has no lengths parameter; add one, "
                             "or pad the sequences yourself.")
        if isinstance(inputs, tuple):
            return self.module(*inputs, **kwargs)
        if isinstance(inputs, dict):
            return self.module(**inputs, **kwargs)
        return self.module(inputs, **kwargs)

    def get_config(self) -> dict[str, Any]:
        cls = type(self.module)
        key = registered_name(cls)
        if key is None:
            raise NotImplementedError(
                f"Model.wrap: to save the architecture, register the module's class: decorate {cls.__name__} with "
                "@rnnkit.saving.register_serializable() (and give it get_config() if its __init__ takes arguments). "
                "Its weights alone can be saved with torch's state_dict or BackupAndRestore."
            )
        get_config = getattr(self.module, "get_config", None)
        module_config = get_config() if callable(get_config) else {}
        return {"name": self.name, "module": key, "module_config": module_config}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WrappedModel:
        module_cls = lookup(config.get("module"))
        if module_cls is None:
            raise unregistered_error(config.get("module"), "module")
        module_config = config.get("module_config") or {}
        if not isinstance(module_config, dict):
            raise ValueError("the wrapped module's config must be an object")
        from_config = getattr(module_cls, "from_config", None)
        module = from_config(module_config) if callable(from_config) else module_cls(**module_config)
        return cls(module, name=config.get("name"))
