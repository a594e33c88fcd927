"""The loss curve of a language-model run: training loss of every step and validation loss after every epoch,
against minutes of training, beside the n-gram baselines' validation loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.tasks.plots import pyplot

__all__ = ["plot_lm_curve"]


def _smoothed(values: np.ndarray, weight: float = 0.9) -> np.ndarray:
    out, level = np.empty_like(values), values[0]
    for i, v in enumerate(values):
        level = weight * level + (1 - weight) * v
        out[i] = level
    return out


def plot_lm_curve(path: str | Path, *, curve: list[tuple[float, float]], val_points: list[tuple[float, float]],
                  baselines: dict[str, float], title: str, unit: str = "nats per token") -> None:
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    if curve:
        seconds, loss = np.asarray(curve, dtype=np.float64).T
        axis.plot(seconds / 60, loss, color="tab:blue", alpha=0.25, linewidth=0.8)
        axis.plot(seconds / 60, _smoothed(loss), color="tab:blue", label="training (smoothed)")
    if val_points:
        seconds, loss = np.asarray(val_points, dtype=np.float64).T
        axis.plot(seconds / 60, loss, "o-", color="tab:orange", label="validation")
    for (name, value), style in zip(baselines.items(), ("--", ":", "-.")):
        axis.axhline(value, color="gray", linestyle=style, linewidth=1, label=f"{name} (validation) {value:.3f}")
    if curve:
        top = max(float(np.percentile(np.asarray(curve)[:, 1], 98)), *(v for v in baselines.values()))
        axis.set_ylim(bottom=min([c[1] for c in curve] + [v[1] for v in val_points]) * 0.95, top=top * 1.05)
    axis.set_xlabel("minutes of training")
    axis.set_ylabel(unit)
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
