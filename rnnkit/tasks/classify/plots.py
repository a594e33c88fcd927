"""The confusion-matrix plot of a classification run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.tasks.plots import pyplot

__all__ = ["plot_confusion_matrix"]


def plot_confusion_matrix(path: str | Path, *, confusion: np.ndarray, class_names: tuple[str, ...], title: str) -> None:
    plt = pyplot()
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
