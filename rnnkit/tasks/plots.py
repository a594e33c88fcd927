"""Plots of a run, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_confusion_matrix", "plot_forecast", "plot_history"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_forecast(path: str | Path, *, times: np.ndarray, actual: np.ndarray, forecasts: dict[str, np.ndarray],
                  target: str, title: str) -> None:
    """One line per method over the test span (first horizon step of each window)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(11, 4))
    axis.plot(times, actual, color="black", linewidth=1.6, label="actual")
    styles = {"model": {"color": "tab:red", "linewidth": 1.4},
              "naive": {"color": "tab:blue", "linewidth": 0.9, "alpha": 0.7},
              "seasonal_naive": {"color": "tab:green", "linewidth": 0.9, "alpha": 0.6}}
    for name, values in forecasts.items():
        axis.plot(times, values, label=name.replace("_", "-"), **styles.get(name, {}))
    axis.set_title(title)
    axis.set_ylabel(target)
    axis.legend(loc="best")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_confusion_matrix(path: str | Path, *, confusion: np.ndarray, class_names: tuple[str, ...], title: str) -> None:
    plt = _pyplot()
    K = len(class_names)
    figure, axis = plt.subplots(figsize=(max(5.0, 1.6 + 0.6 * K), max(4.2, 1.4 + 0.55 * K)))
    image = axis.imshow(confusion, cmap="Blues")
    axis.set_xticks(range(K), class_names, rotation=45, ha="right")
    axis.set_yticks(range(K), class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    threshold = confusion.max() / 2 if confusion.size else 0
    for i in range(K):
        for j in range(K):
            axis.text(j, i, str(confusion[i, j]), ha="center", va="center",
                      color="white" if confusion[i, j] > threshold else "black", fontsize=8)
    axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_history(path: str | Path, history: dict[str, list[float]]) -> None:
    """Loss (and metrics) per epoch, train vs validation."""
    plt = _pyplot()
    names = [k for k in history if not k.startswith("val_") and k != "lr"]
    figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.5), squeeze=False)
    for axis, name in zip(axes[0], names):
        axis.plot(range(1, len(history[name]) + 1), history[name], label="train")
        if f"val_{name}" in history:
            axis.plot(range(1, len(history[f"val_{name}"]) + 1), history[f"val_{name}"], label="validation")
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
