"""How a window's values reach the model: absolute or window-relative, and whether the test windows
leave the range the model was trained on.

absolute:  x_{t-j} = (v_{t-j} - mean_v) / std_v                   (training-span mean and std)
relative:  x_{t-j} = (v_{t-j} - v_t) / std_v                        (each window minus its last value)

A price level scaled with training statistics drifts out of the training range (the DAX test span
sits 5-14 training standard deviations above anything seen in training); the same windows made
relative look like the training ones. The default (`--inputs auto`) decides per data column:
relative when an augmented Dickey-Fuller test on the training span, after least-squares removal of
the calendar inputs and Fourier terms of the season, does not reject a unit root at 5 %.
Calendar columns always stay absolute: they are positions in a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.tasks.forecast.classical import adf_pvalue, fourier_terms

__all__ = ["OUT_OF_RANGE_STDS", "UNIT_ROOT_P", "InputRange", "choose_relative", "out_of_range_note", "relative_windows"]

UNIT_ROOT_P = 0.05  # ADF p-value at or above which a column counts as having a unit root
OUT_OF_RANGE_STDS = 1.0  # test inputs this many training stds beyond the training range get a warning


def choose_relative(train: np.ndarray, columns: tuple[str, ...], *, calendar: np.ndarray | None,
                    season: int | None) -> tuple[tuple[str, ...], str]:
    """The data columns to make window-relative, and a note that states the rule and the p-values.

    train: (N_train, C) the data columns (not calendar) on the training span.
    calendar: (N_train, K) the calendar inputs on the same rows, or None.
    """
    t = np.arange(len(train), dtype=np.float64)
    parts = [np.ones((len(train), 1))]
    if season and season >= 2:
        parts.append(fourier_terms(t, period=season, harmonics=min(3, season // 2)))
    if calendar is not None and calendar.size:
        parts.append(calendar)
    design = np.concatenate(parts, axis=1)  # (N_train, R)
    values = np.asarray(train, dtype=np.float64)
    residual = values - design @ np.linalg.lstsq(design, values, rcond=None)[0]  # (N_train, C), one solve
    pvalues = {c: adf_pvalue(residual[:, k]) for k, c in enumerate(columns)}
    relative = tuple(c for c in columns if pvalues[c] >= UNIT_ROOT_P)
    shown = ", ".join(f"{c} p={p:.3f}" for c, p in pvalues.items())
    rule = (f"(ADF test on the training span after removing calendar and seasonal terms: {shown}; "
            f"relative where p >= {UNIT_ROOT_P}, a unit root not rejected)")
    if not relative:
        return (), f"inputs: absolute {rule}"
    kept = [c for c in columns if c not in relative]
    return relative, (f"inputs: window-relative for {', '.join(relative)}"
                      + (f", absolute for {', '.join(kept)}" if kept else "") + f" {rule}")


def relative_windows(windows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """windows (N, L, I) scaled; subtract each window's last step in the columns where `mask` (I,) is set."""
    if not mask.any():
        return windows
    out = windows.copy()
    out[:, :, mask] -= windows[:, -1:, mask]
    return out


@dataclass(frozen=True, kw_only=True)
class InputRange:
    """Per input column: the range and spread of the values the model was trained on (saved with a run)."""

    minimum: np.ndarray  # (I,)
    maximum: np.ndarray  # (I,)
    std: np.ndarray  # (I,)

    @classmethod
    def of(cls, windows: np.ndarray) -> InputRange:
        """windows: (N, L, I) model inputs of the training windows."""
        flat = windows.reshape(-1, windows.shape[-1]).astype(np.float64)
        return cls(minimum=flat.min(axis=0), maximum=flat.max(axis=0), std=np.maximum(flat.std(axis=0), 1e-12))

    def to_dict(self) -> dict[str, list[float]]:
        return {"min": self.minimum.tolist(), "max": self.maximum.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> InputRange:
        return cls(minimum=np.asarray(data["min"]), maximum=np.asarray(data["max"]), std=np.asarray(data["std"]))


def out_of_range_note(trained: InputRange, scored: np.ndarray, columns: tuple[str, ...], *, span: str,
                      relative: tuple[str, ...]) -> str | None:
    """A warning when the scored windows' inputs leave the training range by a wide margin.

    scored: (N, L, I) model inputs. The margin of a column is how far its scored values reach beyond
    [min, max] of its training values, in standard deviations of its training values.
    """
    if len(scored) == 0:
        return None
    flat = scored.reshape(-1, scored.shape[-1]).astype(np.float64)
    above = (flat.max(axis=0) - trained.maximum) / trained.std
    below = (trained.minimum - flat.min(axis=0)) / trained.std
    margin = np.maximum(np.maximum(above, below), 0.0)
    outside = ((flat > trained.maximum) | (flat < trained.minimum)).mean(axis=0)
    wide = [k for k in np.argsort(-margin) if margin[k] > OUT_OF_RANGE_STDS]
    if not wide:
        return None
    shown = "; ".join(f"{columns[k]} {100 * outside[k]:.0f}% of values outside, up to {margin[k]:.1f} "
                      f"{'above' if above[k] >= below[k] else 'below'}" for k in wide[:4])
    absolute = [columns[k] for k in wide if columns[k] not in relative]
    fix = "; --inputs relative feeds each window relative to its last value" if absolute else ""
    return (f"warning: {span} inputs leave the training range (in training standard deviations): {shown}; "
            f"the model extrapolates there{fix}")
