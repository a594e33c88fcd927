"""``plot_gradient_norms``: ‖∂L/∂h_t‖ over t on a log scale, one panel per model, side by side.

Drawn on matplotlib's Agg canvas directly (no display, no change to pyplot's backend), as ``History.plot``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_gradient_norms"]


def _curves(owner: str, model: str, value: Any) -> dict[str, np.ndarray]:
    curves = value if isinstance(value, Mapping) else {"": value}
    out = {}
    for key, norms in curves.items():
        array = np.asarray(norms.detach().cpu() if hasattr(norms, "detach") else norms, dtype=np.float64)
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"{owner}: the norms of {model!r}{' ' + key if key else ''} must be a non-empty (T,) "
                             f"array, one value per time step; got shape {array.shape}. Pass the output of "
                             "hidden_gradient_norms (a dict of (T,) arrays) or one (T,) array per model.")
        out[str(key)] = array
    if not out:
        raise ValueError(f"{owner}: {model!r} has no curves; pass the output of hidden_gradient_norms.")
    return out


def plot_gradient_norms(path: str | os.PathLike, norms: Mapping[str, Any], *, title: str | None = None) -> Path:
    """Save the figure to ``path`` (format from its suffix, e.g. .png); returns the path.

    ``norms``: ``{model name: curves}``, curves either one (T,) array or ``hidden_gradient_norms``' dict
    ``{layer-direction: (T,) array}`` (one line each). Each model gets a panel; the y axes are shared and
    logarithmic, x is the time step t = 1..T. Non-positive or NaN values (a zero gradient) leave gaps.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    owner = "plot_gradient_norms"
    if not isinstance(norms, Mapping) or not norms:
        raise ValueError(f"{owner}: norms must be a non-empty dict {{model name: norms}}; got {norms!r:.80}.")
    panels = {str(model): _curves(owner, str(model), value) for model, value in norms.items()}
    fig = Figure(figsize=(4.5 * len(panels), 3.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for axis, (model, curves) in zip(axes, panels.items()):
        for key, array in curves.items():
            shown = np.where(array > 0, array, np.nan)                   # log scale: a zero is a gap
            axis.plot(np.arange(1, array.size + 1), shown, label=key or None)
        axis.set_yscale("log")
        axis.set_xlabel("time step t")
        axis.set_title(model)
        axis.grid(True, which="both", alpha=0.3)
        if any(curves):
            axis.legend(fontsize="small")
    axes[0].set_ylabel("‖∂L/∂h_t‖ (batch mean)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path
