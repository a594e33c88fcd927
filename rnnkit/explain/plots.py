"""Gate heatmaps, attribution plots and the ``explain.html`` report that shows them.

Drawn on matplotlib's Agg canvas directly (no display, no change to pyplot's backend), as
``rnnkit.diagnostics.plots``. The report embeds the PNGs by paths relative to its folder, so the folder can be
moved or zipped; every text is escaped with ``html.escape``.

Shape legend: B batch, T time, I input features, H hidden units.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_gates", "plot_attributions", "write_report", "ReportSection", "REPORT_FILE"]

REPORT_FILE = "explain.html"
_LIMITS = {"i": (0, 1), "f": (0, 1), "o": (0, 1), "r": (0, 1), "z": (0, 1), "g": (-1, 1), "n": (-1, 1),
           "h": (-1, 1)}                                             # σ gates in [0, 1], tanh ones in [-1, 1]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_gates(path: str | os.PathLike, activations: Mapping[str, Any], *, sample: int = 0) -> Path:
    """Heatmaps of one sequence's gates and states, units (H) × time (T): one row per layer-direction, one
    panel per gate (i, f, g, o, c, h / r, z, n, h / h). ``activations``: ``gate_activations``' result, or one
    layer's ``{gate: (B, T, H)}``. Padded steps (NaN) stay blank. Returns the path (format from its suffix)."""
    owner = "plot_gates"
    if isinstance(activations, Mapping) and activations and all(
            isinstance(v, (np.ndarray,)) or hasattr(v, "shape") for v in activations.values()):
        activations = {"": activations}                              # one layer's dict
    if not isinstance(activations, Mapping) or not activations:
        raise ValueError(f"{owner}: activations must be the non-empty dict that gate_activations returns; "
                         f"got {type(activations).__name__}. Pass gate_activations(model, x).")
    rows = {}
    for key, gates in activations.items():
        if not isinstance(gates, Mapping) or not gates:
            raise ValueError(f"{owner}: activations[{key!r}] must be a dict {{gate: (B, T, H) array}}; got "
                             f"{type(gates).__name__}. Pass gate_activations(model, x).")
        arrays = {str(n): np.asarray(v, dtype=np.float64) for n, v in gates.items()}
        for name, a in arrays.items():
            if a.ndim != 3:
                raise ValueError(f"{owner}: activations[{key!r}][{name!r}] must be (B, T, H); got shape {a.shape}.")
            if not 0 <= sample < a.shape[0]:
                raise ValueError(f"{owner}: sample must be in [0, B={a.shape[0]}); got {sample}. Pick a sequence "
                                 f"of the batch, e.g. sample=0.")
        rows[str(key)] = arrays
    columns = max(len(g) for g in rows.values())
    T = max(a.shape[1] for g in rows.values() for a in g.values())
    fig = _figure(min(2.2 + 0.25 * T, 5.0) * columns, 2.4 * len(rows))
    axes = fig.subplots(len(rows), columns, squeeze=False)
    for r, (key, gates) in enumerate(rows.items()):
        for c in range(columns):
            axis = axes[r][c]
            if c >= len(gates):
                axis.set_axis_off()
                continue
            name, a = list(gates.items())[c]
            values = a[sample].T                                     # (H, T): units × time
            low, high = _LIMITS.get(name, (np.nanmin(values), np.nanmax(values)) if np.isfinite(values).any() else (0, 1))
            image = axis.imshow(np.ma.masked_invalid(values), aspect="auto", origin="lower", cmap="coolwarm",
                                vmin=low, vmax=high, interpolation="nearest")
            fig.colorbar(image, ax=axis, fraction=0.05)
            axis.set_title(f"{key} {name}".strip(), fontsize="small")
            axis.set_xlabel("time step t")
            if c == 0:
                axis.set_ylabel("unit")
    return _save(fig, path)


