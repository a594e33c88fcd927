"""The forecast plot of a run: the test span, one panel per horizon step, one line per method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.tasks.plots import pyplot

__all__ = ["MAX_PANELS", "plot_forecast", "shown_steps"]

MAX_PANELS = 8  # up to this horizon every step gets a panel; beyond it, the first, middle and last step
_STYLES = {"model": {"color": "tab:red", "linewidth": 1.4},
           "naive": {"color": "tab:blue", "linewidth": 0.9, "alpha": 0.7},
           "seasonal_naive": {"color": "tab:green", "linewidth": 0.9, "alpha": 0.6},
           "ridge": {"color": "tab:purple", "linewidth": 0.9, "alpha": 0.7},
           "ar_fourier": {"color": "tab:orange", "linewidth": 0.9, "alpha": 0.8}}


def shown_steps(horizon: int) -> list[int]:
    """The horizon steps the plot shows: all of them, or 1, the middle one and the last."""
    if horizon <= MAX_PANELS:
        return list(range(1, horizon + 1))
    return sorted({1, (horizon + 1) // 2, horizon})


def plot_forecast(path: str | Path, *, frame: pd.DataFrame, labels: dict[str, str], target: str,
                  title: str) -> None:
    """frame: one row per (window, step) with columns step, time, actual and one per method in `labels`.

    Each panel k shows, at every target time, the forecast made k steps before it.
    """
    horizon = int(frame["step"].max())
    steps = shown_steps(horizon)
    plt = pyplot()
    figure, axes = plt.subplots(len(steps), 1, figsize=(11, 2.2 + 1.8 * len(steps)), sharex=True, squeeze=False)
    for axis, step in zip(axes[:, 0], steps):
        rows = frame[frame["step"] == step]
        times = rows["time"].to_numpy()
        axis.plot(times, rows["actual"].to_numpy(), color="black", linewidth=1.6, label="actual")
        for method, label in labels.items():
            if method in rows:
                axis.plot(times, rows[method].to_numpy(dtype=np.float64), label=label, **_STYLES.get(method, {}))
        axis.set_ylabel(target)
        axis.set_title(f"{step} step{'s' if step > 1 else ''} ahead", fontsize=9, loc="left")
    which = "every horizon step" if len(steps) == horizon else f"steps {', '.join(map(str, steps))} of {horizon}"
    axes[0, 0].legend(loc="best", fontsize=8)
    figure.suptitle(f"{title}\n({which} shown)", fontsize=10)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
