"""A small reader for the `.ts` files of the UEA/UCR archive (as shipped inside aeon and sktime).

Reading the file ourselves, rather than through the provider's loader, keeps loading fast (aeon's
import pulls numba) and gives the same arrays with either provider installed.

Format: header lines start with `@` (`@classLabel true A B C`, `@data`), comments with `#`; each
data line holds the channels of one case separated by `:`, values in a channel separated by `,`,
and the class label last.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data._errors import DataError

__all__ = ["read_ts_file"]


def read_ts_file(path: str | Path) -> tuple[list[np.ndarray], list[str], tuple[str, ...]]:
    """Read a `.ts` file into (sequences, labels, class_names).

    sequences: a list of float32 arrays of shape (T_i, C) (time first, channels last).
    labels:    the raw label string of each case.
    class_names: the labels declared by `@classLabel`, in their declared order.
    """
    path = Path(path)
    sequences: list[np.ndarray] = []
    labels: list[str] = []
    class_names: tuple[str, ...] = ()
    in_data = False
    with path.open(encoding="utf-8") as handle:
        for line_number, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                lower = line.lower()
                if lower.startswith("@classlabel"):
                    parts = line.split()
                    class_names = tuple(parts[2:]) if parts[1].lower() == "true" else ()
                elif lower.startswith("@data"):
                    in_data = True
                continue
            *channels, label = line.split(":")
            try:
                columns = [np.asarray(c.split(","), dtype=np.float32) for c in channels]
            except ValueError as exc:
                raise DataError(f"{path.name}, line {line_number}: cannot read values ({exc})") from None
            if len({len(c) for c in columns}) != 1:
                raise DataError(f"{path.name}, line {line_number}: channels have different lengths")
            sequences.append(np.stack(columns, axis=1))  # (T_i, C)
            labels.append(label.strip())
    if not sequences:
        raise DataError(f"{path}: no cases found after @data")
    if not class_names:
        class_names = tuple(sorted(set(labels)))
    return sequences, labels, class_names
