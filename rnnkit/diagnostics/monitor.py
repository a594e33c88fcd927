r"""``GradientMonitor``: record ‖∂L/∂h_t‖ during ``fit`` and warn when it vanishes or explodes.

    monitor = GradientMonitor(every=10)                 # every 10th training batch
    model.fit(x, y, callbacks=[monitor])
    monitor.history[-1]["norms"]                        # {layer-direction: (T,) array}
    plot_gradient_norms("grads.png", {"last": monitor.history[-1]["norms"]})

Two ways to measure (``rnnkit.diagnostics.gradients`` for what is measured):

- ``probe=None`` (default): the training batch itself. The monitor records during that batch's
  ``train_step``, so the gradient is the one the optimizer uses (the compiled loss, train mode, the weights
  before the update) at no extra forward or backward; that batch runs the Python kernels (see
  ``rnnkit.kernels._record``), a little slower than the compiled ones. ``every=None``: the first batch of
  each epoch.
- ``probe=x`` or ``(x, y)`` (with ``lengths=``): a fixed batch, measured after the batch (or, ``every=None``,
  at each epoch end) in eval mode, so successive measurements are comparable; the parameters' ``.grad``
  are left alone. Not with stateful layers (a probe would advance their carried state).

Each measurement appends to ``monitor.history`` a dict ``{"epoch", "batch", "norms", "ratio", "max_norm",
"spectral_radius"}`` (``batch`` None at an epoch end; ``spectral_radius`` of the weights the gradient was
taken at, see ``rnnkit.diagnostics.spectral``), and warns:

- ``VanishingGradientWarning`` when, for a layer-direction, ratio = n_first / n_last < ``vanishing``
  (default 1e-3), where n_last is the batch-mean norm at the step its backward starts from (t = T forward,
  t = 1 reverse) and n_first at the step it ends at: the fraction of the gradient at the last step that
  reaches the first one. A NaN ratio (0 / 0) does not warn.
- ``ExplodingGradientWarning`` when some n_t > ``exploding`` (default 1e3) or is not finite.

Both subclass ``GradientWarning(RuntimeWarning)``. The defaults are rules of thumb: the norms scale with
the loss (a mean over the batch and over outputs gives small values), so set ``exploding`` for your loss;
``None`` turns a check off.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

from rnnkit.diagnostics.gradients import GradientRecording, measure_hidden_gradients, norms_over_batch
from rnnkit.diagnostics.spectral import spectral_radius
from rnnkit.training.callback import Callback, Logs

__all__ = ["GradientMonitor", "GradientWarning", "VanishingGradientWarning", "ExplodingGradientWarning"]


class GradientWarning(RuntimeWarning):
    """The gradient reaching the hidden states vanishes or explodes (``GradientMonitor``)."""


class VanishingGradientWarning(GradientWarning):
    """‖∂L/∂h_first‖ / ‖∂L/∂h_last‖ fell below ``GradientMonitor``'s ``vanishing`` threshold."""


class ExplodingGradientWarning(GradientWarning):
    """Some ‖∂L/∂h_t‖ exceeded ``GradientMonitor``'s ``exploding`` threshold (or was not finite)."""


def _peak(norms: np.ndarray) -> float:
    """max_t n_t over the steps some sequence has (NaN entries are steps none has); NaN if there are none."""
    known = norms[~np.isnan(norms)]
    return float(known.max()) if known.size else math.nan


