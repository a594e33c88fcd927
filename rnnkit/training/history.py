"""``History``: per-epoch logs of a ``fit`` (``history.history["loss"]`` …) and their plot."""

from __future__ import annotations

import os
from pathlib import Path

from rnnkit.training.callback import Callback, Logs

__all__ = ["History"]


class History(Callback):
    """``history``: ``{"loss": [...], "accuracy": [...], "val_loss": [...], ...}``, one entry per epoch;
    ``epoch``: the epoch indices; ``stop_reason``: why training ended early, or None."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stop_reason: str | None = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def state_dict(self) -> dict:
        return {"history": self.history, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.history = {str(k): [float(v) for v in values] for k, values in state["history"].items()}
        self.epoch = [int(e) for e in state["epoch"]]

    def plot(self, path: str | os.PathLike, *, keys: list[str] | None = None, title: str | None = None) -> Path:
        """Save one panel per quantity (loss, then each metric), training and ``val_`` curves together.

        Uses matplotlib's Agg canvas directly: no display, no change to pyplot's backend.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if not self.history:
            raise ValueError("History.plot: nothing to plot; the history is empty (fit has not run an epoch).")
        names = keys or [k for k in self.history if not k.startswith("val_")]
        unknown = [k for k in names if k not in self.history]
        if unknown:
            raise ValueError(f"History.plot: keys {unknown} are not in the history; available: {sorted(self.history)}.")
        epochs = [e + 1 for e in self.epoch]
        fig = Figure(figsize=(5 * len(names), 3.6))
        FigureCanvasAgg(fig)
        for i, name in enumerate(names, start=1):
            ax = fig.add_subplot(1, len(names), i)
            ax.plot(epochs, self.history[name], label=f"train {name}")
            if f"val_{name}" in self.history:
                ax.plot(epochs, self.history[f"val_{name}"], label=f"validation {name}")
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
        return path

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
