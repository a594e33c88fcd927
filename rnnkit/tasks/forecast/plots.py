"""The forecast plot of a run: the test span, one line per method."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.tasks.plots import pyplot

__all__ = ["plot_forecast"]


def plot_forecast(path: str | Path, *, times: np.ndarray, actual: np.ndarray, forecasts: dict[str, np.ndarray],
                  target: str, title: str) -> None:
    """One line per method over the test span (first horizon step of each window)."""
    plt = pyplot()
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
