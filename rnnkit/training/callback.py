"""The callback protocol ``fit`` calls into, and the list that fans each call out."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["Callback", "CallbackList", "callbacks_for_every_fit", "ambient_callbacks"]

Logs = dict[str, float]


class Callback:
    """Override any of the ``on_*`` hooks. ``self.model`` is the model being trained;
    setting ``self.model.stop_training = True`` ends training after the current batch's epoch."""

    def __init__(self) -> None:
        self.model: Any = None

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """What this callback has learnt during ``fit`` (for ``BackupAndRestore``): JSON values, tensors,
        or a dict of tensors (e.g. best weights). A stateless callback returns ``{}``."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned; called after ``on_train_begin`` when resuming."""


class CallbackList:
    """Calls every callback's hook in order."""

    def __init__(self, callbacks: Iterable[Callback], model: Any) -> None:
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"fit: callbacks must be rnnkit.callbacks.Callback instances; got {type(callback).__name__}."
                )
            callback.set_model(model)

    def listeners(self, hook: str) -> list[Callable[..., None]]:
        """The bound ``hook`` methods of the callbacks that define it (the base class's are no-ops)."""
        base = getattr(Callback, hook)
        return [getattr(c, hook) for c in self.callbacks
                if getattr(type(c), hook, base) is not base or hook in vars(c)]

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        listeners = self.listeners(hook)

        def call_all(*args: Any) -> None:
            for listener in listeners:
                listener(*args)

        self.__dict__[hook] = call_all  # found once per fit: the batch hooks run every step
        return call_all


_AMBIENT: list[Callable[[], Callback]] = []


@contextlib.contextmanager
def callbacks_for_every_fit(make: Callable[[], Callback]) -> Iterator[None]:
    """Inside the block, every ``fit`` also runs ``make()``'s callback (a new one per ``fit`` call), after the
    caller's own. This is how ``rnnkit train --tensorboard DIR`` reaches the ``fit`` calls of every task without
    each task passing a callback along."""
    _AMBIENT.append(make)
    try:
        yield
    finally:
        _AMBIENT.remove(make)


def ambient_callbacks() -> list[Callback]:
    """One new callback from each ``callbacks_for_every_fit`` block the caller is in, outermost first."""
    return [make() for make in _AMBIENT]