def plot_attributions(path: str | os.PathLike, scores: Any, *, tokens: Sequence[Any] | None = None,
                      sample: int = 0, title: str | None = None) -> Path:
    """Attribution scores over time. (T,): a bar per step; (B, T): a heatmap, sequences × time, or with
    ``tokens`` (one sequence's T tokens, or B lists) bars for ``sample`` labelled by its tokens; (B, T, I):
    a heatmap of ``sample``'s features × time. Returns the path."""
    owner = "plot_attributions"
    a = np.asarray(scores, dtype=np.float64)
    if a.ndim not in (1, 2, 3) or a.size == 0:
        raise ValueError(f"{owner}: scores must be (T,), (B, T) or (B, T, I); got shape {a.shape}. Pass "
                         "saliency(...) or integrated_gradients(...).scores.")
    if a.ndim > 1 and not 0 <= sample < a.shape[0]:
        raise ValueError(f"{owner}: sample must be in [0, B={a.shape[0]}); got {sample}. Use sample=0.")
    if tokens is not None and a.ndim == 2:
        row = tokens[sample] if len(tokens) and not isinstance(tokens[0], str) else tokens
        a = a[sample]
        tokens = [str(t) for t in row]
        if len(tokens) > a.shape[0]:
            raise ValueError(f"{owner}: tokens must have at most T={a.shape[0]} entries, one per step; got "
                             f"{len(tokens)}. Pass the tokens of sequence {sample}.")
    fig = _figure(max(4.0, min(0.35 * a.shape[-1 if a.ndim < 3 else 1] + 2, 14.0)), 3.2)
    axis = fig.subplots()
    if a.ndim == 1:
        steps = np.arange(a.shape[0])
        axis.bar(steps, np.nan_to_num(a), color=np.where(a >= 0, "tab:red", "tab:blue"))
        axis.axhline(0.0, color="black", linewidth=0.5)
        if tokens:
            axis.set_xticks(steps[:len(tokens)], tokens, rotation=60, fontsize="small")
        axis.set_xlabel("token" if tokens else "time step t")
        axis.set_ylabel("attribution")
    else:
        values = a if a.ndim == 2 else a[sample].T                   # (B, T) or (I, T)
        bound = float(np.nanmax(np.abs(values))) or 1.0
        image = axis.imshow(values, aspect="auto", origin="lower", cmap="coolwarm", vmin=-bound, vmax=bound,
                            interpolation="nearest")
        fig.colorbar(image, ax=axis, fraction=0.05)
        axis.set_xlabel("time step t")
        axis.set_ylabel("sequence" if a.ndim == 2 else "feature")
    if title:
        axis.set_title(title, fontsize="small")
    return _save(fig, path)


@dataclass
class ReportSection:
    """One part of the report: a title, an optional image (a path inside the report folder), a short text
    and a table of ``(name, value)`` rows."""

    title: str
    image: str | os.PathLike | None = None
    text: str = ""
    table: Sequence[tuple[Any, Any]] = field(default_factory=list)


def _section(owner: str, value: Any) -> ReportSection:
    if isinstance(value, ReportSection):
        return value
    if isinstance(value, Mapping) and "title" in value and set(value) <= {"title", "image", "text", "table"}:
        return ReportSection(**value)
    raise TypeError(f"{owner}: each section must be a ReportSection or a dict with keys title, image, text, "
                    f"table; got {value!r:.80}.")


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def write_report(folder: str | os.PathLike, sections: Sequence[Any], *, title: str = "rnnkit explain") -> Path:
    """Write ``folder/explain.html``: per section an <h2> title, its text, its table and its image (by a
    path relative to ``folder``). Returns the html path."""
    owner = "write_report"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8">', f"<title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:72em;margin:1em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}img{max-width:100%}</style>",
             "</head><body>", f"<h1>{html.escape(title)}</h1>"]
    for raw in sections:
        section = _section(owner, raw)
        parts.append(f"<h2>{html.escape(str(section.title))}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(str(section.text))}</p>")
        if section.table:
            rows = "".join(f"<tr><th>{html.escape(_cell(k))}</th><td>{html.escape(_cell(v))}</td></tr>"
                           for k, v in section.table)
            parts.append(f"<table>{rows}</table>")
        if section.image is not None:
            image = Path(section.image)
            image = image if image.is_absolute() else folder / image
            relative = Path(os.path.relpath(image.resolve(), folder.resolve())).as_posix()
            parts.append(f'<p><img src="{html.escape(relative, quote=True)}" '
                         f'alt="{html.escape(str(section.title), quote=True)}"></p>')
    parts.append("</body></html>")
    path = folder / REPORT_FILE
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