def _threshold(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        raise ValueError(f"GradientMonitor: {name} must be a positive finite number or None (off); got {value!r}.")
    return float(value)


class GradientMonitor(Callback):
    """Record the hidden-state gradient norms during ``fit``; see the module docstring.

    Args (keyword-only): ``every`` (int ≥ 1 training batches, counted over the whole fit; None: once per
    epoch), ``probe`` (None, x, or (x, y)), ``lengths`` (the probe's (B,) lengths), ``loss`` (for the probe:
    as ``hidden_gradient_norms``; default the compiled loss), ``vanishing`` (1e-3), ``exploding`` (1e3),
    ``spectral`` (True: also record ``spectral_radius`` of the recurrent weights).
    """

    def __init__(self, *, every: int | None = None, probe: Any = None, lengths: Any = None,
                 loss: Callable | None = None, vanishing: float | None = 1e-3, exploding: float | None = 1e3,
                 spectral: bool = True) -> None:
        super().__init__()
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ValueError(f"GradientMonitor: every must be an int >= 1 (batches) or None (once per epoch); "
                             f"got {every!r}.")
        if probe is None and (lengths is not None or loss is not None):
            raise ValueError("GradientMonitor: lengths= and loss= describe a probe batch; pass probe=x or (x, y) "
                             "too, or leave them out to measure the training batches.")
        if isinstance(probe, tuple) and len(probe) not in (1, 2):
            raise ValueError(f"GradientMonitor: probe must be x or a tuple (x, y); got a tuple of {len(probe)}.")
        self.every, self.probe, self.lengths, self.loss = every, probe, lengths, loss
        self.vanishing, self.exploding = _threshold("vanishing", vanishing), _threshold("exploding", exploding)
        self.spectral = bool(spectral)
        self.history: list[dict[str, Any]] = []
        self._epoch, self._batches, self._first_of_epoch = 0, 0, True
        self._recording: GradientRecording | None = None
        self._radii: dict[str, dict[str, float]] | None = None

    # -- fit's hooks ---------------------------------------------------------------------------------
    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.history, self._batches = [], 0
        if self.probe is not None and self.model.stateful_layers():
            raise ValueError("GradientMonitor: the model has stateful=True layers, whose carried state a probe "
                             "batch would advance; measure the training batches instead (probe=None).")

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._discard()
        self._epoch, self._first_of_epoch = epoch, True

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        if self.probe is None and self._due():
            self._radii = self._spectral_radius()                 # the weights this batch's gradient is taken at
            self._recording = GradientRecording(self.model).start()

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        due = self._recording is not None or (self.probe is not None and self._due())
        self._batches += 1
        self._first_of_epoch = False
        if self._recording is not None:
            recording, self._recording = self._recording, None
            recording.stop()
            self._add({k: (norms_over_batch(g.dh, g.mask), g.reverse) for k, g in recording.gradients().items()},
                      batch, self._radii)
        elif due and self.every is not None:
            self._add(self._measure_probe(), batch, self._spectral_radius())

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._discard()
        if self.probe is not None and self.every is None:
            self._add(self._measure_probe(), None, self._spectral_radius())

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._discard()

    # -- measuring -----------------------------------------------------------------------------------
    def _due(self) -> bool:
        if self.every is None:
            return self.probe is None and self._first_of_epoch
        return self._batches % self.every == 0

    def _discard(self) -> None:
        """Stop a recording whose batch did not end (a diverged step)."""
        if self._recording is not None:
            self._recording.stop()
            self._recording = None

    def _measure_probe(self) -> dict[str, tuple[np.ndarray, bool]]:
        probe = self.probe if isinstance(self.probe, tuple) else (self.probe,)
        x, y = probe[0], probe[1] if len(probe) == 2 else None
        was_training = self.model.training
        self.model.eval()
        try:
            measured = measure_hidden_gradients(self.model, x, y, loss=self.loss, lengths=self.lengths)
        finally:
            self.model.train(was_training)
        return {k: (norms_over_batch(g.dh, g.mask), g.reverse) for k, g in measured.items()}

    def _spectral_radius(self) -> dict[str, dict[str, float]] | None:
        return spectral_radius(self.model) if self.spectral else None

    def _add(self, measured: dict[str, tuple[np.ndarray, bool]], batch: int | None,
             radii: dict[str, dict[str, float]] | None) -> None:
        norms = {k: n for k, (n, _) in measured.items()}
        ratio = {}
        for key, (n, reverse) in measured.items():
            first, last = (n[-1], n[0]) if reverse else (n[0], n[-1])    # where backward ends / starts
            ratio[key] = float(first / last) if last != 0 else (math.inf if first != 0 else math.nan)
        peaks = {k: _peak(n) for k, n in norms.items()}
        max_norm = max(peaks.values())
        entry = {"epoch": self._epoch, "batch": batch, "norms": norms, "ratio": ratio, "max_norm": max_norm,
                 "spectral_radius": radii}
        self.history.append(entry)
        where = f"epoch {self._epoch + 1}" + ("" if batch is None else f", batch {batch + 1}")
        if self.vanishing is not None:
            low = {k: r for k, r in ratio.items() if r < self.vanishing}
            if low:
                shown = ", ".join(f"{k}: {r:.3g}" for k, r in low.items())
                warnings.warn(
                    f"GradientMonitor: vanishing gradient at {where}: ‖∂L/∂h_first‖ / ‖∂L/∂h_last‖ = "
                    f"{shown} < vanishing={self.vanishing:g}. The first steps barely learn from the last ones; "
                    "consider an LSTM/GRU, orthogonal or identity recurrent initialisation, or shorter sequences.",
                    VanishingGradientWarning, stacklevel=2)
        if self.exploding is not None:
            high = {k: v for k, v in peaks.items() if v > self.exploding}     # inf too; NaN (no step) not
            if high:
                shown = ", ".join(f"{k}: {v:.3g}" for k, v in high.items())
                warnings.warn(
                    f"GradientMonitor: exploding gradient at {where}: max_t ‖∂L/∂h_t‖ = {shown} > "
                    f"exploding={self.exploding:g}. Consider gradient clipping (compile(clipnorm=...)), a lower "
                    "learning rate, or a smaller recurrent weight scale.",
                    ExplodingGradientWarning, stacklevel=2)
