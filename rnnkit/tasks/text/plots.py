"""The explanation PNG: the text with each token shaded by its weight, and the weight of every token as a bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.tasks.plots import pyplot

__all__ = ["plot_explanation"]

_LINE_CHARS = 120         # characters per line of the shaded text (monospace, so widths are exact)
_MAX_LINES = 14           # longer texts are cut in the top panel; the bars below still show every token


def _layout(tokens: tuple[str, ...]) -> list[tuple[int, int, int]]:
    """(line, first character, token index) of each token, wrapped at `_LINE_CHARS`."""
    places, line, column = [], 0, 0
    for index, token in enumerate(tokens):
        width = len(token)
        if column and column + width > _LINE_CHARS:
            line, column = line + 1, 0
        places.append((line, column, index))
        column += width + 1
    return places


def plot_explanation(path: str | Path, explanation: Any, *, title: str = "") -> None:
    plt = pyplot()
    weights, contributions, tokens = explanation.weights, explanation.contributions, explanation.tokens
    places = [p for p in _layout(tokens) if p[0] < _MAX_LINES]
    lines = (places[-1][0] + 1) if places else 1
    figure, (top, bars) = plt.subplots(2, 1, figsize=(11, 1.6 + 0.32 * lines + 2.6),
                                       gridspec_kw={"height_ratios": [0.6 + 0.32 * lines, 2.6]})
    peak = float(weights.max()) or 1.0
    for line, column, index in places:
        color = (0.90, 0.47, 0.08) if contributions[index] >= 0 else (0.16, 0.43, 0.86)
        top.text(column, line + 0.5, tokens[index], family="monospace", fontsize=9, va="center", ha="left",
                 bbox={"facecolor": (*color, float(weights[index] / peak)), "edgecolor": "none", "pad": 1.5})
    top.set_xlim(0, _LINE_CHARS)
    top.set_ylim(lines, 0)
    top.axis("off")
    shown = "" if len(places) == len(tokens) else f" (first {len(places)} of {len(tokens)} tokens shown)"
    probabilities = ", ".join(f"{k} {v:.3f}" for k, v in explanation.probabilities.items())
    top.set_title(f"{title + chr(10) if title else ''}predicted {explanation.predicted} ({probabilities}){shown}",
                  fontsize=10)
    positions = np.arange(len(tokens))
    bars.bar(positions, weights, color=["#e67814" if c >= 0 else "#286edc" for c in contributions], width=0.85)
    if len(tokens) <= 60:
        bars.set_xticks(positions, tokens, rotation=60, ha="right", fontsize=8)
    else:  # too many to name: name the 10 heaviest
        heaviest = np.sort(np.argsort(-weights, kind="stable")[:10])
        bars.set_xticks(heaviest, [tokens[i] for i in heaviest], rotation=60, ha="right", fontsize=8)
    bars.set_ylabel("weight (share of |gradient x input|)")
    bars.set_xlim(-0.6, len(tokens) - 0.4)
    bars.set_title(f"one bar per token; orange: toward {explanation.predicted}, blue: away from it", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
