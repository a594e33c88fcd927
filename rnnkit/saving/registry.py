"""Classes a saved file may name, registered by name: loading looks names up here and never imports.

    >>> @rnnkit.saving.register_serializable()
    ... class Seq2Seq(rnnkit.Model):
    ...     def __init__(self, *, vocab: int, units: int = 64): ...

A file names its model class as ``"<package>>ClassName"`` (``"custom>Seq2Seq"`` by default, rnnkit's
own as ``"rnnkit>Sequential"``). A name that is not registered is an error that says how to register
it; the file can never cause an import or run code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register_serializable", "registered_name", "lookup", "unregistered_error"]

_BY_NAME: dict[str, type] = {}


def register_serializable(name: str | None = None, *, package: str = "custom") -> Callable[[type], type]:
    """Class decorator: make ``cls`` loadable by name (``package>name``, default ``custom>ClassName``)."""
    if package is not None and (not isinstance(package, str) or not package or ">" in package):
        raise ValueError(f"register_serializable: package must be a non-empty str without '>'; got {package!r}.")

    def register(cls: type) -> type:
        if not isinstance(cls, type):
            raise TypeError(f"register_serializable decorates a class; got {type(cls).__name__}.")
        key = f"{package}>{name or cls.__name__}"
        existing = _BY_NAME.get(key)
        if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"register_serializable: {key!r} is already registered for {existing.__module__}."
                             f"{existing.__qualname__}; pass another name= or package=.")
        _BY_NAME[key] = cls
        cls._registered_name = key  # type: ignore[attr-defined]
        return cls

    return register


def registered_name(cls: type) -> str | None:
    key = cls.__dict__.get("_registered_name")
    return key if key is not None and _BY_NAME.get(key) is cls else None


def lookup(key: Any) -> type | None:
    return _BY_NAME.get(key) if isinstance(key, str) else None


def unregistered_error(key: Any, what: str = "model") -> ValueError:
    name = str(key).split(">")[-1]
    return ValueError(
        f"the file names the {what} class {key!r}, which is not registered here. Import the module that defines "
        f"{name} and decorate the class with @rnnkit.saving.register_serializable() before loading (or pass "
        f"custom_objects={{{name!r}: {name}}}); rnnkit never imports code named in a file."
    )
